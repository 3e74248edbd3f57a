"""Task input rules, shared by the HTML forms and the JSON API.

These are plain forms, not model forms: a task is written with one SQL
statement (an INSERT, or a conditional UPDATE), so nothing here reads the
database, and the owner never comes from the request.
"""

from datetime import UTC

from django import forms

from .models import DESCRIPTION_MAX_LENGTH, LIST_NAME_MAX_LENGTH, TITLE_MAX_LENGTH

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


class TaskListForm(forms.Form):
    name = forms.CharField(
        max_length=LIST_NAME_MAX_LENGTH,
        error_messages={"required": "Give the list a name."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
