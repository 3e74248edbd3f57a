"""The JSON API: the reference spec's task endpoints and the lists, with
django-ninja.

Every endpoint starts from ``Task.objects.for_user(request.auth)`` or
``TaskList.objects.for_user(request.auth)``, so the owner rule lives where it
does for the HTML views; titles, descriptions and list names are checked by
``TaskForm`` and ``TaskListForm``, so both front doors apply the same rules.
"""

from datetime import date
from typing import Annotated

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, router
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Query
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.responses import Status

from accounts.auth import SessionAuth, TokenAuth

from . import dates
from .forms import TaskForm, TaskListForm
from .managers import NameTaken, recoverable
from .models import Task, TaskList
from .schemas import (
    MAX_ID,
    MAX_LIMIT,
    BulkCompleteIn,
    BulkCompleteOut,
    CompletedQuery,
    Detail,
    DueView,
    TaskIn,
    TaskListIn,
    TaskListOut,
    TaskListPatch,
    TaskOut,
    TaskPatch,
    TrashedTaskOut,
    ValidationErrors,
)
from .search import MAX_QUERY_LENGTH


class TaskAPI(NinjaAPI):
    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        # The site sends anonymous visitors to the login page
        # (LoginRequiredMiddleware); an API client needs a 401 it can act on,
        # which the auth classes above give. The docs and schema are public.
        for pattern in patterns:
            login_not_required(pattern.callback)
        return patterns, app_name, namespace

    def get_openapi_operation_id(self, operation) -> str:
        return operation.view_func.__name__


api = TaskAPI(
    title="Todo API",
    version="1.0.0",
    description=(
        "The tasks and lists of the signed-in user. Authenticate with a personal "
        "access token (`Authorization: Bearer <token>`, created at /accounts/tokens/) "
        "or the browser session (then unsafe methods need the CSRF token in "
        '`X-CSRFToken`). Errors are JSON: `{"detail": "..."}`, or for '
        'invalid input (422) `{"detail": [{"type", "loc", "msg"}]}` '
        "where `loc` names the field."
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = str(exc)
    if type(exc) is AuthenticationError:
        message = (
            "Authentication required: send 'Authorization: Bearer <token>' or sign in."
        )
    response = api.create_response(request, {"detail": message}, status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and exc.__cause__ is not None:
        # ninja reports a body it cannot parse as a bare 400; the contract
        # makes bad JSON a 422 like any other invalid input.
        error = {"type": "json_invalid", "loc": ["body"], "msg": "Invalid JSON."}
        return api.create_response(request, {"detail": [error]}, status=422)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(RequestDataTooBig)
def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return api.create_response(
        request, {"detail": "Request body too large."}, status=413
    )


# --- Helpers --------------------------------------------------------------------


def _tasks(request: HttpRequest):
    return Task.objects.for_user(request.auth)


def _lists(request: HttpRequest):
    return TaskList.objects.for_user(request.auth)


def _given_once(request: HttpRequest, *names: str) -> None:
    """A 422 for a query parameter given more than once: which of the values
    was meant is the client's to say (ninja would take the last)."""
    errors = [
        {"type": "repeated", "loc": ["query", name], "msg": "Give this only once."}
        for name in names
        if len(request.GET.getlist(name)) > 1
    ]
    if errors:
        raise ValidationError(errors)


def _not_found() -> HttpError:
    return HttpError(404, "Task not found")


def _list_not_found() -> HttpError:
    return HttpError(404, "List not found")


def _a_list_id(list_id: int) -> int:
    """``list_id``, if a list can have it; else 404 at once.

    A number no bigint holds is nobody's list, and SQLite cannot even bind
    it (Django's range check covers primary keys, not foreign keys).
    """
    if not 0 < list_id <= MAX_ID:
        raise _list_not_found()
    return list_id


# The fields TaskForm checks for the API: all but the list, which the
# INSERT or UPDATE itself checks (it must be one of the caller's).
FORM_FIELDS = (
    "title",
    "description",
    "due_date",
    "due_time",
    "recurrence",
    "recur_from",
)


def _clean(values: dict, form_class=TaskForm, *, context=None) -> dict:
    """Check and normalise the given fields with the HTML form's rules.

    Only the fields in ``values`` are judged, so a PATCH may leave the title
    out; null means empty, as a blank form field does. ``context`` is more
    data the form may need to judge them (a date for a time), neither
    judged nor returned.
    """
    data = {name: "" if value is None else value for name, value in values.items()}
    form = form_class(data={**(context or {}), **data})
    form.is_valid()
    errors = [
        {
            "type": error.code or "invalid",
            "loc": ["body", "payload", name],
            "msg": message,
        }
        for name, field_errors in form.errors.as_data().items()
        if name in values
        for error in field_errors
        for message in error.messages
    ]
    if errors:
        raise ValidationError(errors)
    return {name: form.cleaned_data[name] for name in values}


def _time_without_date() -> ValidationError:
    return ValidationError(
        [
            {
                "type": "invalid",
                "loc": ["body", "payload", "due_time"],
                "msg": "Give the date this time is on.",
            }
        ]
    )


def _duplicate_name() -> ValidationError:
    return ValidationError(
        [
            {
                "type": "unique",
                "loc": ["body", "payload", "name"],
                "msg": "You already have a list with this name.",
            }
        ]
    )


# --- Endpoints ------------------------------------------------------------------

UNAUTHENTICATED = {401: Detail}
INVALID = {422: ValidationErrors}
NOT_FOUND = {404: Detail}
INBOX_KEPT = {409: Detail}
# Session-authenticated unsafe calls without the CSRF token.
CSRF = {403: Detail}


@api.get(
    "/tasks",
    response={200: list[TaskOut], **UNAUTHENTICATED, **NOT_FOUND, **INVALID},
    summary="List tasks, newest first (with q: best matches first; with due: "
    "soonest first)",
    description="404 `List not found` if `list_id` is not one of the caller's lists.",
)
def list_tasks(
    request: HttpRequest,
    completed: Annotated[
        CompletedQuery | None, Query(description="`true` or `false`; omit for all.")
    ] = None,
    list_id: Annotated[int | None, Query(description="Only this list's tasks.")] = None,
    due: Annotated[
        DueView | None,
        Query(
            description="Only the tasks due `today` (or earlier), `upcoming` "
            "(the next 7 days), `overdue`, or with no due date (`none`), as of "
            "now in the caller's time zone; then soonest first (a day's tasks "
            "without a time before those with one), then newest."
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY_LENGTH,
            description="Only the tasks whose title or description has every "
            "word, ignoring case and accents (words of 3 or more characters "
            "also inside other words), best matches first, then newest. "
            "Empty: no filter.",
        ),
    ] = None,
    skip: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
):
    _given_once(request, "completed", "list_id", "due", "q", "skip", "limit")
    tasks = _tasks(request)
    if list_id is not None:
        tasks = tasks.in_list(_a_list_id(list_id))
    if completed is not None:
        tasks = tasks.filter(completed=completed)
    tasks = tasks.search(q)
    if due is not None:
        # The user's zone came with the user: no query.
        clock = dates.Clock.in_zone(dates.zone_of(request.auth))
        tasks = tasks.due_in(due, clock)
    rows = list(tasks[skip : skip + limit])
    # No rows may mean another user's list: only then is it worth a query.
    listed = list_id is None or rows or _lists(request).filter(pk=list_id).exists()
    if not listed:
        raise _list_not_found()
    return rows


@api.post(
    "/tasks",
    response={201: TaskOut, **UNAUTHENTICATED, **CSRF, **NOT_FOUND, **INVALID},
    summary="Create a task",
    description="404 `List not found` if `list_id` is not one of the caller's "
    "lists; nothing is created then.",
)
def create_task(request: HttpRequest, payload: TaskIn):
    sent = payload.model_dump()
    list_id = sent.pop("list_id")
    values = _clean(sent)
    if list_id is not None:
        values["list_id"] = _a_list_id(list_id)
    try:
        # One INSERT ... SELECT: it finds the list as it writes the task.
        task = _tasks(request).create(**values)
    except TaskList.DoesNotExist:
        raise _list_not_found() from None
    return Status(201, task)


@api.post(
    "/tasks/bulk-complete",
    response={200: BulkCompleteOut, **UNAUTHENTICATED, **CSRF, **INVALID},
    summary="Complete several tasks",
)
def bulk_complete(request: HttpRequest, payload: BulkCompleteIn):
    # Ids no bigint can hold are nobody's task; leaving them out keeps them
    # from reaching the database (SQLite cannot even bind them).
    ids = {pk for pk in payload.task_ids if 0 < pk <= MAX_ID}
    updated = _tasks(request).bulk_complete(ids) if ids else 0
    return {"updated": updated}


@api.get(
    "/tasks/trash",
    response={200: list[TrashedTaskOut], **UNAUTHENTICATED, **INVALID},
    summary="List the trash, most recently deleted first",
)
def list_trash(
    request: HttpRequest,
    skip: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
):
    trash = Task.objects.trash_for(request.auth).order_by("-deleted_at", "-id")
    return trash[skip : skip + limit]


@api.get(
    "/tasks/{task_id}",
    response={200: TaskOut, **UNAUTHENTICATED, **NOT_FOUND, **INVALID},
    summary="Get a task",
)
def get_task(request: HttpRequest, task_id: int):
    task = _tasks(request).filter(pk=task_id).first()
    if task is None:
        raise _not_found()
    return task


@api.patch(
    "/tasks/{task_id}",
    response={200: TaskOut, **UNAUTHENTICATED, **CSRF, **NOT_FOUND, **INVALID},
    summary="Change any of title, description, completed, list_id, due_date, "
    "due_time, recurrence, recur_from",
    description="`list_id` moves the task; 404 `List not found` if it is not "
    "one of the caller's lists, and nothing changes then. `due_date: null` "
    "clears the due time too. A `due_time` for a task that has no due date "
    "(stored, or sent as null) is 422 naming `due_time`, and nothing changes. "
    "Completing a recurring task adds the next task of its series.",
)
def update_task(request: HttpRequest, task_id: int, payload: TaskPatch):
    sent = payload.model_dump(exclude_unset=True)
    # A time sent without a date goes on the stored date, which the form
    # cannot see: it is given today's (what it also checks a rule from when
    # there is no date), and the UPDATE below matches only a task that has
    # a date.
    needs_stored_date = sent.get("due_time") is not None and "due_date" not in sent
    context = {"due_date": date.today().isoformat()} if needs_stored_date else None
    values = _clean(
        {k: v for k, v in sent.items() if k in FORM_FIELDS}, context=context
    )
    if "due_date" in values and values["due_date"] is None:
        values["due_time"] = None  # no date, no time (a time sent is refused)
    for name in ("completed", "list_id"):
        if sent.get(name) is not None:
            values[name] = sent[name]
    if "list_id" in values:
        _a_list_id(values["list_id"])
    tasks = _tasks(request)
    if values:
        # Into another user's list, the UPDATE matches nothing at all; nor
        # does a time for a task without a date.
        changed = tasks.filter(due_date__isnull=False) if needs_stored_date else tasks
        task = changed.update_returning(task_id, **values)
    else:
        task = tasks.filter(pk=task_id).first()
    if task is None:
        # Only a failed move or time needs to find out why nothing matched.
        if "list_id" in values or needs_stored_date:
            found = tasks.filter(pk=task_id).values("due_date").first()
            if found is not None and needs_stored_date and found["due_date"] is None:
                raise _time_without_date()
            if found is not None and "list_id" in values:
                raise _list_not_found()
        raise _not_found()
    return task


@api.post(
    "/tasks/{task_id}/toggle",
    response={200: TaskOut, **UNAUTHENTICATED, **CSRF, **NOT_FOUND, **INVALID},
    summary="Flip completed",
)
def toggle_task(request: HttpRequest, task_id: int):
    task = _tasks(request).toggle_returning(task_id)
    if task is None:
        raise _not_found()
    return task


@api.delete(
    "/tasks/{task_id}",
    response={204: None, **UNAUTHENTICATED, **CSRF, **NOT_FOUND, **INVALID},
    summary="Move a task to the trash",
)
def delete_task(request: HttpRequest, task_id: int):
    if not _tasks(request).trash_one(task_id):
        raise _not_found()
    return Status(204, None)


@api.post(
    "/tasks/{task_id}/restore",
    response={200: TaskOut, **UNAUTHENTICATED, **CSRF, **NOT_FOUND, **INVALID},
    summary="Bring a task back from the trash",
)
def restore_task(request: HttpRequest, task_id: int):
    task = Task.objects.trash_for(request.auth).update_returning(
        task_id, deleted_at=None
    )
    if task is None:
        raise _not_found()
    return task


# --- Lists ----------------------------------------------------------------------


@api.get(
    "/lists",
    response={200: list[TaskListOut], **UNAUTHENTICATED, **INVALID},
    summary="List the lists, the Inbox first, then by name",
)
def list_lists(request: HttpRequest):
    return _lists(request).with_active_counts()


@api.post(
    "/lists",
    response={201: TaskListOut, **UNAUTHENTICATED, **CSRF, **INVALID},
    summary="Create a list",
    description="A name the caller already has, ignoring case: 422 naming `name`.",
)
def create_list(request: HttpRequest, payload: TaskListIn):
    values = _clean(payload.model_dump(), TaskListForm)
    task_list = _lists(request).create_unless_taken(values["name"])
    if task_list is None:
        raise _duplicate_name()
    task_list.active_count = 0  # a new list has no tasks
    return Status(201, task_list)


@api.get(
    "/lists/{list_id}",
    response={200: TaskListOut, **UNAUTHENTICATED, **NOT_FOUND, **INVALID},
    summary="Get a list",
)
def get_list(request: HttpRequest, list_id: int):
    lists = _lists(request).with_active_counts()
    task_list = lists.filter(pk=_a_list_id(list_id)).first()
    if task_list is None:
        raise _list_not_found()
    return task_list


@api.patch(
    "/lists/{list_id}",
    response={200: TaskListOut, **UNAUTHENTICATED, **CSRF, **NOT_FOUND, **INVALID},
    summary="Rename a list",
    description="A name the caller already has, ignoring case: 422 naming `name`.",
)
def update_list(request: HttpRequest, list_id: int, payload: TaskListPatch):
    values = _clean(payload.model_dump(exclude_unset=True), TaskListForm)
    list_id = _a_list_id(list_id)
    if "name" in values:
        try:
            task_list = _lists(request).rename(list_id, values["name"])
        except NameTaken:
            raise _duplicate_name() from None
    else:
        task_list = _lists(request).with_active_counts().filter(pk=list_id).first()
    if task_list is None:
        raise _list_not_found()
    return task_list


@api.delete(
    "/lists/{list_id}",
    response={
        204: None,
        **UNAUTHENTICATED,
        **CSRF,
        **NOT_FOUND,
        **INBOX_KEPT,
        **INVALID,
    },
    summary="Delete a list, its tasks to the trash",
    description="Its tasks go to the trash (restored, they are in the Inbox). "
    "The Inbox cannot be deleted: 409.",
)
def delete_list(request: HttpRequest, list_id: int):
    list_id = _a_list_id(list_id)
    try:
        with recoverable(router.db_for_write(TaskList)):
            name, _ = _tasks(request).delete_list(list_id)
    except IntegrityError:  # a task was added to the list at that moment
        raise HttpError(409, "A task was just added to this list; try again.") from None
    if name is not None:
        return Status(204, None)
    if _lists(request).inbox().filter(pk=list_id).exists():
        raise HttpError(409, "The Inbox cannot be deleted.")
    raise _list_not_found()
