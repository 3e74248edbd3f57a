from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import models
from django.db.models import Func, Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.urls import reverse
from django.utils import timezone

from .managers import TaskManager, UnscopedTaskManager

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000


def validate_not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("This field cannot be blank.", code="blank")


class TrimWhitespace(Func):
    """TRIM of spaces, tabs and line breaks (Django's Trim removes spaces only)."""

    function = "BTRIM"
    template = "%(function)s(%(expressions)s, ' ' || CHR(9) || CHR(10) || CHR(13))"
    output_field = models.CharField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            function="TRIM",
            template="%(function)s(%(expressions)s, "
            "' ' || CHAR(9) || CHAR(10) || CHAR(13))",
            **extra_context,
        )


class Task(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="tasks",
        verbose_name="owner",
        # Indexed as the first column of both composite indexes below.
        db_index=False,
    )
    title = models.CharField(
        max_length=TITLE_MAX_LENGTH,
        validators=[validate_not_blank, ProhibitNullCharactersValidator()],
    )
    description = models.TextField(
        blank=True,
        default="",
        validators=[
            MaxLengthValidator(DESCRIPTION_MAX_LENGTH),
            ProhibitNullCharactersValidator(),
        ],
    )
    completed = models.BooleanField(default=False)
    # Stamped by the model layer (save() and the queryset verbs), not by the
    # database's clock: updated_at is also the version an edit form sends back,
    # so it must round-trip exactly, and SQLite's own clock keeps only
    # milliseconds in a text format of its own.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    # Set when the task is moved to the trash; purge_trash deletes it for
    # good TRASH_DAYS later.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The first manager is Django's default: generic code (get_object_or_404 on
    # the model, dumpdata, related managers) then fails closed, unscoped.
    objects = TaskManager()
    unscoped = UnscopedTaskManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The list page: one user's tasks, newest first, optionally by status;
            # the counters scan the same index.
            models.Index(
                fields=["user", "completed", "-created_at", "-id"],
                name="task_user_status_idx",
            ),
            models.Index(
                fields=["user", "-created_at", "-id"], name="task_user_recent_idx"
            ),
            # The trash page, and purge_trash: only the (few) deleted rows.
            models.Index(
                fields=["user", "-deleted_at", "-id"],
                name="task_trash_idx",
                condition=Q(deleted_at__isnull=False),
            ),
            models.Index(
                fields=["deleted_at"],
                name="task_trash_purge_idx",
                condition=Q(deleted_at__isnull=False),
            ),
        ]
        constraints = [
            # Also enforced where the database allows: SQLite ignores VARCHAR
            # lengths, and a row written by hand must not break the pages.
            models.CheckConstraint(
                condition=GreaterThan(Length(TrimWhitespace("title")), 0),
                name="task_title_not_blank",
                violation_error_code="blank",
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("title"), TITLE_MAX_LENGTH),
                name="task_title_max_length",
                violation_error_code="max_length",
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(
                    Length("description"), DESCRIPTION_MAX_LENGTH
                ),
                name="task_description_max_length",
                violation_error_code="max_length",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        if self._state.adding:
            self.updated_at = self.created_at
        else:
            self.updated_at = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "updated_at"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("tasks:detail", args=[self.pk])
