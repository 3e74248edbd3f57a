"""Reads from a read replica, without anyone missing their own change.

With ``DATABASE_URL_REPLICA`` set (settings.py), a Neon read replica serves
the reads of requests that cannot tell it from the primary. A replica is a
little behind the primary (its lag), so everything that could tell stays on
the primary (``default``):

- writes, and migrations (``allow_migrate`` refuses the replica alias);
- every read of a request that may write (any method but GET, HEAD, OPTIONS,
  TRACE): a form's checks, a login's password, an edit's version must not
  be a moment old;
- the reads of a browser that wrote in the last ``REPLICA_PIN_SECONDS``: a
  request that wrote, or any unsafe request that succeeded, answers with a
  signed cookie (``django.core.signing``, so its age is checked by whichever
  instance gets the next request, as long as they share ``SECRET_KEY``) that
  pins that browser's reads to the primary until the replica has surely
  caught up. The pin must outlast the replica's lag;
- every read after a write in the same request (the middleware watches the
  primary's statements), and every read inside a transaction;
- API calls with ``Authorization`` (a token): such clients rarely keep
  cookies, so nothing could pin them; the admin; and views decorated
  ``@reads_primary`` (a secret link that must stop working at once);
- anything outside a request (management commands, the shell).

A replica that cannot be reached costs no request: its database backend
(``base.py``) answers a failed connection or statement by marking the
replica down (``mark_down()``) and running the read again on a connection
borrowed from the primary's pool. While it is down the router sends reads to
the primary without trying it, and one thread per process tries to connect
every ``PROBE_SECONDS``; the first success brings the reads back. This state
is per process on purpose: it decides where a read is served, never what a
user sees.
"""

import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest
from django.urls import reverse

REPLICA = "replica"
PIN_COOKIE = "primary_pin"
_PIN_SALT = "todoproject.replica.pin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# How often a process tries a replica that went away.
PROBE_SECONDS = 2


# --- One request's state: may its reads go to the replica? --------------------


class _Request:
    __slots__ = ("primary", "wrote")

    def __init__(self, primary: bool) -> None:
        self.primary = primary  # decided before the view: see needs_primary()
        self.wrote = False  # a statement other than a SELECT ran on the primary

    def watch(self, execute, sql, params, many, context):
        if not self.wrote and sql.lstrip()[:6].upper() != "SELECT":
            self.wrote = True
        return execute(sql, params, many, context)


_request: ContextVar[_Request | None] = ContextVar("replica_request", default=None)


def needs_primary(request: HttpRequest, admin_prefix: str) -> bool:
    return (
        request.method not in SAFE_METHODS
        or "authorization" in request.headers
        or request.path.startswith(admin_prefix)
        or request.get_signed_cookie(
            PIN_COOKIE,
            default=None,
            salt=_PIN_SALT,
            max_age=settings.REPLICA_PIN_SECONDS,
        )
        is not None
    )


class ReplicaMiddleware:
    """Decides, per request, whether its reads may go to the replica, and
    pins the browser to the primary after a write. Placed before the session
    middleware, so the session's own writes count."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.admin_prefix = reverse("admin:index")

    def __call__(self, request: HttpRequest):
        state = _Request(needs_primary(request, self.admin_prefix))
        token = _request.set(state)
        try:
            with connections[DEFAULT_DB_ALIAS].execute_wrapper(state.watch):
                response = self.get_response(request)
        finally:
            _request.reset(token)
        wrote = state.wrote or (
            request.method not in SAFE_METHODS and response.status_code < 400
        )
        if wrote:
            response.set_signed_cookie(
                PIN_COOKIE,
                "",
                salt=_PIN_SALT,
                max_age=settings.REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


def reads_primary(view):
    """Serve this view's reads from the primary: for lookups whose answer
    must change the moment a write does (a secret address replaced)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        state = _request.get()
        if state is not None:
            state.primary = True
        return view(request, *args, **kwargs)

    return wrapped


# --- The router -------------------------------------------------------------------


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        state = _request.get()
        if (
            state is None
            or state.primary
            or state.wrote
            or _down.is_set()
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # The replica holds the primary's rows: an object read from one may
        # point at one read from the other.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, **hints) -> bool | None:
        # None, not True, for the others: `direct` (the primary's direct
        # endpoint) is where `manage.py migrate` runs when it is set.
        return False if db == REPLICA else None


# --- Is the replica there? ------------------------------------------------------------

_down = threading.Event()
_down_lock = threading.Lock()


def is_down() -> bool:
    return _down.is_set()


def mark_down(connect: Callable[[], object]) -> None:
    """Send reads to the primary until ``connect()`` (a new connection to the
    replica, closed again at once) succeeds; it is tried in a thread of its
    own every ``PROBE_SECONDS``, so no request waits for it."""
    with _down_lock:
        if _down.is_set():
            return
        _down.set()
    threading.Thread(
        target=_probe, args=(connect,), name="replica-probe", daemon=True
    ).start()


def _probe(connect) -> None:
    while True:
        time.sleep(PROBE_SECONDS)
        try:
            connect().close()
        except Exception:  # noqa: S112 - any failure means: not yet
            continue
        _down.clear()
        return


def status() -> str:
    """``connected`` or ``unreachable``, for ``/health/db``: a ``SELECT 1``
    on the replica itself (never the primary in its place)."""
    if _down.is_set():
        return "unreachable"
    return "connected" if connections[REPLICA].ping() else "unreachable"
