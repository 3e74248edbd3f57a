"""The JSON API: the reference spec's task endpoints, with django-ninja.

Every endpoint starts from ``Task.objects.for_user(request.auth)``, so the
owner rule lives where it does for the HTML views; titles and descriptions are
checked by ``TaskForm``, so both front doors apply the same rules.
"""

from typing import Annotated

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Query
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.responses import Status

from accounts.auth import SessionAuth, TokenAuth

from .forms import TaskForm
from .models import Task
from .schemas import (
    MAX_ID,
    MAX_LIMIT,
    BulkCompleteIn,
    BulkCompleteOut,
    CompletedQuery,
    Detail,
    TaskIn,
    TaskOut,
    TaskPatch,
    TrashedTaskOut,
    ValidationErrors,
)


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
        "The tasks of the signed-in user. Authenticate with a personal access "
        "token (`Authorization: Bearer <token>`, created at /accounts/tokens/) "
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


def _not_found() -> HttpError:
    return HttpError(404, "Task not found")


def _clean(values: dict) -> dict:
    """Check and normalise the given text fields with the HTML form's rules.

    Only the fields in ``values`` are judged, so a PATCH may leave the title
    out; null means empty, as a blank form field does.
    """
    form = TaskForm(
        data={name: "" if value is None else value for name, value in values.items()}
    )
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


# --- Endpoints ------------------------------------------------------------------

UNAUTHENTICATED = {401: Detail}
INVALID = {422: ValidationErrors}
NOT_FOUND = {404: Detail}
# Session-authenticated unsafe calls without the CSRF token.
CSRF = {403: Detail}


@api.get(
    "/tasks",
    response={200: list[TaskOut], **UNAUTHENTICATED, **INVALID},
    summary="List tasks, newest first",
)
def list_tasks(
    request: HttpRequest,
    completed: Annotated[
        CompletedQuery | None, Query(description="`true` or `false`; omit for all.")
    ] = None,
    skip: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
):
    tasks = _tasks(request)
    if completed is not None:
        tasks = tasks.filter(completed=completed)
    return tasks[skip : skip + limit]


@api.post(
    "/tasks",
    response={201: TaskOut, **UNAUTHENTICATED, **CSRF, **INVALID},
    summary="Create a task",
)
def create_task(request: HttpRequest, payload: TaskIn):
    values = _clean(payload.model_dump())
    return Status(201, _tasks(request).create(**values))


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
    summary="Change any of title, description, completed",
)
def update_task(request: HttpRequest, task_id: int, payload: TaskPatch):
    sent = payload.model_dump(exclude_unset=True)
    values = _clean({k: v for k, v in sent.items() if k != "completed"})
    if sent.get("completed") is not None:
        values["completed"] = sent["completed"]
    tasks = _tasks(request)
    if values:
        task = tasks.update_returning(task_id, **values)
    else:
        task = tasks.filter(pk=task_id).first()
    if task is None:
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
