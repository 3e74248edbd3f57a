"""Persistent connections with health checks: Django's built-in alternative to a pool.

Each thread keeps its connection for ``CONN_MAX_AGE`` seconds and, with
``CONN_HEALTH_CHECKS``, runs a ``SELECT 1`` at the start of every request that
reuses it. Plain PostgreSQL engine, no pool; sessions as the project has them.
"""

from bench.settings_chosen import *  # noqa: F403

DATABASES = without_pool(conn_max_age=600, health_checks=True)  # noqa: F405
