"""A session store whose row carries the user id, loaded with the user."""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db


class SessionStore(db.SessionStore):
    user = None

    @classmethod
    def get_model_class(cls):
        from .models import UserSession

        return UserSession

    def _get_session_from_db(self):
        session = super()._get_session_from_db()
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
