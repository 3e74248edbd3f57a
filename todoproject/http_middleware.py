"""Rules for every response the app itself makes (WhiteNoise answers for
static files before these run, with its own caching headers)."""

from functools import wraps

from django.utils.cache import patch_cache_control, patch_vary_headers


def own_cache_control(view):
    """Mark ``view``'s responses as carrying their own ``Cache-Control``,
    which ``NoStoreMiddleware`` then leaves alone.

    For the calendar feed only (the contract's one exception): a calendar app
    polls it, and its ETag and ``private, max-age`` spare both sides work.
    An error it raises (a 404) is answered by the handlers, unmarked: no-store.
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.own_cache_control = True
        return response

    return wrapped


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response, and on the API's also
    ``Vary: Authorization, Cookie``.

    Pages, exports and the API show a user's data, so neither the browser nor
    a proxy may keep a copy; what shows none (a login page, /health/db, an
    error page) is cheap and not worth caching either, so the rule has no
    exceptions to get wrong but one: a view decorated ``@own_cache_control``
    (the calendar feed). The API answers differently per token or session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(response, "own_cache_control", False):
            patch_cache_control(response, no_store=True)
        if request.path.startswith("/api/"):
            patch_vary_headers(response, ("Authorization", "Cookie"))
        return response


class HeadAsGetMiddleware:
    """Answer HEAD wherever GET is answered, as GET is, without the body.

    Views list the methods they take (``require_GET``,
    ``require_http_methods``, django-ninja's operations), and most leave HEAD
    out, which made it a 405. A GET never changes data, so the view runs as
    for GET; the body is dropped here and GET's headers (its Content-Length
    too) are kept.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "HEAD":
            return self.get_response(request)
        request.method = "GET"
        try:
            response = self.get_response(request)
        finally:
            request.method = "HEAD"  # for the request log, and the server
        if response.streaming:
            response.streaming_content = []
        else:
            response.content = b""
        return response
