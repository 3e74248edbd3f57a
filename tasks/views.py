"""The task pages: thin function views over the scoped queryset.

Each view starts from ``Task.objects.for_user(request.user)``, so the owner
rule lives in one place. Writes are single statements whose row count says
whether the task was the user's: 0 rows is a 404, and nothing changed.
"""

from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import Value
from django.db.models.functions import Lower
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

from . import dates, recurrence, search
from .dates import Clock, zone_of
from .forms import TaskEditForm, TaskForm, TaskListForm, TaskTitleForm
from .list_page import (
    login_required_reading_ahead,
    read_task_page,
    remember_zone,
    task_page,
)
from .managers import NameTaken, counts_of
from .models import TITLE_MAX_LENGTH, Task, TaskList

PAGE_SIZE = 50
# The largest id a task can have (a bigint); larger ones are nobody's.
MAX_ID = 2**63 - 1
UNDO_TAG = "undo:"
UNDO_LIST_TAG = "undo-list:"


def pluralize_task(count: int) -> str:
    return "task" if count == 1 else "tasks"


STATUSES = ("all", "active", "completed")
DUE_VIEW_NAMES = {
    "today": "Today",
    "upcoming": "Upcoming",
    "overdue": "Overdue",
    "none": "No date",
}


def _tasks(request: HttpRequest):
    return Task.objects.for_user(request.user)


def _shown(request: HttpRequest):
    """The tasks the list page the form was sent from shows (its list, search
    and due view, every status): what its bulk buttons count and act on."""
    _, where = _list_at(request)
    clock = Clock.in_zone(zone_of(request.user))
    tasks = _tasks(request).in_list(where.list_id).search(where.q)
    return tasks.due_in(where.due, clock)


def _lists(request: HttpRequest) -> list:
    return list(TaskList.objects.for_user(request.user))


def _ids(lists) -> set[int]:
    return {task_list.pk for task_list in lists}


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


def _choice(value, choices) -> str:
    return value if value in choices else ""


def list_id(value) -> int | None:
    """The ``list`` of a query string: None for all lists; a 404 for what
    cannot be a list id."""
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_ID:
        raise Http404("No such list.")
    return int(value)


@dataclass(frozen=True)
class Where:
    """Which tasks a list page shows: its query string, parsed."""

    status: str = "all"
    list_id: int | None = None
    q: str = ""
    due: str = ""
    number: int = 1

    @classmethod
    def of(cls, query: QueryDict) -> "Where":
        return cls(
            status=_status(query.get("status")),
            list_id=list_id(query.get("list")),
            q=" ".join(search.words_of(query.get("q"))),
            due=_choice(query.get("due"), dates.DUE_VIEWS),
            number=page_number(query.get("page")),
        )

    def query(self, **changes) -> str:
        """The query string of this page with ``changes``; page 1 and empty
        values are left out."""
        values = {
            "list": self.list_id,
            "due": self.due,
            "q": self.q,
            "status": self.status,
            **changes,
        }
        shown = {key: value for key, value in values.items() if value}
        if shown.get("status") == "all":  # the default
            del shown["status"]
        return urlencode(shown)


@require_GET
@login_required_reading_ahead
def task_list(request: HttpRequest) -> HttpResponse:
    where = Where.of(request.GET)
    view = task_page(request, where, PAGE_SIZE)
    shared = _shared(request, request.get_full_path(), where, view.clock)
    response = render(
        request,
        "tasks/task_list.html",
        {
            "page": view.page,
            "rows": _rows(view.page.object_list, shared),
            "counts": view.counts,
            "form": TaskForm(),
            **_navigation(view.lists, where),
            **shared,
        },
    )
    remember_zone(response, request, view)
    return response


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


def _list_at(request: HttpRequest) -> tuple[str, Where]:
    """The list page the form was sent from (its ``next``), and what it shows."""
    here = _next_url(request, default=reverse("tasks:list"))
    try:
        return here, Where.of(QueryDict(urlsplit(here).query))
    except Http404:
        return reverse("tasks:list"), Where()


def _shared(request: HttpRequest, here: str, where: Where, clock=None) -> dict:
    """What the list page, its rows and its fragments all use."""
    clock = clock or Clock.in_zone(zone_of(request.user))
    return {
        "clock": clock,
        "due_label": dates.due_label,
        "due_title": DUE_VIEW_NAMES.get(where.due, ""),
        "where": where,
        "status": where.status,
        "statuses": STATUSES,
        "words": search.words_of(where.q),
        "highlight": search.highlight,
        # Query strings for the page's links, each keeping the rest.
        "keep_filter": _and(where.query(status=None)),
        "keep": _and(where.query()),
        "unsearched": where.query(q=None),
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


def _and(query: str) -> str:
    return f"{query}&" if query else ""


def _navigation(lists, where: Where) -> dict:
    """The lists menu: the lists, the one shown, the active tasks in all,
    due today (or before) and in the coming days."""
    return {
        "lists": lists,
        "current_list": next((x for x in lists if x.pk == where.list_id), None),
        "active_total": sum(task_list.active_count for task_list in lists),
        "due_today": lists[0].due_today if lists else 0,
        "due_upcoming": lists[0].due_upcoming if lists else 0,
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


def _shows(where: Where, task: Task) -> bool:
    """Whether ``task`` belongs on the page ``where`` (its status and list)."""
    return (
        where.status == "all" or (where.status == "completed") == task.completed
    ) and where.list_id in (None, task.list_id)


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
    here, where = _list_at(request)
    shared = _shared(request, here, where)
    context = {**shared, "main": main, "form": TaskForm()}
    page = counts = lists = None
    if whole_list:
        view = read_task_page(request.user, where, PAGE_SIZE)
        page, counts, lists = view.page, view.counts, view.lists
        context["rows"] = _rows(page.object_list, shared)
    elif recount:
        clock = shared["clock"]
        tasks = _tasks(request).in_list(where.list_id).search(where.q)
        tasks = tasks.due_in(where.due, clock)
        lists = list(TaskList.objects.for_user(request.user).navigation(tasks, clock))
        counts = counts_of(lists) or tasks.counts()
        shown = counts[where.status]
        # Pagination needs only the count: no rows are read for it.
        page = Paginator(range(shown), PAGE_SIZE).get_page(where.number)
        # A search's page shows a new task once it is loaded again.
        first = page.number == 1 and not (where.q or where.due)
        if added is not None and first and _shows(where, added):
            if shown == 1:  # the list said it was empty
                context["replace_list"] = True
                context["rows"] = _row(added, shared)
            else:
                context["new_row"] = _row(added, shared)
        elif shown == 0:  # the last row left: the list says it is empty
            context["replace_list"] = True
            context["rows"] = _rows([], shared)
    if task is not None and (editing or _shows(where, task)):
        context["row"] = _row(task, shared, editing)
    context.update(page=page, counts=counts, **_navigation(lists or [], where))
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
    form = TaskForm(request.POST or None, initial={"list": request.GET.get("list")})
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        list_id = values.pop("list")
        try:
            task = _tasks(request).create(**values, list_id=list_id)
        except TaskList.DoesNotExist:
            raise Http404("No such list.") from None
        messages.success(request, f"Added “{task.title}”.")
        return _done(request, main="add_form", added=task)
    if request.method == "POST" and _in_place(request):
        # The list's add form again, with the errors and the text as typed.
        here, where = _list_at(request)
        context = {**_shared(request, here, where), "form": form}
        return render(request, "tasks/task_list.html#add_form", context)
    return render(
        request, "tasks/task_form.html", {"form": form, "next": _next(request)}
    )


def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # Ownership first, method second: for another user's id, any method is a
    # 404, so the answer never reveals that the id exists.
    task = get_object_or_404(_tasks(request).select_related("list"), pk=pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    repeats = recurrence.describe(task.recurrence) if task.recurrence else ""
    return render(request, "tasks/task_detail.html", {"task": task, "repeats": repeats})


@require_http_methods(["GET", "POST"])
def task_update(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "GET":
        task = get_object_or_404(_tasks(request), pk=pk)
        form = TaskEditForm.for_task(task, lists=_lists(request))
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
        list_id = values.pop("list")
        if list_id is not None:
            values["list_id"] = list_id
        if _tasks(request).update_fields_if_unchanged(pk, version, **values):
            messages.success(request, f"Saved “{values['title']}”.")
            return redirect(_next_url(request))
    task = get_object_or_404(_tasks(request), pk=pk)
    lists = _lists(request)
    if form.is_valid() and form.cleaned_data["list"] not in (None, *_ids(lists)):
        raise Http404("No such list.")  # not the user's: nothing was saved
    conflict = form.is_valid()  # valid, yet not saved: someone changed it first
    if conflict:
        # Keep what the user typed, but let the next save go through on purpose.
        data = request.POST.copy()
        data["version"] = task.updated_at.isoformat()
        form = TaskEditForm(data, lists=lists)
        form.add_error(
            None,
            "This task was changed somewhere else after you opened it, and "
            "nothing was overwritten. The saved version is shown above: save "
            "again to replace it with your changes, or discard them.",
        )
    else:
        form = TaskEditForm(request.POST, lists=lists)
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
    text = f"{done} “{task.title}”."
    following = getattr(task, "next_task", None)  # a repeating task's
    if following is not None:
        clock = Clock.in_zone(zone_of(request.user))
        when = dates.due_label(following.due_date, following.due_time, clock)
        text += f" The next one is due {when.text}."
    messages.success(request, text)
    return _done(request, task=task, added=following)


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
    _shown(request).toggle_all()
    messages.success(request, "Updated all tasks.")
    return _done(request, main="task_items", whole_list=True)


@require_POST
def task_clear_completed(request: HttpRequest) -> HttpResponse:
    trashed = _shown(request).clear_completed()
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
    trashed = Task.objects.trash_for(request.user).filter(pk__in=ids)
    if name := request.POST.get("list_name"):
        # Undoing a list's deletion: the tasks go back into a list of that
        # name (made again, unless the user already has one).
        list_id = _list_named(request, name)
        restored = trashed.restore(list_id=list_id) if list_id else []
    else:
        restored = trashed.restore()
    if restored:
        messages.success(request, f"Restored {names(restored)}.")
    else:
        messages.info(request, "Nothing to restore: those tasks are not in the trash.")
    return _done(request, main="task_items", whole_list=True)


def _list_named(request: HttpRequest, name: str) -> int | None:
    form = TaskListForm({"name": name})
    if not form.is_valid():
        return None
    lists = TaskList.objects.for_user(request.user)
    name = form.cleaned_data["name"]
    created = lists.create_unless_taken(name)
    if created is not None:
        return created.pk
    taken = lists.alias(folded=Lower("name")).filter(folded=Lower(Value(name)))
    return taken.values_list("pk", flat=True).first()


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
        request, f"Moved {names(trashed)} to the trash.", extra_tags=_undo_tags(trashed)
    )


def _undo_tags(trashed, list_name: str | None = None) -> str:
    """The message tags of an Undo: the tasks' ids, and the name of the list
    they were in when it was deleted too (quoted: tags are split on spaces)."""
    tags = UNDO_TAG + ",".join(str(task.pk) for task in trashed)
    if list_name is not None:
        tags += f" {UNDO_LIST_TAG}{quote(list_name, safe='')}"
    return tags


# --- Lists ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def lists(request: HttpRequest) -> HttpResponse:
    """The user's lists: create one (POST ``name``), or rename one (POST
    ``list`` and ``name``)."""
    mine = TaskList.objects.for_user(request.user)
    renaming = list_id(request.POST.get("list")) if request.method == "POST" else None
    form = TaskListForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        name = form.cleaned_data["name"]
        if renaming is None:
            task_list = mine.create_unless_taken(name)
            if task_list is not None:
                messages.success(request, f"Created the list “{name}”.")
                return redirect(task_list.get_absolute_url())
        else:
            with suppress(NameTaken):
                if mine.rename(renaming, name) is None:
                    raise Http404("No such list.")
                messages.success(request, f"Renamed the list to “{name}”.")
                return redirect(_next_url(request, default="lists:index"))
        form.add_error("name", "You already have a list with this name.")
    return render(
        request,
        "tasks/lists.html",
        {
            "lists": mine.with_active_counts(),
            # The form with errors is shown where it was sent from: the new
            # list's field, or the renamed list's row.
            "form": form if renaming is None else TaskListForm(),
            "rename_form": form if renaming is not None else None,
            "renaming": renaming,
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST moves the list's tasks to the trash, with an
    Undo that brings them back into a list of the same name, and deletes it.
    The Inbox stays."""
    if pk > MAX_ID:
        raise Http404("No such list.")
    if request.method == "GET":
        task_list = get_object_or_404(
            TaskList.objects.for_user(request.user).with_active_counts(), pk=pk
        )
        return render(request, "tasks/list_confirm_delete.html", {"list": task_list})
    try:
        name, trashed = _tasks(request).delete_list(pk)
    except IntegrityError:
        messages.error(
            request, "A task was just added to that list, so nothing was deleted."
        )
        return redirect("lists:index")
    if name is None:
        raise Http404("No such list, or the Inbox.")
    text = f"Deleted the list “{name}”"
    if trashed:
        count = len(trashed)
        messages.success(
            request,
            f"{text} and moved its {count} {pluralize_task(count)} to the trash.",
            extra_tags=_undo_tags(trashed, name),
        )
    else:
        messages.success(request, f"{text}.")
    return redirect("tasks:list")
