"""Persistent connections with health checks: Django's built-in alternative to a pool.

Each thread keeps its connection for ``CONN_MAX_AGE`` seconds and, with
``CONN_HEALTH_CHECKS``, runs a ``SELECT 1`` at the start of every request that
reuses it. Plain PostgreSQL engine, no pool; sessions as the project has them.
"""

from bench.settings_chosen import *  # noqa: F403

_options = {k: v for k, v in DATABASES["default"]["OPTIONS"].items() if k != "pool"}  # noqa: F405
DATABASES = {
    "default": {
        **DATABASES["default"],  # noqa: F405
        "ENGINE": "django.db.backends.postgresql",
        "OPTIONS": _options,
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }
}
