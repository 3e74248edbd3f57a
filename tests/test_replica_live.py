"""The read replica, for real: two gunicorn instances, a primary and a
streaming replica that applies every change two seconds late.

Inside pytest-django's per-test transaction every read is "in a
transaction" and goes to the primary, and a replica never sees uncommitted
rows; so these tests run the app as production does: gunicorn processes
(two, sharing SECRET_KEY, requests alternating between them) on a database
created for the test on the primary and reached on the replica by streaming
replication. Each server is behind a counting proxy
(``tests.support.latency_proxy``), so where a read was served is counted at
the server that served it.

Needs ``TEST_POSTGRES_ADMIN_URL`` (the primary) and ``TEST_REPLICA_URL`` (its
replica, e.g. ``.ci/replica.sh start``'s on port 5433); skipped without them,
unless ``REQUIRE_REPLICA=1`` (CI), which makes the skip a failure. Stopping
the replica mid-run uses ``.ci/replica.sh down`` and ``up``.
"""

import asyncio
import itertools
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests

from tests.support.latency_proxy import Proxy

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "todo_replica_live"
PASSWORD = "a-long-enough-password-42"
# The replica's apply delay (.ci/replica.sh) and the pin; the pin must be
# the longer, and the tests wait it out to read as someone who has not
# written lately.
PIN_SECONDS = 5
POOL_TIMEOUT = 3  # seconds; also the longest a replica that went away costs

pytestmark = pytest.mark.replica


def _unavailable(reason: str):
    if os.environ.get("REQUIRE_REPLICA") == "1":
        pytest.fail(f"{reason} (and REQUIRE_REPLICA=1)", pytrace=False)
    pytest.skip(reason)


def _server_url(url: str, database: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    user = parts.username or "postgres"
    # TLS as on Neon where the server has it (CI's does), as the URL says.
    query = parts.query or "sslmode=prefer"
    netloc = f"{user}@{host}:{port}"
    return urlunsplit(("postgresql", netloc, f"/{database}", query, ""))


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5432


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Proxies:
    """Counting proxies on one event loop thread; `rtt` can be set live."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers = []

    def add(self, upstream: tuple[str, int]) -> tuple[Proxy, int]:
        proxy = Proxy(upstream)

        async def start():
            return await asyncio.start_server(proxy.handle, "127.0.0.1", 0)

        server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.servers.append(server)
        return proxy, server.sockets[0].getsockname()[1]

    def close(self) -> None:
        async def stop():
            for server in self.servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class App:
    def __init__(self, bases, primary: Proxy, replica: Proxy, replica_url: str):
        self.bases = bases
        self.primary = primary
        self.replica = replica
        self.replica_url = replica_url  # the replica's copy of the database
        self._users = itertools.count()

    def browser(self) -> "Browser":
        browser = Browser(self.bases)
        browser.sign_up(f"user{os.getpid()}x{next(self._users)}")
        return browser

    def counts(self) -> tuple[int, int]:
        """Round trips so far at (the primary, the replica)."""
        return self.primary.round_trips, self.replica.round_trips


class Browser:
    """A requests session whose requests alternate between the instances."""

    def __init__(self, bases) -> None:
        self.session = requests.Session()
        self.instances = itertools.cycle(bases)
        self.slowest = 0.0  # seconds, of any request so far

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if method not in ("GET", "HEAD"):
            headers["X-CSRFToken"] = self.session.cookies.get("csrftoken", "")
        started = time.monotonic()
        response = self.session.request(
            method,
            next(self.instances) + path,
            headers=headers,
            timeout=30,
            allow_redirects=False,
            **kwargs,
        )
        self.slowest = max(self.slowest, time.monotonic() - started)
        return response

    def form(self, path: str, **data) -> requests.Response:
        data["csrfmiddlewaretoken"] = self.session.cookies.get("csrftoken", "")
        return self.request("POST", path, data=data)

    def sign_up(self, username: str) -> None:
        assert self.request("GET", "/accounts/signup/").status_code == 200
        response = self.form(
            "/accounts/signup/",
            username=username,
            password1=PASSWORD,
            password2=PASSWORD,
        )
        assert response.status_code == 302, response.text[:500]

    def page(self, query: str = "") -> str:
        response = self.request("GET", "/tasks/" + query)
        assert response.status_code == 200, response.text[:500]
        return response.text

    def api(self) -> dict[int, dict]:
        response = self.request("GET", "/api/tasks?limit=100")
        assert response.status_code == 200, response.text[:500]
        return {task["id"]: task for task in response.json()}


@pytest.fixture(scope="module")
def app():
    admin_url = os.environ.get("TEST_POSTGRES_ADMIN_URL", "")
    replica_server = os.environ.get("TEST_REPLICA_URL", "")
    if not (admin_url.startswith("postgres") and replica_server.startswith("postgres")):
        _unavailable("needs TEST_POSTGRES_ADMIN_URL and TEST_REPLICA_URL")
    try:
        with psycopg.connect(replica_server, connect_timeout=5) as replica:
            in_recovery = replica.execute("SELECT pg_is_in_recovery()").fetchone()[0]
    except psycopg.Error as exc:
        _unavailable(f"the replica at TEST_REPLICA_URL does not answer: {exc}")
    if not in_recovery:
        _unavailable("TEST_REPLICA_URL is not a replica (not in recovery)")

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    primary_address, replica_address = _address(admin_url), _address(replica_server)
    primary_url = _server_url(admin_url, DATABASE, *primary_address)
    replica_url = _server_url(replica_server, DATABASE, *replica_address)
    base_env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_", "DJANGO_", "TEST_"))
        },
        "DJANGO_SETTINGS_MODULE": "todoproject.settings",
        # Plain HTTP, so cookies without Secure; the rest as in production.
        "DEBUG": "true",
        "SECRET_KEY": "replica-tests-" + "k" * 40,
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env={**base_env, "DATABASE_URL": primary_url},
        check=True,
    )
    _wait_for(lambda: _replica_has_tables(replica_url), 30, "the migrated tables")

    proxies = _Proxies()
    primary, primary_port = proxies.add(primary_address)
    replica, replica_port = proxies.add(replica_address)
    env = {
        **base_env,
        "DATABASE_URL": _server_url(admin_url, DATABASE, "127.0.0.1", primary_port),
        "DATABASE_URL_REPLICA": _server_url(
            replica_server, DATABASE, "127.0.0.1", replica_port
        ),
        "DATABASE_REPLICA_PIN_SECONDS": str(PIN_SECONDS),
        "DATABASE_CONNECT_TIMEOUT": "2",
        "DATABASE_POOL_TIMEOUT": str(POOL_TIMEOUT),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
    }
    servers, bases = [], []
    try:
        for _ in range(2):
            port = _free_port()
            servers.append(
                subprocess.Popen(
                    [
                        *[sys.executable, "-m", "gunicorn", "todoproject.wsgi"],
                        *["-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}"],
                    ],
                    cwd=ROOT,
                    env=env,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            _wait_for(lambda base=base: _healthy(base), 30, f"gunicorn at {base}")
        yield App(bases, primary, replica, replica_url)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        proxies.close()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {seconds} s"
        time.sleep(0.2)


def _replica_has_tables(replica_url: str) -> bool:
    try:
        with psycopg.connect(replica_url, connect_timeout=2) as replica:
            found = replica.execute("SELECT to_regclass('tasks_task')").fetchone()
    except psycopg.OperationalError:
        return False  # the database itself has not arrived yet
    return found[0] is not None


def _healthy(base: str) -> bool:
    try:
        return requests.get(base + "/health/db", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _on_replica(app: App, sql: str, *params):
    with psycopg.connect(app.replica_url) as replica:
        return replica.execute(sql, params).fetchall()


def _replica_script(command: str) -> None:
    subprocess.run(["bash", ROOT / ".ci" / "replica.sh", command], check=True)


# --- A user sees their own changes at once --------------------------------------


def test_a_writer_sees_every_change_on_the_next_page_and_api_read(app):
    alice = app.browser()
    misses = []

    def check(i: int, title: str, present: bool, completed: bool | None = None):
        page = alice.page("?status=completed" if completed else "")
        api = {task["title"]: task for task in alice.api().values()}
        if (title in page) != present:
            misses.append(f"{i}: page, {title!r} present={not present}")
        if (title in api) != present:
            misses.append(f"{i}: API, {title!r} present={not present}")
        elif present and completed is not None and api[title]["completed"] != completed:
            misses.append(f"{i}: API, {title!r} completed={not completed}")

    latest = None  # (id, title) of the task the next edit, toggle or delete takes
    for i in range(200):
        step = i % 4
        if step == 0:  # create, through the page's form
            title = f"Task-{i}-created"
            assert alice.form("/tasks/new/", title=title).status_code == 302
            (task_id,) = [
                pk for pk, task in alice.api().items() if task["title"] == title
            ] or [None]
            if task_id is None:
                misses.append(f"{i}: API, {title!r} created but not listed")
                continue
            latest = task_id, title
            check(i, title, present=True)
            if i == 0:
                # The replica has not got it yet: the pin, not luck, served it.
                assert not _on_replica(
                    app, "SELECT 1 FROM tasks_task WHERE id = %s", task_id
                )
        elif step == 1:  # edit, through the API
            task_id, old = latest
            title = f"Task-{i}-edited"
            response = alice.request(
                "PATCH", f"/api/tasks/{task_id}", json={"title": title}
            )
            assert response.status_code == 200, response.text
            latest = task_id, title
            check(i, title, present=True)
            if f">{old}<" in alice.page():
                misses.append(f"{i}: page, the old title {old!r} still shown")
        elif step == 2:  # toggle, through the page's form
            task_id, title = latest
            assert alice.form(f"/tasks/{task_id}/toggle/").status_code == 302
            check(i, title, present=True, completed=True)
        else:  # delete, through the API
            task_id, title = latest
            response = alice.request("DELETE", f"/api/tasks/{task_id}")
            assert response.status_code == 204
            check(i, title, present=False)

    assert misses == []


# --- Everyone else reads from the replica ------------------------------------------


def _settled_reader(app: App) -> Browser:
    """A user with a few tasks who has not written for longer than the pin
    (and so than the replica's delay)."""
    bob = app.browser()
    for n in range(3):
        assert bob.form("/tasks/new/", title=f"Bobs task {n}").status_code == 302
    time.sleep(PIN_SECONDS + 0.5)
    return bob


def _reads(bob: Browser, times: int) -> None:
    for n in range(times):
        if n % 2:
            assert "Bobs task 2" in bob.page()
        else:
            assert len(bob.api()) == 3


def test_a_reader_is_served_by_the_replica(app):
    bob = _settled_reader(app)
    _reads(bob, 4)  # each instance's replica pool has its connection

    primary_before, replica_before = app.counts()
    _reads(bob, 40)
    primary, replica = app.counts()

    assert replica - replica_before >= 40
    assert primary - primary_before <= 4
    health = requests.get(app.bases[0] + "/health/db", timeout=10).json()
    assert health == {
        "status": "healthy",
        "database": "connected",
        "replica": "connected",
    }


def test_the_list_page_is_one_round_trip_on_the_replica(app):
    bob = _settled_reader(app)
    bob.session.get(app.bases[0] + "/tasks/", timeout=10)  # warm the pools
    bob.session.get(app.bases[0] + "/tasks/", timeout=10)
    # A large delay makes a pipeline's writes one round trip (see the proxy).
    app.replica.rtt = 0.3
    try:
        primary_before, replica_before = app.counts()
        response = bob.session.get(app.bases[0] + "/tasks/", timeout=30)
        primary, replica = app.counts()
    finally:
        app.replica.rtt = 0
    assert response.status_code == 200
    assert "Bob" in response.text
    assert (primary - primary_before, replica - replica_before) == (0, 1)


# --- A replica that goes away costs no request ---------------------------------


def test_reads_move_to_the_primary_while_the_replica_is_down_and_back(app):
    bob = _settled_reader(app)
    failures, served = [], [0]
    stop = threading.Event()

    def keep_reading():
        while not stop.is_set():
            try:
                _reads(bob, 2)
                served[0] += 2
            except (AssertionError, requests.RequestException) as exc:
                failures.append(repr(exc)[:300])

    reader = threading.Thread(target=keep_reading)
    reader.start()
    try:
        time.sleep(1)
        _replica_script("down")
        down_at = app.counts()
        time.sleep(POOL_TIMEOUT * 2)  # the first reads wait, once
        assert app.counts()[0] - down_at[0] > 10  # served by the primary
        health = requests.get(app.bases[0] + "/health/db", timeout=10)
        assert health.status_code == 200
        assert health.json()["replica"] == "unreachable"

        _replica_script("up")
        back_at = app.counts()[1]
        _wait_for(lambda: app.counts()[1] - back_at > 10, 30, "reads on the replica")
        health = requests.get(app.bases[1] + "/health/db", timeout=10)
        assert health.json()["replica"] == "connected"
    finally:
        stop.set()
        reader.join(60)
        _replica_script("up")
    assert failures == []
    assert served[0] > 20
    # The reads that found the replica gone waited for it at most the pool's
    # timeout, then were answered by the primary.
    assert bob.slowest < POOL_TIMEOUT + 2


def test_the_pin_cookie_is_signed_and_short_lived(app):
    carol = app.browser()  # signing up wrote: pinned
    cookie = carol.session.cookies.get("primary_pin")
    assert cookie is not None
    before = app.counts()[1]
    carol.page()
    assert app.counts()[1] == before  # pinned reads: none at the replica

    time.sleep(PIN_SECONDS + 0.5)
    # Kept past its age (a client that ignores Max-Age), or made up: the
    # replica serves it all the same.
    for value in (cookie, "forged:1tZ:abc", re.sub(r".$", "x", cookie)):
        carol.session.cookies.set("primary_pin", value)
        before = app.counts()[1]
        carol.page()
        assert app.counts()[1] > before, value
