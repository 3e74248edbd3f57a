"""The bench's database configurations, picked by ``BENCH_CONFIG``.

``chosen`` is the project's settings unchanged; ``naive`` opens a new
connection per request (plain engine, no pool, ``CONN_MAX_AGE = 0``, database
sessions: Django's defaults); ``persistent`` keeps one connection per thread
(``CONN_MAX_AGE = 600``) with ``CONN_HEALTH_CHECKS``. Static files, which no
measured request serves, are collected into the bench's scratch folder without
whitenoise's compression, whose Brotli pass takes longer than a quick run.
"""

import os

from bench import STATIC_ROOT as BENCH_STATIC_ROOT
from todoproject.settings import *  # noqa: F403

STATIC_ROOT = BENCH_STATIC_ROOT
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    },
}

CONFIG = os.environ.get("BENCH_CONFIG", "chosen")
if CONFIG in ("naive", "persistent"):
    _default = DATABASES["default"]  # noqa: F405
    DATABASES = {
        "default": {
            **_default,
            "ENGINE": "django.db.backends.postgresql",
            "OPTIONS": {k: v for k, v in _default["OPTIONS"].items() if k != "pool"},
            "CONN_MAX_AGE": 600 if CONFIG == "persistent" else 0,
            "CONN_HEALTH_CHECKS": CONFIG == "persistent",
        }
    }
if CONFIG == "naive":
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Pool growth and shrinking, and each request, with the worker's pid, in the log.
_log = LOGGING  # noqa: F405
_log["formatters"]["pid"] = {"format": "%(process)d %(asctime)s %(message)s"}
_log["handlers"]["pool"] = {"class": "logging.StreamHandler", "formatter": "pid"}
_log["filters"]["pool"] = {"()": lambda: lambda r: "ing pool" in str(r.msg)}
_log["loggers"]["psycopg.pool"] = {"handlers": ["pool"], "filters": ["pool"]}
_log["loggers"]["psycopg.pool"] |= {"level": "INFO", "propagate": False}
_log["formatters"]["message"]["format"] = "%(process)d %(message)s"
