"""The chosen configuration: the project's own settings, unchanged.

Only static files differ, and no request the bench measures serves one: they
are collected into the bench's scratch folder instead of the project's, and
without whitenoise's compression, whose Brotli pass takes longer than a whole
quick run. Pages still name them through the manifest, as in production.
"""

from bench import STATIC_ROOT as BENCH_STATIC_ROOT
from todoproject.settings import *  # noqa: F403

STATIC_ROOT = BENCH_STATIC_ROOT
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    },
}


def without_pool(*, conn_max_age: int, health_checks: bool) -> dict:
    """The default database on Django's plain PostgreSQL engine, unpooled.

    For the configurations the chosen one is measured against.
    """
    default = DATABASES["default"]  # noqa: F405
    options = {k: v for k, v in default["OPTIONS"].items() if k != "pool"}
    return {
        "default": {
            **default,
            "ENGINE": "django.db.backends.postgresql",
            "OPTIONS": options,
            "CONN_MAX_AGE": conn_max_age,
            "CONN_HEALTH_CHECKS": health_checks,
        }
    }
