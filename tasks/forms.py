"""Task input rules, shared by the HTML forms and the JSON API.

These are plain forms, not model forms: a task is written with one SQL
statement (an INSERT, or a conditional UPDATE), so nothing here reads the
database, and the owner never comes from the request.
"""

from datetime import UTC, date

from django import forms

from . import recurrence
from .models import (
    DESCRIPTION_MAX_LENGTH,
    LIST_NAME_MAX_LENGTH,
    RECURRENCE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    RecurFrom,
)

# The largest id a bigint can hold; larger numbers are no row's.
MAX_ID = 2**63 - 1


class TaskForm(forms.Form):
    # CharField trims white space first, so "   " is refused as required, and
    # refuses NUL characters (which PostgreSQL cannot store) with a form error.
    title = forms.CharField(
        max_length=TITLE_MAX_LENGTH,
        error_messages={"required": "Give the task a title."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    # The list being viewed; none means the Inbox. The INSERT puts the task
    # only into one of its owner's lists.
    list = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )
    due_date = forms.DateField(
        required=False,
        label="Due date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a real date, such as 2026-12-24."},
    )
    due_time = forms.TimeField(
        required=False,
        label="Time",
        help_text="Optional, in your time zone.",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": "Enter a time such as 09:30."},
    )
    recurrence = forms.CharField(
        required=False,
        label="Repeat",
        max_length=RECURRENCE_MAX_LENGTH,
        widget=forms.Select,
    )
    recur_from = forms.ChoiceField(
        required=False,
        label="Next one counted from",
        choices=RecurFrom.choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "recurrence" in self.fields:
            self.fields["recurrence"].widget.choices = self.repeat_choices()

    def repeat_choices(self):
        """The presets for the task's due date, and its own rule if it is
        none of them (one written through the API, say)."""
        due_date = self.initial.get("due_date")
        presets = recurrence.presets(due_date)
        choices = [("", "Does not repeat"), *((rule, label) for label, rule in presets)]
        rule = self.initial.get("recurrence")
        if rule and rule not in dict(choices):
            choices.append((rule, recurrence.describe(rule)))
        return choices

    def clean_recur_from(self):
        return self.cleaned_data["recur_from"] or RecurFrom.DUE

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("due_time") and not cleaned_data.get("due_date"):
            self.add_error("due_time", "Give the date this time is on.")
        rule = cleaned_data.get("recurrence")
        if rule:
            try:
                cleaned_data["recurrence"] = recurrence.validate(
                    rule, cleaned_data.get("due_date") or date.today()
                )
            except forms.ValidationError as error:
                self.add_error("recurrence", error)
        return cleaned_data


class TaskEditForm(TaskForm):
    completed = forms.BooleanField(required=False, label="Done")
    # Any id: the UPDATE moves the task only into one of its owner's lists.
    list = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    # The updated_at the form was opened with: saving succeeds only if the
    # task still has it, so a change made meanwhile is never overwritten.
    version = forms.DateTimeField(widget=forms.HiddenInput)

    def clean_version(self):
        # Compared in UTC: PostgreSQL refuses an offset beyond ±15:59, which
        # Python allows (up to ±23:59), and a time at the edge of year 1 or
        # 9999 has no UTC equivalent at all (no stored version is one).
        try:
            return self.cleaned_data["version"].astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(
                self.fields["version"].error_messages["invalid"], code="invalid"
            ) from None

    def __init__(self, *args, lists=None, **kwargs):
        super().__init__(*args, **kwargs)
        if "list" in self.fields:
            if lists is None:  # a POST: the database checks the id
                self.fields["list"] = forms.IntegerField(
                    required=False, min_value=1, max_value=MAX_ID
                )
            else:
                self.fields["list"].choices = [(x.pk, x.name) for x in lists]

    @classmethod
    def for_task(cls, task, **kwargs) -> "TaskEditForm":
        return cls(
            initial={
                "title": task.title,
                "description": task.description,
                "completed": task.completed,
                "list": task.list_id,
                "due_date": task.due_date,
                "due_time": task.due_time,
                "recurrence": task.recurrence,
                "recur_from": task.recur_from,
                "version": task.updated_at.isoformat(),
            },
            **kwargs,
        )


class TaskTitleForm(TaskEditForm):
    """The list's inline edit: the title and the version, nothing else, so a
    save leaves the description and the completed state as they are."""

    description = None
    completed = None
    list = None
    due_date = None
    due_time = None
    recurrence = None
    recur_from = None


class TaskListForm(forms.Form):
    name = forms.CharField(
        max_length=LIST_NAME_MAX_LENGTH,
        error_messages={"required": "Give the list a name."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
