"""What this project knows about running Django on Neon.

Neon is PostgreSQL behind a proxy: TLS is required, the ``-pooler`` endpoint is
PgBouncer in transaction mode, and an idle compute suspends after five minutes,
closing every connection. ``database()`` turns a URL into a ``DATABASES`` entry
that is correct under all of that; ``base.py`` is the database backend that
notices a dropped connection without spending a round trip; ``checks.py``
catches the classic misconfigurations at start-up.
"""

from urllib.parse import urlsplit

POSTGRES_ENGINE = "todoproject.neon"
# Neon's backend with a fallback on the primary (DATABASE_URL_REPLICA).
REPLICA_ENGINE = "todoproject.replica"

# Connections idle for longer than this are closed by the pool. Neon suspends a
# compute after 300 s of inactivity, which kills them anyway; giving them up
# first means a request never picks a connection that is about to be cut.
POOL_MAX_IDLE = 240


def is_postgres(config: dict) -> bool:
    return config["ENGINE"] in (POSTGRES_ENGINE, REPLICA_ENGINE)


def is_pooler_host(host: str) -> bool:
    # Neon names its PgBouncer endpoints ep-name-123-pooler.region.aws.neon.tech.
    return "-pooler" in (host or "").split(".", 1)[0]


def is_local_host(host: str) -> bool:
    return host in {"", "localhost", "::1"} or host.startswith(("127.", "/"))


def database(
    config: dict,
    *,
    connect_timeout: int,
    pool_size: int,
    pool_timeout: float,
) -> dict:
    """Complete a parsed database URL into a ``DATABASES`` entry.

    ``config`` comes from ``dj_database_url.parse``; query-string parameters of
    the URL (``sslmode``, ``channel_binding``, ``connect_timeout``) are already
    in its ``OPTIONS`` and win over the defaults given here.
    """
    config = {**config, "OPTIONS": dict(config.get("OPTIONS") or {})}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers proceed while a request writes; IMMEDIATE takes the
        # write lock at BEGIN so concurrent writers queue instead of failing.
        config["OPTIONS"].setdefault(
            "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        )
        config["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
        return config
    if config["ENGINE"] != "django.db.backends.postgresql":
        return config

    options = config["OPTIONS"]
    options["connect_timeout"] = int(options.get("connect_timeout", connect_timeout))
    options.setdefault("application_name", "todo")
    options["pool"] = {
        "min_size": 0,
        "max_size": pool_size,
        "timeout": pool_timeout,
        "max_idle": POOL_MAX_IDLE,
        # While the database is away the pool retries with a growing backoff;
        # giving up after this long means the first request after an outage
        # starts a fresh attempt instead of waiting out a long backoff.
        "reconnect_timeout": pool_timeout,
    }
    config.update(
        ENGINE=POSTGRES_ENGINE,
        # The pool replaces persistent connections; Django refuses both at once.
        CONN_MAX_AGE=0,
        # Server-side cursors (used by .iterator()) live across transactions,
        # which PgBouncer in transaction mode cannot keep on one server.
        DISABLE_SERVER_SIDE_CURSORS=True,
    )
    return config


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""
