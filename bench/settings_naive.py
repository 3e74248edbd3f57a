"""The naive configuration: a new connection per request, sessions in the database.

What a Django project gets by default: no pool, ``CONN_MAX_AGE = 0`` (connect at
the first query, close when the response is done) and the database session
backend. Everything else is the chosen configuration's.
"""

from bench.settings_chosen import *  # noqa: F403

_options = {k: v for k, v in DATABASES["default"]["OPTIONS"].items() if k != "pool"}  # noqa: F405
DATABASES = {
    "default": {
        **DATABASES["default"],  # noqa: F405
        "ENGINE": "django.db.backends.postgresql",
        "OPTIONS": _options,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
