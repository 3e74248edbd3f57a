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
# How long an idle keep-alive connection stays open. When it runs out,
# gunicorn closes the connection without a word, and a request sent on it at
# that moment gets no response at all. So it must outlast the idle timeout of
# whatever sits in front: a load balancer reuses its idle connections to the
# app (HAProxy's "timeout http-keep-alive", an AWS ALB's 60 s) and would
# answer that request with a 502. Clients straight at gunicorn pause between
# requests too: at gunicorn's default of 2 s, 50 users pausing about 2 s lost
# about 1 request in 90 to a closed connection (bench/results/scale-out.md).
# An idle connection costs a socket in the worker's poller, not a thread.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
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
