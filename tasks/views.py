"""The task pages: thin function views over the scoped queryset.

Each view starts from ``Task.objects.for_user(request.user)``, so the owner
rule lives in one place. Writes are single statements whose row count says
whether the task was the user's: 0 rows is a 404, and nothing changed.
"""

from urllib.parse import quote

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .forms import TaskEditForm, TaskForm
from .list_page import login_required_reading_ahead, task_page
from .models import Task

PAGE_SIZE = 50
# The largest id a task can have (a bigint); larger ones are nobody's.
MAX_ID = 2**63 - 1
UNDO_TAG = "undo:"


def pluralize_task(count: int) -> str:
    return "task" if count == 1 else "tasks"


STATUSES = ("all", "active", "completed")


def _tasks(request: HttpRequest):
    return Task.objects.for_user(request.user)


def _next_url(request: HttpRequest, default: str = "tasks:list") -> str:
    """Where to go back to: a same-site ``next`` path, or the list."""
    url = request.POST.get("next") or request.GET.get("next")
    # Paths only: redirect() would take a bare word such as "0" for a URL
    # name to reverse, and fail with a 500 when there is none.
    if (
        url
        and url.startswith("/")
        and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return url
    return default


def _next(request: HttpRequest) -> str:
    """The ``next`` for a form to carry on, if it is a safe one.

    Given to the template rather than looked up there: a failed lookup of
    request.POST.next is logged (at DEBUG) with all of request.POST in it.
    """
    return _next_url(request, default="")


# Page numbers past this are past any real list; it keeps OFFSET in range.
MAX_PAGE = 10**6


def page_number(value) -> int:
    """A page number from a query string: 1 for anything but a number."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 1
    return min(max(number, 1), MAX_PAGE)


@require_GET
@login_required_reading_ahead
def task_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status")
    if status not in STATUSES:
        status = "all"
    number = page_number(request.GET.get("page"))
    page, counts = task_page(request, status, number, PAGE_SIZE)
    here = request.get_full_path()
    shared = {
        "status": status,
        "here": escape(here),
        "here_encoded": quote(here, safe="/"),
        # Under the context processor's name, so the page's {% csrf_token %}
        # tags use this token too instead of masking another.
        "csrf_token": get_token(request),
    }
    # Rendered by Jinja2, which escaped what it put in.
    rows = mark_safe(  # noqa: S308
        render_to_string(
            "tasks/task_rows.html",
            {"tasks": page.object_list, **shared},
            using="jinja2",
        )
    )
    return render(
        request,
        "tasks/task_list.html",
        {
            "page": page,
            "rows": rows,
            "counts": counts,
            "statuses": STATUSES,
            **shared,
        },
    )


@require_http_methods(["GET", "POST"])
def task_create(request: HttpRequest) -> HttpResponse:
    form = TaskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        task = _tasks(request).create(**form.cleaned_data)
        messages.success(request, f"Added “{task.title}”.")
        return redirect(_next_url(request))
    return render(
        request, "tasks/task_form.html", {"form": form, "next": _next(request)}
    )


def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # Ownership first, method second: for another user's id, any method is a
    # 404, so the answer never reveals that the id exists.
    task = get_object_or_404(_tasks(request), pk=pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return render(request, "tasks/task_detail.html", {"task": task})


@require_http_methods(["GET", "POST"])
def task_update(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "GET":
        task = get_object_or_404(_tasks(request), pk=pk)
        form = TaskEditForm.for_task(task)
        return render(
            request,
            "tasks/task_form.html",
            {"form": form, "task": task, "next": _next(request)},
        )

    if "discard" in request.POST:
        # From the conflict page: keep the saved version, drop what was typed.
        task = get_object_or_404(_tasks(request), pk=pk)
        messages.info(request, f"Discarded your changes to “{task.title}”.")
        return redirect(_next_url(request))

    form = TaskEditForm(request.POST)
    if form.is_valid():
        values = dict(form.cleaned_data)
        version = values.pop("version")
        if _tasks(request).update_fields_if_unchanged(pk, version, **values):
            messages.success(request, f"Saved “{values['title']}”.")
            return redirect(_next_url(request))
    task = get_object_or_404(_tasks(request), pk=pk)
    conflict = form.is_valid()  # valid, yet not saved: someone changed it first
    if conflict:
        # Keep what the user typed, but let the next save go through on purpose.
        data = request.POST.copy()
        data["version"] = task.updated_at.isoformat()
        form = TaskEditForm(data)
        form.add_error(
            None,
            "This task was changed somewhere else after you opened it, and "
            "nothing was overwritten. The saved version is shown above: save "
            "again to replace it with your changes, or discard them.",
        )
    return render(
        request,
        "tasks/task_form.html",
        {"form": form, "task": task, "conflict": conflict, "next": _next(request)},
    )


@require_POST
def task_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    task = _tasks(request).toggle_returning(pk)
    if task is None:
        raise Http404
    done = "Completed" if task.completed else "Reopened"
    messages.success(request, f"{done} “{task.title}”.")
    return redirect(_next_url(request))


@require_http_methods(["GET", "POST"])
def task_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "GET":
        task = get_object_or_404(_tasks(request), pk=pk)
        return render(request, "tasks/task_confirm_delete.html", {"task": task})
    trashed = _tasks(request).trash_one(pk)
    if not trashed:
        raise Http404
    _say_trashed(request, trashed)
    return redirect(_next_url(request))


@require_POST
def task_toggle_all(request: HttpRequest) -> HttpResponse:
    _tasks(request).toggle_all()
    messages.success(request, "Updated all tasks.")
    return redirect(_next_url(request))


@require_POST
def task_clear_completed(request: HttpRequest) -> HttpResponse:
    trashed = _tasks(request).clear_completed()
    if trashed:
        _say_trashed(request, trashed)
    else:
        messages.info(request, "No completed tasks to clear.")
    return redirect(_next_url(request))


# --- The trash -----------------------------------------------------------------


@require_POST
def task_restore(request: HttpRequest) -> HttpResponse:
    ids = [pk for pk in request.POST.getlist("ids") if pk.isascii() and pk.isdigit()]
    ids = [int(pk) for pk in ids if int(pk) <= MAX_ID]
    restored = Task.objects.trash_for(request.user).filter(pk__in=ids).restore()
    if restored:
        messages.success(request, f"Restored {names(restored)}.")
    else:
        messages.info(request, "Nothing to restore: those tasks are not in the trash.")
    return redirect(_next_url(request))


@require_GET
def trash(request: HttpRequest) -> HttpResponse:
    tasks = Task.objects.trash_for(request.user).order_by("-deleted_at", "-id")
    page = Paginator(tasks.only("title", "deleted_at"), PAGE_SIZE).get_page(
        page_number(request.GET.get("page"))
    )
    return render(
        request, "tasks/trash.html", {"page": page, "here": request.get_full_path()}
    )


@require_http_methods(["GET", "POST"])
def trash_empty(request: HttpRequest) -> HttpResponse:
    tasks = Task.objects.trash_for(request.user)
    if request.method == "GET":
        return render(
            request, "tasks/trash_confirm_empty.html", {"count": tasks.count()}
        )
    count = tasks.delete_rows()
    messages.success(request, f"Deleted {count} {pluralize_task(count)} for good.")
    return redirect("tasks:trash")


def names(tasks) -> str:
    """The tasks' titles for a message: “A”, “B” and 3 more."""
    quoted = [f"“{task.title}”" for task in tasks[:2]]
    if len(tasks) > 2:
        return f"{quoted[0]}, {quoted[1]} and {len(tasks) - 2} more"
    return " and ".join(quoted)


def _say_trashed(request: HttpRequest, trashed) -> None:
    # The ids ride in the message's tags, which the messages template turns
    # into an Undo button (a POST to tasks:restore).
    messages.success(
        request,
        f"Moved {names(trashed)} to the trash.",
        extra_tags=UNDO_TAG + ",".join(str(task.pk) for task in trashed),
    )
