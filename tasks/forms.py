"""Task input rules, shared by the HTML forms and the JSON API.

These are plain forms, not model forms: a task is written with one SQL
statement (an INSERT, or a conditional UPDATE), so nothing here reads the
database, and the owner never comes from the request.
"""

from datetime import UTC

from django import forms

from .models import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH


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


class TaskEditForm(TaskForm):
    completed = forms.BooleanField(required=False, label="Done")
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

    @classmethod
    def for_task(cls, task, **kwargs) -> "TaskEditForm":
        return cls(
            initial={
                "title": task.title,
                "description": task.description,
                "completed": task.completed,
                "version": task.updated_at.isoformat(),
            },
            **kwargs,
        )


class TaskTitleForm(TaskEditForm):
    """The list's inline edit: the title and the version, nothing else, so a
    save leaves the description and the completed state as they are."""

    description = None
    completed = None
