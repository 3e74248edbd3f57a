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
