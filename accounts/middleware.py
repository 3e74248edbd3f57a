from functools import partial

from django.contrib import auth
from django.contrib.auth import middleware as auth_middleware
from django.utils.functional import SimpleLazyObject

from .backends import session_user


def get_user(request):
    """Django's ``auth.get_user``, fed the user that came with the session row.

    Django still checks the session's auth hash and the backend, so password
    changes and logouts invalidate sessions exactly as before; only the
    second query (fetching the user by id) is saved.
    """
    loaded_user = getattr(request.session, "loaded_user", None)
    if loaded_user is None:
        return auth.get_user(request)
    with session_user(loaded_user()):
        return auth.get_user(request)


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's, asking the view before the user.

    Django's checks ``request.user`` first, which loads the session even for
    public views: a query for every API call (whose auth is the token) and
    every health check that happens to carry a session cookie.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(partial(get_user, request))
