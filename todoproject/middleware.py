import json
import logging
import time
import uuid

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.functional import SimpleLazyObject, empty

request_logger = logging.getLogger("todo.request")


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

    Paths are logged without their query string, and nothing from the body or
    headers, so passwords, tokens and task text never reach the logs.
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

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            response = self.get_response(request)
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
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "queries": queries,
                    "user_id": user.pk if user and user.is_authenticated else None,
                }
            )
        )
        response["X-Request-ID"] = request.id
        return response
