import json
import logging
import re
import time
import uuid
from contextlib import ExitStack, contextmanager

from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.urls import Resolver404, resolve
from django.utils.functional import SimpleLazyObject, empty

request_logger = logging.getLogger("todo.request")

# URL parameters that carry a secret, by name: a password-reset link's user
# and token, an address-confirmation link's signed token, a calendar feed's
# token. A URL pattern that takes a secret names it one of these.
SECRET_URL_PARAMETERS = frozenset({"uidb64", "token"})
REDACTED = "…"
_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
# In a path that matches no URL pattern (a reset link with something pasted
# after it, say), a segment this long is more likely a token than a name.
_LONG_SEGMENT = re.compile(r"[^/]{32,}")


def loggable_path(request) -> str:
    """``request.path`` with every secret it carries replaced by "…".

    ``/accounts/reset/<uidb64>/<token>/`` is logged as ``/accounts/reset/…/…/``:
    a reset link stays valid for days, and logs are read by more people, and
    kept longer, than a mailbox.
    """
    match = getattr(request, "resolver_match", None)
    if match is None:  # answered before URL resolution, or no pattern matched
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return _LONG_SEGMENT.sub(REDACTED, request.path)
    if not SECRET_URL_PARAMETERS & match.kwargs.keys():
        return request.path

    def value(parameter: re.Match) -> str:
        name = parameter[1]
        return REDACTED if name in SECRET_URL_PARAMETERS else str(match.kwargs[name])

    script_name = request.path[: len(request.path) - len(request.path_info)]
    return f"{script_name}/{_PARAMETER.sub(value, match.route)}"


class RedactSecretPaths(logging.Filter):
    """Logs Django's own request lines ("Not Found: <path>", "Internal Server
    Error: <path>") with the path as the request log shows it, and without the
    request riding along on the record (a structured handler would write it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = record.__dict__.pop("request", None)
        path = getattr(request, "path", None)
        if path is not None and isinstance(record.args, tuple):
            safe = loggable_path(request)
            record.args = tuple(safe if arg == path else arg for arg in record.args)
        return True


def _request_id(header: str) -> str:
    """A proxy's request id if it looks like one, else a fresh one."""
    # ASCII only: str.isalnum() also passes letters and digits of any script.
    if (
        0 < len(header) <= 64
        and header.isascii()
        and all(c.isalnum() or c in "-_." for c in header)
    ):
        return header
    return uuid.uuid4().hex


class MethodNotAllowedPageMiddleware:
    """Give Django's bare 405 (from ``require_POST`` and friends) a body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.streaming:
            return response
        if request.path.startswith("/api/"):
            if response.get("Content-Type", "").startswith("application/json"):
                return response
            page = JsonResponse({"detail": "Method not allowed"}, status=405)
        elif response.content:
            return response
        else:
            page = HttpResponse(loader.render_to_string("405.html"), status=405)
        page["Allow"] = response.get("Allow", "")
        return page


class RequestLogMiddleware:
    """One structured line per request: what, who, how long, how many queries.

    Paths are logged without their query string and with the secrets some
    carry left out (``loggable_path``), and nothing from the body or headers
    is, so passwords, tokens and task text never reach the logs. A streamed
    response (an export) is logged once it has been sent: its rows are read
    while it streams, and those queries and that time are the request's too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = _request_id(request.headers.get("X-Request-ID", ""))
        queries = 0

        def count(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        def log():
            # Only report a user the request already loaded: asking now would
            # cost a query (or fail, when the database is away).
            user = getattr(request, "user", None)
            if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
                user = None
            request_logger.info(
                json.dumps(
                    {
                        "request_id": request.id,
                        "method": request.method,
                        "path": loggable_path(request),
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        "queries": queries,
                        "user_id": user.pk if user and user.is_authenticated else None,
                    }
                )
            )

        started = time.perf_counter()
        with _counting(count):
            response = self.get_response(request)
        if response.streaming and not response.is_async:
            response.streaming_content = _Streamed(
                response.streaming_content, count, log
            )
        else:
            log()
        response["X-Request-ID"] = request.id
        return response


class _Streamed:
    """A streamed response's content, its queries counted while it is read.
    The server closes a response once it is sent, or given up (PEP 3333), and
    Django passes that on to ``close()``: the moment to log it."""

    def __init__(self, content, count, log):
        self.content, self.count, self.log = content, count, log

    def __iter__(self):
        with _counting(self.count):
            yield from self.content

    def close(self):
        self.log()


@contextmanager
def _counting(count):
    """``count`` sees every query, on every database (a read replica's too)."""
    with ExitStack() as stack:
        for each in connections.all():
            stack.enter_context(each.execute_wrapper(count))
        yield
