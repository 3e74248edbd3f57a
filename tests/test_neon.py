"""Neon readiness: configuration, system checks, migrations over the direct
URL, dropped connections and database outages, on real servers."""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tasks.models import Task
from todoproject import config, neon
from todoproject.neon.base import is_alive
from todoproject.neon.checks import database_errors

ROOT = Path(__file__).resolve().parent.parent
NEON_POOLED = "postgresql://u:pw@ep-cool-1-pooler.eu-central-1.aws.neon.tech/neondb"
NEON_DIRECT = "postgresql://u:pw@ep-cool-1.eu-central-1.aws.neon.tech/neondb"

requires_postgres = pytest.mark.skipif(
    not (settings.DATABASE_URL_TEST or "").startswith("postgres"),
    reason="needs DATABASE_URL_TEST pointing at PostgreSQL",
)


def build(url: str, **overrides) -> dict:
    entry = neon.database(
        config.database_url("DATABASE_URL", url),
        connect_timeout=10,
        pool_size=4,
        pool_timeout=10,
    )
    entry.update(overrides)
    return entry


def error_ids(databases: dict) -> set[str]:
    return {error.id for error in database_errors(databases)}


def run_manage(*args, env=None, timeout=60) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "DJANGO_", "DEBUG", "SECRET_KEY"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- Connection settings ---------------------------------------------------------


def test_pooled_url_becomes_a_pool_without_server_side_cursors():
    entry = build(NEON_POOLED + "?sslmode=require&channel_binding=require")
    assert entry["ENGINE"] == "todoproject.neon"
    assert entry["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert entry["CONN_MAX_AGE"] == 0
    assert entry["OPTIONS"]["sslmode"] == "require"
    assert entry["OPTIONS"]["channel_binding"] == "require"
    assert entry["OPTIONS"]["connect_timeout"] == 10
    assert entry["OPTIONS"]["pool"]["max_size"] == 4
    assert entry["OPTIONS"]["pool"]["max_idle"] < 300  # before Neon suspends


def test_connect_timeout_in_the_url_wins_over_the_default():
    entry = build(NEON_POOLED + "?sslmode=require&connect_timeout=3")
    assert entry["OPTIONS"]["connect_timeout"] == 3


def test_only_startup_parameters_neon_accepts_are_sent():
    entry = build(NEON_POOLED + "?sslmode=require")
    libpq_params = set(entry["OPTIONS"]) - {"pool"}
    # "options" (arbitrary GUCs) is refused by PgBouncer in transaction mode.
    assert "options" not in libpq_params
    assert libpq_params <= {
        "sslmode",
        "channel_binding",
        "connect_timeout",
        "application_name",
    }


def test_sqlite_url_keeps_sqlite_with_wal():
    entry = build("sqlite:///tmp/x.db")
    assert entry["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in entry["OPTIONS"]["init_command"]


# --- System checks -------------------------------------------------------------------


def test_correct_neon_configuration_passes_the_checks():
    databases = {
        "default": build(NEON_POOLED + "?sslmode=require"),
        "direct": build(NEON_DIRECT + "?sslmode=verify-full"),
    }
    assert error_ids(databases) == set()


def test_pooler_host_with_server_side_cursors_is_an_error():
    entry = build(NEON_POOLED + "?sslmode=require", DISABLE_SERVER_SIDE_CURSORS=False)
    assert error_ids({"default": entry}) == {"neon.E001"}


@pytest.mark.parametrize("query", ["", "?sslmode=prefer", "?sslmode=disable"])
def test_remote_host_without_required_tls_is_an_error(query):
    assert error_ids({"default": build(NEON_POOLED + query)}) == {"neon.E002"}


def test_local_host_without_tls_is_fine():
    entry = build("postgresql://postgres@127.0.0.1:5432/todo")
    assert error_ids({"default": entry}) == set()


def test_migrations_pointed_at_a_pooler_host_is_an_error():
    databases = {
        "default": build(NEON_POOLED + "?sslmode=require"),
        "direct": build(NEON_POOLED + "?sslmode=require"),
    }
    assert error_ids(databases) == {"neon.E003"}


def test_pool_with_persistent_connections_is_an_error():
    entry = build(NEON_DIRECT + "?sslmode=require", CONN_MAX_AGE=60)
    assert error_ids({"default": entry}) == {"neon.E004"}


def test_manage_py_check_reports_a_misconfiguration_by_id():
    result = run_manage("check", env={"DEBUG": "true", "DATABASE_URL": NEON_POOLED})
    assert result.returncode != 0
    assert "neon.E002" in result.stderr


# --- Bad configuration values: one line, no traceback, no secret ------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "postgresql://u:s3cret@[oops/db"}, "DATABASE_URL is not"),
        ({"DATABASE_URL": "mysql2://u:s3cret@h/db"}, "DATABASE_URL is not"),
        ({"DATABASE_URL_DIRECT": "nonsense-s3cret"}, "DATABASE_URL_DIRECT is not"),
        ({"DATABASE_POOL_SIZE": "many"}, "DATABASE_POOL_SIZE must be a number"),
        ({"DATABASE_CONNECT_TIMEOUT": "0"}, "DATABASE_CONNECT_TIMEOUT must be at"),
        ({"DATABASE_POOL_TIMEOUT": "soon"}, "DATABASE_POOL_TIMEOUT must be a number"),
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"DEBUG": "false", "SECRET_KEY": ""}, "SECRET_KEY is not set"),
    ],
)
def test_bad_configuration_stops_with_one_clear_line(env, message):
    result = run_manage("check", env={"DEBUG": "true", **env})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Configuration error: {message}")
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_production_without_allowed_hosts_says_so():
    result = run_manage("check", env={"SECRET_KEY": "k" * 50})
    assert "todo.W001" in result.stderr


# --- Migrations go over the direct URL, requests over the pooled one --------------


def _signup_through_the_app(env: dict) -> subprocess.CompletedProcess:
    script = (
        "from django.test import Client;"
        "r = Client().post('/accounts/signup/', {'username': 'marker',"
        " 'password1': 'Pa55-word-marker', 'password2': 'Pa55-word-marker'});"
        "print(r.status_code)"
    )
    return run_manage("shell", "-c", script, env=env)


def _table_names(url: str) -> set[str]:
    if url.startswith("sqlite"):
        import sqlite3

        path = urlsplit(url).path
        if not Path(path).exists():
            return set()
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            return {name for (name,) in rows}
    with psycopg.connect(url) as db:
        rows = db.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        return {name for (name,) in rows}


def _usernames(url: str) -> set[str]:
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(urlsplit(url).path) as db:
            return {n for (n,) in db.execute("SELECT username FROM auth_user")}
    with psycopg.connect(url) as db:
        return {n for (n,) in db.execute("SELECT username FROM auth_user")}


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def two_databases(tmp_path):
    """A "pooled" and a "direct" database, on the server the suite runs on."""
    test_url = settings.DATABASE_URL_TEST or ""
    if not test_url.startswith("postgres"):
        yield f"sqlite:///{tmp_path}/pooled.db", f"sqlite:///{tmp_path}/direct.db"
        return
    admin_url = os.environ.get("TEST_POSTGRES_ADMIN_URL") or _with_database(
        test_url, "postgres"
    )
    names = [f"todo_route_{os.getpid()}_{n}" for n in ("pooled", "direct")]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
    # Requests go the way the suite's server is reached (through PgBouncer in
    # that CI leg); migrations go straight to the server, like Neon's direct URL.
    yield _with_database(test_url, names[0]), _with_database(admin_url, names[1])
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrate_uses_the_direct_url_and_requests_the_pooled_one(two_databases):
    pooled, direct = two_databases
    app_env = {
        "SECRET_KEY": "k" * 50,
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": pooled,
    }
    # The pooled database gets its schema first, the ordinary way.
    assert run_manage("migrate", "-v0", env=app_env).returncode == 0
    pooled_tables = _table_names(pooled)
    assert "tasks_task" in pooled_tables
    assert _table_names(direct) == set()

    both = {**app_env, "DATABASE_URL_DIRECT": direct}
    result = run_manage("migrate", "-v0", env=both)
    assert result.returncode == 0, result.stderr
    assert {"django_migrations", "tasks_task"} <= _table_names(direct)

    result = _signup_through_the_app(both)
    assert result.stdout.strip().splitlines()[-1] == "302", result.stderr
    assert "marker" in _usernames(pooled)
    assert "marker" not in _usernames(direct)


# --- Dropped connections and outages (PostgreSQL) ----------------------------------


def _admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_ADMIN_URL") or _with_database(
        settings.DATABASE_URL_TEST, "postgres"
    )


def _terminate_app_connections(database: str) -> int:
    """Terminate the app's server connections, and wait until they are gone.

    pg_terminate_backend() only signals: the backends say goodbye and exit a
    moment later, as a suspending Neon compute's do before anyone's next
    request. Waiting for that keeps a busy test machine from sending the
    next request in between.
    """
    with psycopg.connect(_admin_url(), autocommit=True) as admin:
        pids = [
            pid
            for (pid,) in admin.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [database],
            ).fetchall()
        ]
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):
            left = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]
            ).fetchone()[0]
            if not left:
                break
            time.sleep(0.05)
    return len(pids)


def _pgbouncer_kill_clients(database: str) -> None:
    """Drop PgBouncer's client connections too, as a pooler restart would."""
    parts = urlsplit(settings.DATABASE_URL_TEST)
    admin = f"postgresql://postgres@{parts.hostname}:{parts.port}/pgbouncer"
    with psycopg.connect(admin, autocommit=True, sslmode="require") as bouncer:
        bouncer.execute(f"KILL {database}", prepare=False)
        bouncer.execute(f"RESUME {database}", prepare=False)


def _get(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_request_after_the_server_dropped_every_connection_succeeds(live_server):
    status, _ = _get(f"{live_server.url}/health/db")
    assert status == 200
    database = connection.settings_dict["NAME"]
    connection.close()  # the test's own connection would be dropped too
    assert _terminate_app_connections(database) >= 1
    if os.environ.get("TEST_BEHIND_PGBOUNCER"):
        _pgbouncer_kill_clients(database)
    for _ in range(3):
        status, body = _get(f"{live_server.url}/health/db")
        assert (status, "healthy" in body) == (200, True)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_list_page_after_the_server_dropped_every_connection_succeeds(
    live_server, user
):
    # The list page's first query (the session) is retried once on a fresh
    # connection when the pooled one died.
    Task.objects.for_user(user).create(title="Still here")
    browser = Client()
    browser.force_login(user)
    cookie = {"Cookie": f"sessionid={browser.cookies['sessionid'].value}"}
    assert _get(f"{live_server.url}/tasks/", cookie)[0] == 200
    database = connection.settings_dict["NAME"]
    connection.close()
    assert _terminate_app_connections(database) >= 1
    if os.environ.get("TEST_BEHIND_PGBOUNCER"):
        _pgbouncer_kill_clients(database)
    for _ in range(3):
        status, body = _get(f"{live_server.url}/tasks/", cookie)
        assert (status, "Still here" in body) == (200, True)


FIRST_READS = {
    "one query": lambda user: [list(Task.objects.for_user(user))],
    "two queries": lambda user: [
        list(Task.objects.for_user(user)),
        list(Task.objects.for_user(user).values("title")),
    ],
}


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("read", FIRST_READS.values(), ids=FIRST_READS)
def test_first_read_on_a_connection_that_died_after_checkout_is_retried(read, user):
    Task.objects.for_user(user).create(title="Still here")
    connection.close()
    connection.ensure_connection()  # checked out, and found alive
    database = connection.settings_dict["NAME"]
    # ...and only now does the server drop it, before the first query.
    assert _terminate_app_connections(database) >= 1
    if os.environ.get("TEST_BEHIND_PGBOUNCER"):
        _pgbouncer_kill_clients(database)
    time.sleep(0.2)  # for the server's goodbye to arrive
    assert not is_alive(connection.connection)

    results = read(user)

    assert results[0][0].title == "Still here"
    assert is_alive(connection.connection)


class _Forwarder:
    """A TCP port that can be switched between forwarding and refusing."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._server = None
        self._sockets: list[socket.socket] = []

    def start(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def stop(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone won't.
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets.clear()

    def _accept(self, server) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, target) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_database_outage_gives_503s_then_recovers_without_restart():
    test_url = urlsplit(settings.DATABASE_URL_TEST)
    forwarder = _Forwarder((test_url.hostname, test_url.port or 5432))
    database = connection.settings_dict["NAME"]
    app_url = urlunsplit(
        test_url._replace(
            netloc=f"postgres@127.0.0.1:{forwarder.port}", path=f"/{database}"
        )
    )
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    web_port = probe.getsockname()[1]
    probe.close()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")},
        # The test settings: production ones, but with static files served
        # without a collectstatic run, and the database from DATABASE_URL_TEST.
        "DJANGO_SETTINGS_MODULE": "todoproject.test_settings",
        "DATABASE_URL_TEST": app_url,
        "DATABASE_CONNECT_TIMEOUT": "2",
        "DATABASE_POOL_TIMEOUT": "2",
        "SECRET_KEY": "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "PORT": str(web_port),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "todoproject.wsgi",
            "-c",
            "gunicorn.conf.py",
            "-b",
            f"127.0.0.1:{web_port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{web_port}"
    # Any session cookie makes the page look its session up in the database.
    page = {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", web_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)

        for round_ in range(2):
            # The database is away: nothing listens where the app connects.
            started = time.monotonic()
            status, body = _get(f"{base}/health/db")
            assert status == 503
            assert '"status": "unhealthy"' in body
            status, body = _get(f"{base}/tasks/", page)
            assert status == 503, f"round {round_}: {body[:300]}"
            assert "Temporarily unavailable" in body
            assert "Traceback" not in body
            assert time.monotonic() - started < 2 * (2 + 2)  # connect + pool waits

            forwarder.start()  # ...and it is back
            deadline = time.monotonic() + 15
            while (status := _get(f"{base}/health/db")[0]) != 200:
                assert time.monotonic() < deadline, f"no recovery in round {round_}"
                time.sleep(0.5)
            # An unknown session is anonymous: redirected (and followed) to login.
            status, body = _get(f"{base}/tasks/", page)
            assert (status, "Log in" in body) == (200, True)
            forwarder.stop()  # drops live connections too, like a restart
    finally:
        server.terminate()
        server.wait(timeout=10)
