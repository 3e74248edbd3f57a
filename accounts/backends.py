"""The model backend, taught to reuse the user loaded with the session."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import backends

_session_user = ContextVar("session_user", default=None)


@contextmanager
def session_user(user):
    """Offer ``user`` (already loaded with the session) to ``get_user()``."""
    token = _session_user.set(user)
    try:
        yield
    finally:
        _session_user.reset(token)


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id):
        user = _session_user.get()
        if user is not None and user.pk == user_id:
            return user if self.user_can_authenticate(user) else None
        return super().get_user(user_id)
