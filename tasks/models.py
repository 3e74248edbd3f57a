from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import models
from django.db.models import Func, Q
from django.db.models.functions import Length, Lower
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.urls import reverse
from django.utils import timezone

from .managers import OwnedManager, TaskListQuerySet, TaskQuerySet, UnscopedManager
from .search import SearchText

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
LIST_NAME_MAX_LENGTH = 100
INBOX = "Inbox"
RECURRENCE_MAX_LENGTH = 200


class RecurFrom(models.TextChoices):
    DUE = "due", "the due date"
    COMPLETION = "completion", "the day it is completed"


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


class TaskList(models.Model):
    """A user's list of tasks. Every user has one Inbox, which cannot be
    deleted (a signal makes it with the user: ``tasks.signals``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="task_lists",
        verbose_name="owner",
        # Indexed as the first column of the unique constraints below.
        db_index=False,
    )
    name = models.CharField(
        max_length=LIST_NAME_MAX_LENGTH,
        validators=[validate_not_blank, ProhibitNullCharactersValidator()],
    )
    is_inbox = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OwnedManager.from_queryset(TaskListQuerySet)()
    unscoped = UnscopedManager.from_queryset(TaskListQuerySet)()

    class Meta:
        verbose_name = "list"
        ordering = ["-is_inbox", Lower("name"), "id"]
        constraints = [
            models.UniqueConstraint(
                "user",
                Lower("name"),
                name="tasklist_name_unique_per_user",
                violation_error_message="You already have a list with this name.",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_inbox=True),
                name="tasklist_one_inbox_per_user",
            ),
            # What the tasks' (user, list) foreign key points at: a task and
            # its list have the same owner (migration 0003).
            models.UniqueConstraint(fields=["user", "id"], name="tasklist_user_id_key"),
            models.CheckConstraint(
                condition=GreaterThan(Length(TrimWhitespace("name")), 0),
                name="tasklist_name_not_blank",
                violation_error_code="blank",
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("name"), LIST_NAME_MAX_LENGTH),
                name="tasklist_name_max_length",
                violation_error_code="max_length",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"{reverse('tasks:list')}?list={self.pk}"


class Task(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="tasks",
        verbose_name="owner",
        # Indexed as the first column of both composite indexes below.
        db_index=False,
    )
    # A task and its list have the same owner: the database checks the pair
    # (migration 0003), and TaskQuerySet never tries another user's list.
    # RESTRICT: a list goes only once its tasks have moved (trash_list());
    # deleting a user deletes both.
    list = models.ForeignKey(TaskList, on_delete=models.RESTRICT, related_name="tasks")
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
    # When it is due: a date, and optionally a wall-clock time on that date in
    # the owner's time zone (accounts.Profile), which is why it is not one
    # timestamp: 09:00 stays 09:00 when the zone's offset changes.
    due_date = models.DateField(null=True, blank=True)
    due_time = models.TimeField(null=True, blank=True)
    # An iCalendar RRULE in the subset tasks.recurrence accepts; "" for none.
    recurrence = models.CharField(
        max_length=RECURRENCE_MAX_LENGTH, blank=True, default=""
    )
    recur_from = models.CharField(
        max_length=10, choices=RecurFrom.choices, default=RecurFrom.DUE
    )
    # A recurring task's series: the id of its first task (null on the first
    # task itself) and its place in it. Unique together, so two completions
    # of one task racing each other create one next task between them.
    series_id = models.BigIntegerField(null=True, blank=True, editable=False)
    sequence = models.PositiveIntegerField(default=0, editable=False)
    # Title and description folded for search (tasks.search), kept by the
    # database: a search reads it instead of folding every row it looks at.
    search_text = models.GeneratedField(
        expression=SearchText(), output_field=models.TextField(), db_persist=True
    )
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
    objects = OwnedManager.from_queryset(TaskQuerySet)()
    unscoped = UnscopedManager.from_queryset(TaskQuerySet)()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The list page: one user's tasks, newest first, optionally by status;
            # the counters scan the same index. Only live tasks, as every
            # query of for_user() asks, so the counters need no table row.
            models.Index(
                fields=["user", "completed", "-created_at", "-id"],
                name="task_live_status_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["user", "-created_at", "-id"],
                name="task_live_recent_idx",
                condition=Q(deleted_at__isnull=True),
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
            # The lists' counts of active tasks (with_active_counts()), read
            # from the index alone: a list's active tasks are few beside all.
            models.Index(
                fields=["user", "list"],
                name="task_list_active_idx",
                condition=Q(completed=False, deleted_at__isnull=True),
            ),
            # The due views (?due=today|upcoming|overdue): by due date and
            # time, then newest; only live tasks that have a due date.
            models.Index(
                fields=["user", "due_date", "due_time", "-created_at", "-id"],
                name="task_user_due_idx",
                condition=Q(due_date__isnull=False, deleted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_time__isnull=True) | Q(due_date__isnull=False),
                name="task_due_time_needs_a_date",
                violation_error_code="time_without_date",
            ),
            models.CheckConstraint(
                condition=Q(recur_from__in=RecurFrom.values),
                name="task_recur_from_valid",
            ),
            models.UniqueConstraint(
                fields=["series_id", "sequence"],
                condition=Q(series_id__isnull=False),
                name="task_one_next_per_series",
            ),
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
