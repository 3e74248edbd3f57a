"""Gunicorn settings for the Procfile's web process.

Threads share each worker's connection pool, so a worker's DATABASE_POOL_SIZE
should be at least its thread count. The defaults suit a 2-core machine; on a
larger one, raise WEB_CONCURRENCY towards 2 x cores.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Neon cold starts can take a few seconds; don't kill a worker waiting on one.
timeout = 30
graceful_timeout = 20
accesslog = None  # The app logs each request itself, with more detail.


def on_starting(server):
    """Check the settings once, in the master, before any worker starts.

    A worker that cannot load them exits with status 1, which gunicorn answers
    by starting another one: a missing SECRET_KEY would become an endless loop
    of crashing workers. Checked here, it stops gunicorn at once, with the same
    one-line message (naming the variable) and a non-zero exit status.
    Workers are forked with the settings the master loaded, so under --reload
    an edit to the settings or .env takes a restart.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todoproject.settings")
    from todoproject.config import exit_on_bad_configuration

    exit_on_bad_configuration()
