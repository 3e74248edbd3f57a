"""The task list page in one round trip: its rows travel with the session's.

A signed-in request learns who it is from its session row (one query, which
brings the user along: ``accounts.auth``), and only then can it ask for that
user's tasks: two round trips to Neon, one waiting for the other. The page's
query need not wait, though: the database can find the user id from the
session key itself. So the list page sends both queries together, in
psycopg's pipeline mode, and waits once.

Django then checks the session exactly as on any other page (expiry, the
backend, the auth hash), and the rows read ahead are used only if they belong
to the user it authenticated; otherwise they are read again through
``Task.objects.for_user(request.user)``. Where the database cannot pipeline
(SQLite, which has no network anyway) the queries run one after the other.

Everything the device needs is here: the decorator that lets the view be
reached before the session is loaded, the read, and the pipeline. Its gain,
measured with ``bench/``, is in the README's design notes.
"""

from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Subquery
from django.http import HttpRequest

from .models import Task

# What a row shows, its version (``updated_at``, which the inline edit sends
# back), and its owner, which is checked: descriptions (up to 2,000
# characters each) would cross the network for nothing; a row learns whether
# its task has one from a boolean annotation (``page_rows()``).
ROW_FIELDS = ("title", "completed", "updated_at", "user")


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


def task_page(request: HttpRequest, status: str, number: int, per_page: int):
    """Page ``number`` of the user's tasks with ``status``, and the counters.

    Returns ``(page, counts)``; only for views under
    ``@login_required_reading_ahead``, which answers a request with no user.
    """
    session = request.session
    ahead = None
    if session.session_key is not None and hasattr(session, "load_from"):
        rows = (
            Task.objects.for_user(_SessionOwner(session))
            .only(*ROW_FIELDS)
            .page_rows(status, number, per_page)
        )
        ahead, session_rows = _fetch_together(rows, session.loading_query())
        session.load_from(session_rows)
    if not request.user.is_authenticated:
        raise _NotSignedIn
    tasks = Task.objects.for_user(request.user).only(*ROW_FIELDS)
    if ahead is None or any(row.user_id != request.user.pk for row in ahead):
        return tasks.page_with_counts(status, number, per_page)
    return tasks.page_from(ahead, status, number, per_page)


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
