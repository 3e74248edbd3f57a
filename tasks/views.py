"""The task pages: thin function views over the scoped queryset.

Each view starts from ``Task.objects.for_user(request.user)``, so the owner
rule lives in one place. Writes are single statements whose row count says
whether the task was the user's: 0 rows is a 404, and nothing changed.
"""

from urllib.parse import quote, urlsplit

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    QueryDict,
)
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .forms import TaskEditForm, TaskForm, TaskTitleForm
from .list_page import ROW_FIELDS, login_required_reading_ahead, task_page
from .models import TITLE_MAX_LENGTH, Task

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


def _status(value) -> str:
    return value if value in STATUSES else "all"


@require_GET
@login_required_reading_ahead
def task_list(request: HttpRequest) -> HttpResponse:
    status = _status(request.GET.get("status"))
    number = page_number(request.GET.get("page"))
    page, counts = task_page(request, status, number, PAGE_SIZE)
    shared = _shared(request, request.get_full_path(), status)
    return render(
        request,
        "tasks/task_list.html",
        {
            "page": page,
            "rows": _rows(page.object_list, shared),
            "counts": counts,
            "form": TaskForm(),
            **shared,
        },
    )


# --- In place: what the list page's htmx requests get -----------------------------
#
# One code path: each view below does its work and says what changed; _done()
# answers a plain request (and a boosted navigation, which swaps the whole
# body) with the redirect to `next`, and a request from one of the list's own
# hx-post controls with the parts of the list page that changed, rendered by
# the page's own partials ("changes" in task_list.html).


def _in_place(request: HttpRequest) -> bool:
    """Whether the request came from a list control that swaps a part of the
    page (hx-post), rather than a plain form or a boosted one."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
    )


def _list_at(request: HttpRequest) -> tuple[str, str, int]:
    """The list page the form was sent from (its ``next``): path, filter, page."""
    here = _next_url(request, default=reverse("tasks:list"))
    query = QueryDict(urlsplit(here).query)
    return here, _status(query.get("status")), page_number(query.get("page"))


def _shared(request: HttpRequest, here: str, status: str) -> dict:
    """What the list page, its rows and its fragments all use."""
    return {
        "status": status,
        "statuses": STATUSES,
        "here": escape(here),
        "here_encoded": quote(here, safe="/"),
        # Under the context processor's name, so the page's {% csrf_token %}
        # tags use this token too instead of masking another.
        "csrf_token": get_token(request),
        "title_max": TITLE_MAX_LENGTH,
        "undo_in_place": True,
        # What the fragments' partials ask for, so no lookup fails (Django
        # logs a failed one with the whole context, task titles included).
        "oob": False,
        "main": "",
        "row": "",
        "new_row": "",
        "replace_list": False,
    }


def _rows(tasks, shared: dict, editing: dict | None = None) -> str:
    # Rendered by Jinja2, which escaped what it put in.
    return mark_safe(  # noqa: S308
        render_to_string(
            "tasks/task_rows.html",
            {"tasks": tasks, "editing": editing, **shared},
            using="jinja2",
        )
    )


def _row(task: Task, shared: dict, editing: dict | None = None) -> str:
    # A task that a write read back has its description; the list's rows
    # carry only whether there is one (page_rows()).
    task.has_description = bool(task.description)
    return _rows([task], shared, editing)


def _shows(status: str, task: Task) -> bool:
    return status == "all" or (status == "completed") == task.completed


def _done(request: HttpRequest, **changed) -> HttpResponse:
    """The answer to an action: the redirect back, or in place what changed."""
    if _in_place(request):
        return _changes(request, **changed)
    return redirect(_next_url(request))


def _changes(
    request: HttpRequest,
    *,
    task: Task | None = None,
    main: str = "row",
    added: Task | None = None,
    editing: dict | None = None,
    whole_list: bool = False,
    recount: bool = True,
    status: int = 200,
) -> HttpResponse:
    """The parts of the list page an action changed, for htmx to swap.

    ``main`` is what replaces the element that asked: the row (``task`` as
    saved, or nothing when it is gone or leaves the filter), the add form, or
    the whole list (``task_items``). Out of band: a task just ``added`` at the
    top of the first page, the counter and the footer (one more query, unless
    ``recount`` is off), and the messages, which name the task.
    """
    here, status_filter, number = _list_at(request)
    shared = _shared(request, here, status_filter)
    context = {**shared, "main": main, "form": TaskForm()}
    if whole_list:
        tasks = _tasks(request).only(*ROW_FIELDS)
        page, counts = tasks.page_with_counts(status_filter, number, PAGE_SIZE)
        context["rows"] = _rows(page.object_list, shared)
    elif recount:
        counts = _tasks(request).counts()
        # Pagination needs only the count: no rows are read for it.
        page = Paginator(range(counts[status_filter]), PAGE_SIZE).get_page(number)
        shown = counts[status_filter]
        if added is not None and page.number == 1 and _shows(status_filter, added):
            if shown == 1:  # the list said it was empty
                context["replace_list"] = True
                context["rows"] = _row(added, shared)
            else:
                context["new_row"] = _row(added, shared)
        elif shown == 0:  # the last row left: the list says it is empty
            context["replace_list"] = True
            context["rows"] = _rows([], shared)
    else:
        page = counts = None
    if task is not None and (editing or _shows(status_filter, task)):
        context["row"] = _row(task, shared, editing)
    context.update(page=page, counts=counts)
    return render(request, "tasks/task_list.html#changes", context, status=status)


def _gone(request: HttpRequest) -> HttpResponse:
    """A task that is not (or no longer) the user's: a 404, as always.

    To the list's htmx request, the 404's body removes the row and says why,
    rather than an error page taking the list's place (base.html lets htmx
    swap 4xx answers). It names no task: the id may be someone else's.
    """
    if not _in_place(request):
        raise Http404
    messages.warning(
        request, "That task was deleted elsewhere, so it has left the list."
    )
    return _changes(request, status=404)


@require_http_methods(["GET", "POST"])
def task_create(request: HttpRequest) -> HttpResponse:
    form = TaskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        task = _tasks(request).create(**form.cleaned_data)
        messages.success(request, f"Added “{task.title}”.")
        return _done(request, main="add_form", added=task)
    if request.method == "POST" and _in_place(request):
        # The list's add form again, with the errors and the text as typed.
        here, status, _ = _list_at(request)
        context = {**_shared(request, here, status), "form": form}
        return render(request, "tasks/task_list.html#add_form", context)
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
    if _in_place(request):
        return _edit_in_place(request, pk)
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


def _edit_in_place(request: HttpRequest, pk: int) -> HttpResponse:
    """The list's inline edit: the title alone, answered with the row.

    The stale-edit rule holds as on the edit page: the save is one UPDATE on
    the version the row was shown with. An emptied title moves the task to
    the trash (TodoMVC), on the same condition.
    """
    form = TaskTitleForm(request.POST)
    valid = form.is_valid()
    version = form.cleaned_data.get("version")
    emptied = version is not None and form.has_error("title", "required")
    if valid:
        title = form.cleaned_data["title"]
        task = _tasks(request).update_if_unchanged_returning(pk, version, title=title)
        if task is not None:
            messages.success(request, f"Saved “{task.title}”.")
            return _changes(request, task=task, recount=False)
    elif emptied:
        trashed = _tasks(request).trash_if_unchanged(pk, version)
        if trashed:
            _say_trashed(request, trashed)
            return _changes(request)
    try:
        task = get_object_or_404(_tasks(request), pk=pk)
    except Http404:
        return _gone(request)
    if valid or emptied:
        # Not saved, yet nothing was wrong with it: someone changed the task
        # first. The row comes back with the saved version, so saving again
        # is a deliberate overwrite.
        error = (
            f"Changed somewhere else since you opened it: nothing was "
            f"overwritten. It is saved as “{task.title}”. Press Enter to save "
            f"your text anyway, or Escape to keep the saved one."
        )
    else:
        error = " ".join(error for errors in form.errors.values() for error in errors)
    editing = {"title": request.POST.get("title", ""), "error": error}
    return _changes(request, task=task, editing=editing, recount=False)


@require_POST
def task_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    task = _tasks(request).toggle_returning(pk)
    if task is None:
        return _gone(request)
    done = "Completed" if task.completed else "Reopened"
    messages.success(request, f"{done} “{task.title}”.")
    return _done(request, task=task)


@require_http_methods(["GET", "POST"])
def task_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "GET":
        task = get_object_or_404(_tasks(request), pk=pk)
        return render(request, "tasks/task_confirm_delete.html", {"task": task})
    trashed = _tasks(request).trash_one(pk)
    if not trashed:
        return _gone(request)
    _say_trashed(request, trashed)
    return _done(request)


@require_POST
def task_toggle_all(request: HttpRequest) -> HttpResponse:
    _tasks(request).toggle_all()
    messages.success(request, "Updated all tasks.")
    return _done(request, main="task_items", whole_list=True)


@require_POST
def task_clear_completed(request: HttpRequest) -> HttpResponse:
    trashed = _tasks(request).clear_completed()
    if trashed:
        _say_trashed(request, trashed)
    else:
        messages.info(request, "No completed tasks to clear.")
    return _done(request, main="task_items", whole_list=True)


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
    return _done(request, main="task_items", whole_list=True)


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
