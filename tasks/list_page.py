"""The task list page in one round trip: its queries travel with the session's.

A signed-in request learns who it is from its session row (one query, which
brings the user along: ``accounts.auth``), and only then can it ask for that
user's tasks: two round trips to Neon, one waiting for the other. The page's
query need not wait, though: the database can find the user id from the
session key itself. So the list page sends its queries (the rows, and the
navigation of lists with the counters) together with the session's, in
psycopg's pipeline mode, and waits once.

Django then checks the session exactly as on any other page (expiry, the
backend, the auth hash), and the rows read ahead are used only if they belong
to the user it authenticated; otherwise they are read again through
``for_user(request.user)``. Where the database cannot pipeline
(SQLite, which has no network anyway) the queries run one after the other.

Everything the device needs is here: the decorator that lets the view be
reached before the session is loaded, the read, and the pipeline. Its gain,
measured with ``bench/``, is in the README's design notes.
"""

from dataclasses import dataclass
from functools import wraps
from itertools import chain
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page
from django.db import connections
from django.db.models import Subquery
from django.http import Http404, HttpRequest

from . import dates
from .dates import Clock, zone_of
from .managers import counts_of
from .models import Task, TaskList

# What a row shows, its version (``updated_at``, which the inline edit sends
# back), and its owner, which is checked: descriptions (up to 2,000
# characters each) would cross the network for nothing; a row learns whether
# its task has one from a boolean annotation (``flagging_descriptions()``).
ROW_FIELDS = (
    "title",
    "completed",
    "updated_at",
    "user",
    "list",
    "due_date",
    "due_time",
    "recurrence",
)

# The zone the read-ahead takes "today" in, before the user is known: the
# one the list page last answered in (``remember_zone()``). A different
# zone only costs reading the page again once the user is known.
ZONE_COOKIE = "tz"


class _NotSignedIn(Exception):
    pass


def login_required_reading_ahead(view):
    """``login_required`` for a view whose first read is ``task_page()``.

    ``LoginRequiredMiddleware`` would load the session before the view runs,
    a round trip of its own; this check comes once ``task_page()`` has loaded
    it together with the page, and answers as the middleware would have.
    """

    @login_not_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except _NotSignedIn:
            response = None
        # Free once the session is loaded; and no page ever reaches someone
        # signed out, even from a view that forgot to call task_page().
        if response is None or not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return response

    return wrapped


@dataclass
class TaskPage:
    """What a task list page shows: a page of rows, the counters of the
    filter it shows, and the navigation (the user's lists, with counts)."""

    page: Page
    counts: dict[str, int]
    lists: list
    clock: Clock


def task_page(request: HttpRequest, where, per_page: int) -> TaskPage:
    """The page of the user's tasks that ``where`` names (``status``,
    ``list_id`` or None for all lists, ``q``, page ``number``), with the
    counters and the navigation; a 404 for a list that is not the user's.

    Only for views under ``@login_required_reading_ahead``, which answers a
    request with no user.
    """
    session = request.session
    ahead = None
    if session.session_key is not None and hasattr(session, "load_from"):
        clock = Clock.in_zone(_zone_named(request.COOKIES.get(ZONE_COOKIE)))
        rows, lists = _queries(_SessionOwner(session), where, per_page, clock)
        lists, rows, session_rows = _fetch_together(
            lists, rows, session.loading_query()
        )
        session.load_from(session_rows)
        ahead = rows, lists, clock
    if not request.user.is_authenticated:
        raise _NotSignedIn
    user = request.user
    if (
        ahead is None
        or ahead[2].zone != zone_of(user)
        or any(row.user_id != user.pk for row in chain(*ahead[:2]))
    ):
        return read_task_page(user, where, per_page)
    return _assemble(user, *ahead, where, per_page)


def read_task_page(user, where, per_page: int) -> TaskPage:
    """``task_page()`` for a known user, the ordinary way (two queries)."""
    clock = Clock.in_zone(zone_of(user))
    rows, lists = _queries(user, where, per_page, clock)
    return _assemble(user, list(rows), list(lists), clock, where, per_page)


def remember_zone(response, request, view: TaskPage) -> None:
    """Have the next list page read ahead in the zone this one was in."""
    if request.COOKIES.get(ZONE_COOKIE) != view.clock.zone.key:
        response.set_cookie(
            ZONE_COOKIE, view.clock.zone.key, max_age=365 * 24 * 3600, samesite="Lax"
        )


def _zone_named(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else dates.UTC
    except (ZoneInfoNotFoundError, ValueError):  # any cookie at all
        return dates.UTC


def _tasks(owner, where, clock):
    tasks = Task.objects.for_user(owner).in_list(where.list_id).search(where.q)
    return tasks.due_in(where.due, clock).only(*ROW_FIELDS)


def _queries(owner, where, per_page: int, clock):
    tasks = _tasks(owner, where, clock)
    lists = TaskList.objects.for_user(owner).navigation(tasks, clock)
    return tasks.page_rows(where.status, where.number, per_page), lists


def _assemble(user, rows, lists, clock, where, per_page: int) -> TaskPage:
    if where.list_id is not None and where.list_id not in {x.pk for x in lists}:
        raise Http404("No such list.")
    tasks = _tasks(user, where, clock)
    counts = counts_of(lists) or tasks.counts()  # a user with no Inbox yet
    page = tasks.page_from(rows, counts, where.status, where.number, per_page)
    return TaskPage(page, counts, lists, clock)


class _SessionOwner:
    """Whoever ``session`` signs in, as the database will find them.

    Given to ``for_user()`` in place of a user, so the page's query names the
    user by a subquery on the session key and need not wait for the session.
    Its rows are read only, and used only once ``request.user`` is known to
    be their owner (above); a write through it fails, as it is no user.
    """

    is_authenticated = True

    def __init__(self, session):
        self.pk = Subquery(session.loading_query().values("user_id"))


def _fetch_together(*querysets) -> list[list]:
    """Evaluate ``querysets`` (reads) in one round trip; return their rows.

    The ORM evaluates them one by one as usual; at the first statement, the
    SQL of all the others goes out with it, and each of theirs is then
    answered from what already came back. Each queryset is compiled twice
    but the first, so the most complex one should lead.
    """
    connection = connections[querysets[0].db]
    if not hasattr(connection, "send_together"):
        return [list(queryset) for queryset in querysets]

    answers = {}
    rest = list(_compiled(querysets[1:], connection))

    def send_with_the_rest(execute, sql, params, many, context):
        key = (sql, tuple(params or ()))
        if not answers:
            statements = dict.fromkeys([key, *rest])
            cursors = connection.send_together(list(statements))
            answers.update(zip(statements, cursors, strict=True))
        answer = answers.pop(key, None)
        if answer is None:
            return execute(sql, params, many, context)
        context["cursor"].cursor.close()
        context["cursor"].cursor = answer
        return None

    with connection.execute_wrapper(send_with_the_rest):
        return [list(queryset) for queryset in querysets]


def _compiled(querysets, connection):
    for queryset in querysets:
        try:
            sql, params = queryset.query.get_compiler(connection=connection).as_sql()
        except EmptyResultSet:
            continue  # the ORM answers these without asking the database
        yield sql, tuple(params)
