"""Run the test client's requests through the load balancer instead of in-process.

With ``TEST_BALANCER_URL`` set (``.ci/scale-out.sh`` serves one at
``https://127.0.0.1:8100``: HAProxy, round robin, over two gunicorn
instances), ``tests/conftest.py`` puts ``BalancerHandler`` where Django's test
client keeps its handler. Every ``client.get()`` or ``client.post()`` of the
existing tests then becomes a real HTTPS request, which either instance may
answer; the tests themselves are unchanged. The test process and the
instances share one database (``todo_scale``) and one ``SECRET_KEY``, and
every test commits what it writes (``transaction=True``), so a user or task a
test makes is one the instances can read, and what they write the test reads.

What the test client does in-process, the handler does over the wire:

- the request names the test client's host, ``testserver`` (the instances
  allow it);
- the client's cookies go in ``Cookie`` and come back from ``Set-Cookie``;
- the client skips CSRF checks unless ``enforce_csrf_checks=True``; here the
  instances check them, so a request gets a token the way a browser's
  JavaScript would (``X-CSRFToken`` equal to the ``csrftoken`` cookie) and the
  balancer's own ``Origin``;
- ``REMOTE_ADDR`` names the client's address; HAProxy takes it from
  ``X-Test-Client`` (a test-only rule in its configuration) as the address it
  appends to ``X-Forwarded-For``;
- query budgets (``django_assert_num_queries`` and its ``max`` twin) count
  the queries of this process plus those each instance counted for the
  requests sent inside the block: every request carries an ``X-Request-ID``,
  and each instance writes a request log line with that id and its
  ``queries`` (``todoproject.middleware.RequestLogMiddleware``), read from the
  instances' logs (``TEST_BALANCER_LOGS``, a glob).

With ``TEST_BALANCER_REPLICA_URL`` too, the instances read from a replica
that applies writes late, and the handler first lets it catch up with the
test's own writes (``Replica``).

- the mail outbox (``mailoutbox``) is what the instances wrote to their mail
  folder (``TEST_BALANCER_MAIL``) since the test began (``Mailbox``).

What cannot cross the wire is left to the in-process legs: the template
context and settings changed in the test process. Tests that look at those
are not collected here (``in_process_only()``).
"""

import email
import email.policy
import glob
import json
import os
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
import requests
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.db import connection as default_connection
from django.http import HttpResponse, StreamingHttpResponse
from django.test.client import ClientHandler
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.crypto import get_random_string

from todoproject import replica

# Where .ci/scale-out.sh keeps the instances' logs and mail.
SCALE_OUT_DIR = os.environ.get("SCALE_OUT_DIR", "/tmp/todo-scale-out")  # noqa: S108

# Which instance answered, counted over the run (HAProxy's X-Served-By), and
# why the tests not collected were left to the in-process legs.
served_by: Counter = Counter()
left_out: Counter = Counter()

# The WSGI keys a request's headers arrive under that do not start with HTTP_.
_UNPREFIXED = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}
# Fixtures whose assertions are about this process, not about the response.
IN_PROCESS_FIXTURES = frozenset({"settings"})


def in_process_only(item) -> str | None:
    """Why ``item`` cannot run through the balancer, or None if it can."""
    if marker := item.get_closest_marker("in_process"):
        return marker.args[0]
    if used := IN_PROCESS_FIXTURES.intersection(item.fixturenames):
        return f"uses {', '.join(sorted(used))}"
    return None


def summary() -> list[str]:
    answered = ", ".join(f"{name} {n}" for name, n in sorted(served_by.items()))
    lines = [f"through the load balancer: {served_by.total()} requests ({answered})"]
    if (read := BalancerHandler.replica) is not None:
        lines.append(
            f"the replica ran {read.transactions() - read.at_start} transactions "
            f"on {read.database} for the instances; {read.waits} requests waited "
            "for it to catch up"
        )
    lines += [
        f"  left to the in-process legs: {n} {why}" for why, n in left_out.items()
    ]
    return lines


class BalancerHandler(ClientHandler):
    base_url: str = ""
    verify: str | bool = True
    replica: "Replica | None" = None
    _session: requests.Session | None = None
    # The ids of the requests sent while a query budget is being counted.
    sent: list[str] | None = None

    @classmethod
    def configure(cls, base_url: str, verify: str | bool, replica=None) -> None:
        cls.base_url = base_url.rstrip("/")
        cls.verify = verify
        cls.replica = replica

    @classmethod
    def session(cls) -> requests.Session:
        # One keep-alive pool for the run; its cookies are never used (the
        # test client's are sent with each request).
        if cls._session is None:
            cls._session = requests.Session()
            cls._session.trust_env = False
            # Only the headers the test client would send: no User-Agent,
            # and no Accept-Encoding (a compressed body would be decoded).
            cls._session.headers.clear()
        return cls._session

    def __call__(self, environ):
        request = WSGIRequest(environ)
        if self.replica and not replica.needs_primary(request, reverse("admin:index")):
            self.replica.catch_up()
        headers = self._headers(environ)
        headers.setdefault("X-Request-Id", uuid.uuid4().hex)
        if BalancerHandler.sent is not None:
            BalancerHandler.sent.append(headers["X-Request-Id"])
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        url = self.base_url + environ["PATH_INFO"]
        if environ.get("QUERY_STRING"):
            url += "?" + environ["QUERY_STRING"]
        reply = self.session().request(
            environ["REQUEST_METHOD"],
            url,
            headers=headers,
            data=body,
            allow_redirects=False,
            verify=self.verify,
            timeout=60,
        )
        served_by[reply.headers.get("X-Served-By", "?")] += 1
        response = self._response(reply)
        response.wsgi_request = request
        return response

    def _headers(self, environ) -> dict[str, str]:
        headers = {
            key[5:].replace("_", "-").title(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        for key, name in _UNPREFIXED.items():
            if environ.get(key):
                headers[name] = str(environ[key])
        # The test client's own host, so the links the instances write (in
        # mail, in a feed) name it as the tests expect.
        headers.setdefault("Host", environ["SERVER_NAME"])
        if environ.get("REMOTE_ADDR", "127.0.0.1") != "127.0.0.1":
            headers["X-Test-Client"] = environ["REMOTE_ADDR"]
        if not self.enforce_csrf_checks:
            self._pass_csrf(headers)
        if "Referer" not in headers:
            # What a browser sends with a form; over HTTPS Django's CSRF
            # check wants an Origin or a Referer.
            headers.setdefault("Origin", self.base_url)
        return headers

    def _pass_csrf(self, headers: dict[str, str]) -> None:
        cookies = SimpleCookie(headers.get("Cookie", ""))
        name = settings.CSRF_COOKIE_NAME
        if name in cookies:
            token = cookies[name].value
        else:
            token = get_random_string(32)
            cookies[name] = token
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in cookies.items())
        headers.setdefault(settings.CSRF_HEADER_NAME[5:].replace("_", "-"), token)

    def _response(self, reply: requests.Response) -> HttpResponse:
        if reply.headers.get("Transfer-Encoding") == "chunked":
            # Django streamed it (an export): the test reads streaming_content.
            response = StreamingHttpResponse([reply.content], status=reply.status_code)
        else:
            response = HttpResponse(reply.content, status=reply.status_code)
        for name, value in reply.headers.items():
            if name.lower() not in {"set-cookie", "connection", "transfer-encoding"}:
                response.headers[name] = value
        for value in reply.raw.headers.getlist("Set-Cookie"):
            response.cookies.load(value)
        location = response.headers.get("Location", "")
        if location.startswith(self.base_url):
            # As Django wrote it: a path, not the balancer's absolute URL.
            response.headers["Location"] = location[len(self.base_url) :] or "/"
        if "Location" in response.headers:
            response.url = response.headers["Location"]  # as a redirect has
        return response


class InstanceLogs:
    """The instances' request logs, read as they grow: request id to the
    number of queries the instance counted for it."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.offsets: dict[str, int] = {}
        self.queries: dict[str, int] = {}

    def _read(self) -> None:
        for path in glob.glob(self.pattern):
            with open(path, "rb") as log:
                log.seek(self.offsets.get(path, 0))
                data = log.read()
            complete = data[: data.rfind(b"\n") + 1]
            self.offsets[path] = self.offsets.get(path, 0) + len(complete)
            for line in complete.splitlines():
                if line.startswith(b"{") and b'"request_id"' in line:
                    entry = json.loads(line)
                    self.queries[entry["request_id"]] = entry["queries"]

    def count(self, request_ids: list[str], wait: float = 5) -> int:
        deadline = time.monotonic() + wait
        while True:
            self._read()
            missing = [id for id in request_ids if id not in self.queries]
            if not missing:
                return sum(self.queries[id] for id in request_ids)
            if time.monotonic() > deadline:
                pytest.fail(f"no request log line for {missing} in {self.pattern}")
            time.sleep(0.02)


def query_budget(logs: InstanceLogs, exact: bool):
    """``django_assert_num_queries`` (``exact``) or ``..._max_num_queries``,
    counting the instances' queries for the requests sent in the block."""

    @contextmanager
    def budget(num: int, connection=None, info: str | None = None):
        BalancerHandler.sent = sent = []
        try:
            with CaptureQueriesContext(connection or default_connection) as here:
                yield here
        finally:
            BalancerHandler.sent = None
        performed = len(here) + logs.count(sent)
        if performed != num if exact else performed > num:
            pytest.fail(
                f"Expected to perform {num} queries{'' if exact else ' or less'} "
                f"but {performed} were done ({len(here)} here, the rest by the "
                f"instances for {len(sent)} requests)" + (f"\n{info}" if info else "")
            )

    return budget


class Replica:
    """The instances' read replica (``TEST_BALANCER_REPLICA_URL``), which
    applies the primary's writes seconds late (``.ci/replica.sh``).

    A test's own writes (its users, tasks, sessions) stand for what was there
    before the page was asked for; a replica seconds behind would not have
    them yet. So before a request whose reads the replica would serve (the
    app's own rule: ``todoproject.replica.needs_primary()``), ``catch_up()``
    waits until the replica has applied every write so far. The writes a
    request makes through the app are not waited for: the browser's pin
    sends its next reads to the primary, which is what the leg is for.
    """

    def __init__(self, primary_url: str, replica_url: str) -> None:
        self.primary = psycopg.connect(primary_url, autocommit=True)
        # Connected to another database, so its own polls are not counted.
        self.replica = psycopg.connect(replica_url, autocommit=True)
        self.database = self.primary.info.dbname
        self.waits = 0
        self.at_start = self.transactions()

    def catch_up(self, timeout: float = 15) -> None:
        (written,) = self.primary.execute("SELECT pg_current_wal_lsn()").fetchone()
        deadline = time.monotonic() + timeout
        applied = "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn"
        while not self.replica.execute(applied, [written]).fetchone()[0]:
            if time.monotonic() > deadline:
                pytest.fail(f"the replica did not apply {written} in {timeout} s")
            time.sleep(0.05)
        self.waits += 1

    def transactions(self) -> int:
        """Transactions the replica has run on the instances' database."""
        count = (
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = %s"
        )
        self.replica.execute("SELECT pg_stat_clear_snapshot()")
        return self.replica.execute(count, [self.database]).fetchone()[0]


class Mailbox:
    """``mailoutbox`` through the balancer: the messages the instances wrote
    to ``folder`` (Django's file-based backend, a file per connection) since
    it was made, read afresh each time the test looks."""

    SEPARATOR = b"\n" + b"-" * 79 + b"\n"

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.before = set(self.folder.glob("*.log"))
        self.seen: list[Path] = []

    def _messages(self) -> list[SimpleNamespace]:
        messages = []
        # In the order written: each file as it is first seen (a test looks
        # between requests), those that came together by their times (the
        # names give only the second, then an id).
        new = set(self.folder.glob("*.log")) - self.before - set(self.seen)
        self.seen += sorted(new, key=lambda path: path.stat().st_mtime_ns)
        for path in self.seen:
            for raw in path.read_bytes().split(self.SEPARATOR):
                if raw.strip():
                    message = email.message_from_bytes(raw, policy=email.policy.default)
                    messages.append(
                        SimpleNamespace(
                            subject=message["Subject"],
                            to=[a.addr_spec for a in message["To"].addresses],
                            body=message.get_body(("plain",)).get_content(),
                        )
                    )
        return messages

    def __len__(self) -> int:
        return len(self._messages())

    def __iter__(self):
        return iter(self._messages())

    def __getitem__(self, index):
        return self._messages()[index]

    def __eq__(self, other) -> bool:
        return self._messages() == other
