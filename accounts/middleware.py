from functools import partial

from django.contrib import auth
from django.contrib.auth.middleware import (
    AuthenticationMiddleware as BaseAuthenticationMiddleware,
)
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


class AuthenticationMiddleware(BaseAuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(partial(get_user, request))
