"""Who a request is, and what finding out costs.

A page request carries a session cookie. Django's stock path spends two
queries on it, one after the other: the session row, then the user it names.
On Neon each is a network round trip, so here the session row is stored with
its user's id (``UserSession.user``) and loaded with the user joined in:

- a signed-in page request: **one query** (session and user), made the first
  time ``request.user`` is asked for; Django's own checks then run on that
  user unchanged (the backend, ``is_active``, the session's auth hash), so
  password changes and logouts invalidate sessions exactly as before;
- the task list page: that query and the page's own, sent together, in
  **one round trip** (``tasks.list_page``);
- a view that needs no login (the API, the health check): **no query** for
  the session, even when the browser sends its cookie;
- an API call with ``Authorization: Bearer <token>``: **one query** (token and
  user), plus an ``UPDATE`` of the token's last use at most once a minute.

The user's time zone (``accounts.Profile``) comes joined to both queries, so
it is activated (``django.utils.timezone.activate``) the moment the user is
known, at no query: when the lazy ``request.user`` is first resolved, or a
token is accepted. Nothing loads the session earlier for it, so the task
list's one round trip stands. ``AuthenticationMiddleware`` deactivates it
when the request ends (a thread serves many users).

Everything that takes part lives in this module: the session store, the
authentication backend, the two middleware and the API's two authenticators.
"""

import string
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import SESSION_KEY, backends
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.backends import db
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer

from .models import AccessToken, profile_of

# --- The session: its row brings the user along ---------------------------------

# The characters of the keys Django makes (get_random_string's default set).
SESSION_KEY_CHARS = frozenset(string.ascii_lowercase + string.digits)


class SessionStore(db.SessionStore):
    """Django's database session, whose row carries the user id (one query)."""

    user = None  # the user the loaded row names, if any
    _fetched = None  # loading_query()'s rows, when read ahead by the caller

    @classmethod
    def get_model_class(cls):
        from .models import UserSession

        return UserSession

    def _validate_session_key(self, key):
        # Anything else (a NUL, which PostgreSQL refuses outright, or more
        # than the column holds) cannot be a session this store made: it
        # reads as no session, with no query.
        return (
            super()._validate_session_key(key)
            and len(key) <= 40
            and set(key) <= SESSION_KEY_CHARS
        )

    def loading_query(self):
        """The query that loads this session, its user joined in."""
        return self.model.objects.select_related("user", "user__profile").filter(
            session_key=self.session_key, expire_date__gt=timezone.now()
        )

    def load_from(self, rows) -> None:
        """Load the session from ``loading_query()``'s rows, fetched already.

        For a caller that sent that query together with its own
        (``tasks.list_page``); Django's checks of the session then run as
        they would after a load of its own.
        """
        self._fetched = rows
        self._get_session()

    def _get_session_from_db(self):
        rows, self._fetched = self._fetched, None
        if rows is None:
            session = self.loading_query().first()
        else:
            session = rows[0] if rows else None
        if session is None:
            self._session_key = None  # as Django does for an unknown key
        self.user = session.user if session else None
        return session

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = data.get(SESSION_KEY)
        return session


# --- The user: Django's checks, on the user that came with the session ----------

_session_user = ContextVar("session_user", default=None)


@contextmanager
def _offering(user):
    token = _session_user.set(user)
    try:
        yield
    finally:
        _session_user.reset(token)


class ModelBackend(backends.ModelBackend):
    """Django's, taking the user loaded with the session instead of a query."""

    def get_user(self, user_id):
        user = _session_user.get()
        if user is not None and user.pk == user_id:
            return user if self.user_can_authenticate(user) else None
        # Not loaded with the session (another session engine): the profile
        # comes along all the same, for the time zone.
        users = auth.get_user_model()._default_manager.select_related("profile")
        user = users.filter(pk=user_id).first()
        return user if user and self.user_can_authenticate(user) else None


def activate_time_zone(user) -> None:
    """Show every time in ``user``'s zone from now on in this request (UTC
    for a user without a profile). No query: the profile came with the user."""
    if user.is_authenticated:
        timezone.activate(profile_of(user).zone)


def get_user(request: HttpRequest):
    """Django's ``auth.get_user``, offered the user loaded with the session."""
    session = request.session
    session.get(SESSION_KEY)  # loads the row, and its user with it
    with _offering(getattr(session, "user", None)):
        user = auth.get_user(request)
    activate_time_zone(user)
    return user


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    def __call__(self, request):
        # The zone is activated per thread; a request starts, and leaves the
        # thread, with none (the default, UTC) whoever came before.
        timezone.deactivate()
        try:
            return super().__call__(request)
        finally:
            timezone.deactivate()

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(partial(get_user, request))


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's, asking the view before the user.

    Django's checks ``request.user`` first, which loads the session even for
    views that need no login: a query for every API call (whose auth is the
    token) and every health check that happens to carry a session cookie.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(self, request, view_func):
        response = self._login_redirect(request, view_func)
        if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
            # An in-place request (a row's toggle) would swap the login page
            # into the row; htmx navigates the whole page instead.
            redirect = HttpResponse(status=204)
            redirect["HX-Redirect"] = response["Location"]
            return redirect
        return response

    def _login_redirect(self, request, view_func):
        # A form sent after the session ended (logged out in another tab)
        # cannot be sent again by a redirect: the place to come back to after
        # logging in is the page it was sent from, which the app's forms
        # carry as "next", not the address it was sent to.
        if request.method not in ("GET", "HEAD"):
            back = request.POST.get("next", "")
            if back.startswith("/") and url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}
            ):
                return redirect_to_login(
                    back,
                    resolve_url(self.get_login_url(view_func)),
                    self.get_redirect_field_name(view_func),
                )
        return super().handle_no_permission(request, view_func)


# --- The API: a personal access token, or the browser's session ----------------


class InvalidToken(AuthenticationError):
    def __init__(self) -> None:
        super().__init__(message="Invalid or revoked token.")


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``, a personal access token.

    No CSRF check: a browser never sends this header on its own, so a request
    carrying it was written by its sender.
    """

    openapi_description = "A personal access token, created at /accounts/tokens/."

    def authenticate(self, request: HttpRequest, token: str):
        user = AccessToken.objects.authenticate(token)
        if user is None:
            # A token that was sent and is wrong is an error, not a cue to
            # fall back on the session cookie the same client may also hold.
            raise InvalidToken
        # So that code after the view (the request log) sees who it was.
        request.user = user
        activate_time_zone(user)
        return user


class SessionAuth(APIKeyCookie):
    """The browser's session; unsafe methods need the CSRF token, as on pages."""

    param_name = settings.SESSION_COOKIE_NAME
    openapi_description = (
        "The signed-in browser session; unsafe methods also need the CSRF "
        "token in the X-CSRFToken header."
    )

    def __call__(self, request: HttpRequest):
        # ninja's cookie auth checks CSRF before it looks at the user; an
        # anonymous client must get 401 ("log in"), not 403 ("bad token").
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None):
        return request.user
