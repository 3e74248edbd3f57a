"""Several instances behind a load balancer serve one user without anyone noticing.

The live tests speak HTTPS, with real cookies (``requests.Session``), to the
balancer that ``.ci/scale-out.sh start`` runs: HAProxy, round robin without
stickiness, over two gunicorn instances with production settings on one
PostgreSQL database through PgBouncer. HAProxy names the instance that
answered (``X-Served-By``) and lets a request name the one it wants
(``X-Test-Instance``), so each flow writes on one instance and reads on the
other. They replay the contract's flows that per-process state could break
(sessions, CSRF, messages, undo, tokens, login throttling, the calendar's
ETag) and look only at what a client sees: status, headers, HTML, JSON.

Without the servers they are skipped, unless ``REQUIRE_SCALE_OUT=1`` (CI sets
it), which turns the skip into a failure. ``SCALE_OUT_URL`` points them
elsewhere (default ``https://127.0.0.1:8100``); ``SCALE_OUT_CA`` is the
certificate to trust (default the one the script made).
"""

import html
import os
import re
import runpy
import secrets
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = os.environ.get("SCALE_OUT_URL", "https://127.0.0.1:8100").rstrip("/")
# The certificate .ci/scale-out.sh made, in its state directory.
CA = os.environ.get("SCALE_OUT_CA", "/tmp/todo-scale-out/tls/server.crt")  # noqa: S108
A, B = "app8101", "app8102"
PASSWORD = "Correct horse battery 9"
LOGIN_FAILURE_LIMIT = 10  # the instances run with the default


# --- Without servers: what the audit decided ------------------------------------


def test_no_cache_lives_in_one_process():
    from django.conf import settings

    backends = {cache["BACKEND"] for cache in settings.CACHES.values()}
    assert backends == {"django.core.cache.backends.dummy.DummyCache"}


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True)
def test_the_health_check_answers_the_balancers_plain_http():
    client = Client()  # a new client builds its middleware under these settings
    assert client.get("/health/db").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


def test_gunicorns_keepalive_outlasts_the_balancers_idle_timeout(monkeypatch):
    monkeypatch.delenv("GUNICORN_KEEPALIVE", raising=False)
    keepalive = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["keepalive"]
    script = (ROOT / ".ci" / "scale-out.sh").read_text()
    balancer = int(re.search(r"timeout http-keep-alive (\d+)s", script)[1])
    assert keepalive > balancer


# --- With servers ---------------------------------------------------------------


@pytest.fixture(scope="module")
def balancer() -> str:
    try:
        requests.get(f"{BASE_URL}/health/db", verify=_verify(), timeout=5)
    except requests.RequestException as error:
        reason = f"no load balancer at {BASE_URL} (.ci/scale-out.sh start)"
        reason += f": {type(error).__name__}"
        if os.environ.get("REQUIRE_SCALE_OUT") == "1":
            pytest.fail(f"{reason} (and REQUIRE_SCALE_OUT=1)", pytrace=False)
        pytest.skip(reason)
    return BASE_URL


def _verify():
    return CA if os.path.exists(CA) else False


class Visitor:
    """One browser: its cookies, and which instance answered each request."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        # Not REQUESTS_CA_BUNDLE (which would override verify) nor a proxy.
        self.http.trust_env = False
        self.http.verify = _verify()
        self.served_by: list[str] = []

    def send(self, method: str, path: str, on: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if on:
            headers["X-Test-Instance"] = on
        response = self.http.request(
            method, self.base_url + path, headers=headers,
            allow_redirects=False, timeout=30, **kwargs,
        )  # fmt: skip
        self.served_by.append(response.headers.get("X-Served-By"))
        if on:
            assert self.served_by[-1] == on
        return response

    def get(self, path: str, on: str | None = None, **kwargs):
        return self.send("GET", path, on, **kwargs)

    def post(self, path: str, data: dict, on: str | None = None):
        """A form post, with the CSRF cookie's token, as a browser sends it."""
        data = {"csrfmiddlewaretoken": self.http.cookies["csrftoken"], **data}
        # Over HTTPS, Django checks the Referer against the host.
        headers = {"Referer": self.base_url + path}
        return self.send("POST", path, on, data=data, headers=headers)

    def sign_up(self, username: str, on: tuple[str, str] = (A, B)):
        self.get("/accounts/signup/", on[0])
        form = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
        response = self.post("/accounts/signup/", form, on[1])
        assert (response.status_code, response.headers["Location"]) == (302, "/tasks/")

    def page(self, path: str, on: str) -> str:
        response = self.get(path, on)
        assert response.status_code == 200, (path, response.status_code)
        return html.unescape(response.text)


def _name() -> str:
    return f"scale-{secrets.token_hex(5)}"


@pytest.fixture
def visitor(balancer) -> Visitor:
    return Visitor(balancer)


@pytest.fixture
def member(visitor) -> Visitor:
    """A visitor signed up on one instance (the form) and the other (the POST)."""
    visitor.username = _name()
    visitor.sign_up(visitor.username)
    return visitor


def _task_id(page: str, title: str) -> int:
    found = re.search(rf'href="(\d+)/"><span>{re.escape(title)}</span>', page)
    assert found, f"{title} is not on the page"
    return int(found[1])


def test_requests_naming_no_instance_go_round_robin_to_both(visitor):
    for _ in range(6):
        assert visitor.get("/accounts/login/").status_code == 200
    assert set(visitor.served_by) == {A, B}


def _checks() -> dict[str, tuple[str, str]]:
    """Each server's state and last health check, from HAProxy's stats."""
    rows = requests.get("http://127.0.0.1:8109/;csv", timeout=5).text.splitlines()
    header = rows[0].lstrip("# ").split(",")
    servers = [dict(zip(header, row.split(","), strict=False)) for row in rows[1:]]
    return {s["svname"]: (s["status"], s["check_status"]) for s in servers}


def test_both_instances_are_health_checked_and_up(balancer):
    checks = _checks()
    assert checks[A] == checks[B] == ("UP", "L7OK")


def test_a_session_made_on_one_instance_is_good_on_the_other(member):
    for instance in (A, B, A, B):
        assert member.username in member.page("/tasks/", instance)


def test_logging_out_and_in_on_one_instance_counts_on_the_other(member):
    assert member.post("/accounts/logout/", {}, A).status_code == 302
    response = member.get("/tasks/", B)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")

    member.get("/accounts/login/", B)
    form = {"username": member.username, "password": PASSWORD, "next": "/tasks/"}
    response = member.post("/accounts/login/", form, A)
    assert (response.status_code, response.headers["Location"]) == (302, "/tasks/")
    assert member.username in member.page("/tasks/", B)


def test_messages_and_undo_work_whichever_instance_answers(member):
    title = f"Buy milk {secrets.token_hex(3)}"
    assert member.post("/tasks/new/", {"title": title}, A).status_code == 302
    page = member.page("/tasks/", B)
    assert f"Added “{title}”." in page
    pk = _task_id(page, title)

    assert member.post(f"/tasks/{pk}/toggle/", {}, B).status_code == 302
    assert f"Completed “{title}”." in member.page("/tasks/", A)

    form = member.page(f"/tasks/{pk}/edit/", A)
    version = re.search(r'name="version" value="([^"]*)"', form)[1]
    edited = f"{title} (2 litres)"
    fields = {"title": edited, "description": "", "completed": "on", "version": version}
    assert member.post(f"/tasks/{pk}/edit/", fields, B).status_code == 302
    assert f"Saved “{edited}”." in member.page("/tasks/", A)

    assert member.post(f"/tasks/{pk}/delete/", {}, B).status_code == 302
    page = member.page("/tasks/", A)
    assert f"Moved “{edited}” to the trash." in page
    undo = re.search(r'action="/tasks/restore/".*?</form>', page, re.S)[0]
    ids = re.findall(r'name="ids" value="(\d+)"', undo)
    assert ids == [str(pk)]
    assert member.get(f"/tasks/{pk}/", B).status_code == 404

    response = member.post("/tasks/restore/", {"ids": ids, "next": "/tasks/"}, B)
    assert response.status_code == 302
    page = member.page("/tasks/", A)
    assert f"Restored “{edited}”." in page
    assert _task_id(page, edited) == pk
    # A message is shown once, by whichever instance answers next.
    assert "Restored" not in member.page("/tasks/", B)


def test_the_api_with_a_token_works_on_both_instances(member):
    member.get("/accounts/tokens/", A)
    page = html.unescape(member.post("/accounts/tokens/", {"name": "cli"}, B).text)
    token = re.search(r'id="new-token">([^<]+)<', page)[1]
    api = Visitor(member.base_url)  # no cookies: the token alone
    bearer = {"Authorization": f"Bearer {token}"}

    created = api.send(
        "POST", "/api/tasks", A, json={"title": "Via API"}, headers=bearer
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert api.get(f"/api/tasks/{pk}", B, headers=bearer).json()["title"] == "Via API"
    assert api.send("DELETE", f"/api/tasks/{pk}", A, headers=bearer).status_code == 204
    assert api.get(f"/api/tasks/{pk}", B, headers=bearer).status_code == 404
    trash = api.get("/api/tasks/trash", B, headers=bearer).json()
    assert [task["id"] for task in trash] == [pk]
    restored = api.send("POST", f"/api/tasks/{pk}/restore", A, headers=bearer)
    assert restored.status_code == 200
    listed = api.get("/api/tasks", B, headers=bearer).json()
    assert [task["id"] for task in listed] == [pk]
    assert api.get("/api/tasks", A).status_code == 401


def test_a_lockout_counts_failures_made_on_both_instances(balancer):
    owner = Visitor(balancer)
    username = _name()
    owner.sign_up(username)
    attacker = Visitor(balancer)
    attacker.get("/accounts/login/", A)
    statuses = []
    for attempt in range(LOGIN_FAILURE_LIMIT):
        form = {"username": username, "password": "wrong"}
        statuses.append(attacker.post("/accounts/login/", form, (A, B)[attempt % 2]))
    # Five failures on each instance: neither alone reached the limit.
    assert [r.status_code for r in statuses] == [200] * 9 + [429]
    for instance in (A, B):
        form = {"username": username, "password": PASSWORD}
        response = attacker.post("/accounts/login/", form, instance)
        assert response.status_code == 429
        assert "Too many failed logins" in response.text
    # The owner's session, made before, goes on.
    assert username in owner.page("/tasks/", A)


def test_the_calendar_feed_has_one_etag_whichever_instance_answers(member):
    member.get("/accounts/calendar/", A)
    page = member.post("/accounts/calendar/", {"action": "create"}, B).text
    feed = re.search(r'id="calendar-url">https://[^/]+(/calendar/[^<]+)<', page)[1]
    due = date.today() + timedelta(days=30)
    fields = {"title": "Dentist", "due_date": due.isoformat(), "due_time": "09:30"}
    assert member.post("/tasks/new/", fields, A).status_code == 302

    first = member.get(feed, A)
    assert first.status_code == 200
    assert "SUMMARY:Dentist" in first.text
    again = member.get(feed, B)
    assert again.headers["ETag"] == first.headers["ETag"]
    unchanged = member.get(feed, B, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304


def test_with_the_database_away_the_apps_own_503_page_answers(member):
    # Every instance fails its health check then; the balancer must still
    # hand requests to one (its unchecked backups), whose friendly page
    # says what happened, and take the instances back once it returns.
    pgbouncer = {**os.environ, "PGBOUNCER_PORT": "6433", "PGBOUNCER_POOL_SIZE": "20"}
    script = str(ROOT / ".ci" / "pgbouncer.sh")
    subprocess.run(["bash", script, "stop"], env=pgbouncer, check=True)
    try:
        pages = []
        deadline = time.monotonic() + 12  # several failed checks: both down
        while time.monotonic() < deadline:
            pages.append(member.get("/tasks/"))
            time.sleep(0.5)
        assert {page.status_code for page in pages} == {503}
        assert all("Temporarily unavailable" in page.text for page in pages)
        assert _checks()[A][0] == _checks()[B][0] == "DOWN"
    finally:
        subprocess.run(["bash", script, "start"], env=pgbouncer, check=True)
    deadline = time.monotonic() + 30
    while _checks()[A][0] != "UP" or _checks()[B][0] != "UP":
        assert time.monotonic() < deadline, _checks()
        time.sleep(0.5)
    assert member.get("/tasks/", A).status_code == 200
