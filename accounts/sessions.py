"""A session store whose row carries the user id, loaded with the user."""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.utils import timezone

from todoproject.neon.pipeline import fetch_together


class SessionStore(db.SessionStore):
    user = None
    _fetched = None  # the row load_with() brought, for the next load

    def _validate_session_key(self, key):
        # Keys are made of Django's alphabet (32 lowercase letters and
        # digits); any other cookie value, a NUL that PostgreSQL refuses
        # included, is no session, without a query.
        return (
            super()._validate_session_key(key)
            and len(key) <= 40
            and set(key) <= set(VALID_KEY_CHARS)
        )

    @classmethod
    def get_model_class(cls):
        from .models import UserSession

        return UserSession

    def _rows(self):
        return self.model.objects.filter(
            session_key=self.session_key, expire_date__gt=timezone.now()
        )

    def user_ids(self):
        """A subquery for the id of the user this session signs in, if any."""
        return self._rows().values("user_id")

    def _get_session_from_db(self):
        rows, self._fetched = self._fetched, None
        if rows is None:
            session = super()._get_session_from_db()
        elif rows:
            session = rows[0]
        else:
            session = None
            self._session_key = None  # as Django does for an unknown key
        self.user = session.user if session else None
        return session

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = data.get(SESSION_KEY)
        return session

    def loaded_user(self):
        """The user whose id the session row carries (loading it if needed)."""
        self._get_session()
        return self.user

    def load_with(self, *querysets) -> list[list] | None:
        """Load the session, and evaluate ``querysets`` in the same round trip.

        For reads that only depend on the session key (``for_session()``
        querysets): returns their rows, or ``None`` without running them when
        the request has no session to load. Their rows belong to whoever the
        session row names; use them only once ``request.user`` has checked
        the session and agrees.
        """
        if self.session_key is None:
            return None
        if hasattr(self, "_session_cache"):
            return [list(queryset) for queryset in querysets]
        # The session's query last: it is the simplest to compile twice.
        *results, self._fetched = fetch_together(*querysets, self._rows())
        self._get_session()
        return results
