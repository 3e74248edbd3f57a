"""Project-wide views: the database health check and the error pages.

The error pages render without a request context: the 500 and 503 pages are
shown when the database may be away, and the context processors (the logged-in
user, the messages) would reach for it.
"""

import sys
from http import HTTPStatus

from django.contrib.auth.decorators import login_not_required
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from todoproject import replica

DATABASE_AWAY = (OperationalError, InterfaceError)


@login_not_required
@never_cache
@require_GET
def health_db(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse(
            {"status": "unhealthy", "database": "unreachable"}, status=503
        )
    health = {"status": "healthy", "database": "connected"}
    if replica.REPLICA in connections:
        # Reads fall back on the primary, so a missing replica is news for
        # the operator, not a reason for a load balancer to drop this one.
        health["replica"] = replica.status()
    return JsonResponse(health)


FALLBACK_PAGE = (
    "<!doctype html><title>Todo</title><h1>{title}</h1>"
    "<p>Please try again in a moment.</p>"
)


def _page(template_name: str, status: int) -> HttpResponse:
    try:
        content = loader.render_to_string(template_name)
    except Exception:
        # An error page must not fail in turn (say, static files missing from
        # a release that skipped collectstatic): answer plainly instead.
        title = HTTPStatus(status).phrase
        content = FALLBACK_PAGE.format(title=title)
    return HttpResponse(content, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page("400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page("403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found"}, status=404)
    return _page("404.html", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this handler while the exception is being handled, so it can
    # tell a database outage (a 503 that recovers by itself) from a bug.
    if isinstance(sys.exc_info()[1], DATABASE_AWAY):
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"detail": "The database is unavailable; try again shortly."},
                status=503,
            )
        else:
            response = _page("503.html", 503)
        response["Retry-After"] = "5"
        return response
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error"}, status=500)
    return _page("500.html", 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "CSRF verification failed."}, status=403)
    return _page("403_csrf.html", 403)
