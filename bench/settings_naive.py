"""The naive configuration: a new connection per request, sessions in the database.

What a Django project gets by default: no pool, ``CONN_MAX_AGE = 0`` (connect at
the first query, close when the response is done) and the database session
backend. Everything else is the chosen configuration's.
"""

from bench.settings_chosen import *  # noqa: F403

DATABASES = without_pool(conn_max_age=0, health_checks=False)  # noqa: F405
SESSION_ENGINE = "django.contrib.sessions.backends.db"
