"""The request log: one JSON line per request, and no secret in any log."""

import json
import logging
import re
import subprocess
import sys

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import AccessToken
from tests.factories import PASSWORD
from tests.test_security import ROOT, production_env

pytestmark = pytest.mark.django_db

FIELDS = {"request_id", "method", "path", "status", "duration_ms", "queries", "user_id"}
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


class _ToCaplog(logging.Handler):
    """Hands records to caplog's handler of the moment (pytest keeps one per
    test phase), for loggers that do not propagate to the root."""

    def __init__(self, caplog):
        super().__init__(logging.DEBUG)
        self.caplog = caplog

    def emit(self, record):
        self.caplog.handler.handle(record)


def records(caplog) -> list[logging.LogRecord]:
    # Some pytest versions also attach caplog's handler to loggers that do
    # not propagate; then a record arrives twice.
    return list({id(record): record for record in caplog.records}.values())


def _capture(caplog, names, level):
    handler = _ToCaplog(caplog)
    caplog.set_level(level)
    attached = []
    for name in names:
        logger = logging.getLogger(name)
        caplog.set_level(level, logger=name)  # restored after the test
        if not logger.propagate:
            logger.addHandler(handler)
            attached.append(logger)
    return lambda: [logger.removeHandler(handler) for logger in attached]


@pytest.fixture
def request_log(caplog):
    """The request log's lines so far, parsed."""
    release = _capture(caplog, ["todo.request"], logging.INFO)
    yield lambda: [
        json.loads(record.getMessage())
        for record in records(caplog)
        if record.name == "todo.request"
    ]
    release()


@pytest.fixture
def every_log(caplog):
    """Every record of every logger, at DEBUG, as the text a handler would
    write plus whatever rides along on the record."""
    names = [
        name
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    ]
    release = _capture(caplog, names, logging.DEBUG)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def text() -> str:
        return "\n".join(
            formatter.format(record) + " " + repr(vars(record))
            for record in records(caplog)
        )

    yield text
    release()


# --- One line per request -------------------------------------------------------


def test_each_request_is_one_json_line_with_the_contract_fields(
    alice_client, user, task, request_log
):
    with CaptureQueriesContext(connection) as queries:
        response = alice_client.get("/tasks/")

    (line,) = request_log()
    assert set(line) == FIELDS
    assert line["method"] == "GET"
    assert line["path"] == "/tasks/"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["queries"] == len(queries.captured_queries)
    assert line["user_id"] == user.pk
    assert line["request_id"] == response["X-Request-ID"]
    assert GENERATED_ID.fullmatch(line["request_id"])


def test_a_streamed_export_is_logged_once_it_is_sent_with_every_query(
    alice_client, user, task, request_log
):
    with CaptureQueriesContext(connection) as queries:
        response = alice_client.get("/accounts/export.csv")
        assert request_log() == []  # nothing streamed yet, nothing logged
        body = b"".join(response.streaming_content)

    assert task.title.encode() in body
    (line,) = request_log()
    assert line["path"] == "/accounts/export.csv"
    assert line["status"] == 200
    assert line["queries"] == len(queries.captured_queries) == 2
    assert line["user_id"] == user.pk


def test_lines_are_single_lines(alice_client, task, caplog, request_log):
    alice_client.get("/tasks/")
    (record,) = [r for r in records(caplog) if r.name == "todo.request"]
    assert "\n" not in record.getMessage()


def test_every_request_gets_its_own_id(alice_client, request_log):
    responses = [alice_client.get("/tasks/") for _ in range(3)]
    lines = request_log()
    assert len(lines) == 3
    ids = [line["request_id"] for line in lines]
    assert ids == [response["X-Request-ID"] for response in responses]
    assert len(set(ids)) == 3


def test_anonymous_writes_and_errors_are_logged_too(alice_client, user, request_log):
    Client().get("/accounts/login/")
    alice_client.post("/tasks/new/", {"title": "x"})
    alice_client.get("/tasks/999999/")
    alice_client.get("/tasks/toggle-all/")

    lines = request_log()
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/accounts/login/", 200),
        ("POST", "/tasks/new/", 302),
        ("GET", "/tasks/999999/", 404),
        ("GET", "/tasks/toggle-all/", 405),
    ]
    assert [line["user_id"] for line in lines] == [None] + [user.pk] * 3


def test_a_token_call_is_logged_with_its_user(user, request_log):
    _, raw = AccessToken.objects.issue(user, "t")
    Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/tasks")
    (line,) = request_log()
    assert (line["path"], line["status"], line["user_id"]) == (
        "/api/tasks",
        200,
        user.pk,
    )


def test_the_query_string_is_left_out(alice_client, request_log):
    alice_client.get("/tasks/?status=active&note=private-words")
    (line,) = request_log()
    assert line["path"] == "/tasks/"
    assert "private-words" not in json.dumps(line)


# --- Request ids ---------------------------------------------------------------


def test_a_proxys_request_id_is_kept(alice_client, request_log):
    response = alice_client.get("/tasks/", headers={"X-Request-ID": "req-42.abc_Z"})
    assert response["X-Request-ID"] == "req-42.abc_Z"
    assert request_log()[0]["request_id"] == "req-42.abc_Z"


@pytest.mark.parametrize(
    "hostile",
    [
        "abc\ndef",
        "abc\r\nSet-Cookie: x=1",
        "a" * 1000,
        "a" * 65,
        '"}{"user_id": 1',
        "<script>",
        "id with spaces",
        "ünïcode",
    ],
)
def test_a_hostile_request_id_is_replaced_by_a_generated_one(
    alice_client, request_log, hostile
):
    response = alice_client.get("/tasks/", headers={"X-Request-ID": hostile})

    assert response.status_code == 200
    request_id = response["X-Request-ID"]
    assert GENERATED_ID.fullmatch(request_id)
    (line,) = request_log()
    assert line["request_id"] == request_id


# --- No secrets in any log ----------------------------------------------------------


def test_a_login_logs_neither_password(client, user, every_log):
    client.post("/accounts/login/", {"username": "alice", "password": "Wr0ng-Secret!"})
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302

    logs = every_log()
    assert "/accounts/login/" in logs  # the capture works
    assert "Wr0ng-Secret!" not in logs
    assert PASSWORD not in logs


def test_a_locked_out_login_logs_no_password(client, user, every_log):
    for n in range(11):
        client.post("/accounts/login/", {"username": "alice", "password": f"pw-{n}!x"})
    logs = every_log()
    assert "AXES" in logs  # django-axes did log the lockout
    assert not re.search(r"pw-\d+!x", logs)


def test_a_token_call_logs_no_token(user, every_log):
    _, raw = AccessToken.objects.issue(user, "t")
    response = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/tasks")
    assert response.status_code == 200
    bad = Client(headers={"Authorization": f"Bearer {raw}x"}).get("/api/tasks")
    assert bad.status_code == 401

    logs = every_log()
    assert "/api/tasks" in logs
    assert raw not in logs
    assert raw[len("todo_") :][:12] not in logs


def test_a_task_create_logs_no_task_text(alice_client, every_log):
    title, description = "Buy a gift for Carol", "She must not know about it"
    response = alice_client.post(
        "/tasks/new/", {"title": title, "description": description}, follow=True
    )
    assert response.status_code == 200
    invalid = alice_client.post("/tasks/new/", {"title": "x" * 201 + "Zebra-Plan"})
    assert invalid.status_code == 200

    logs = every_log()
    assert "/tasks/new/" in logs
    for text in (title, description, "Zebra-Plan"):
        assert text not in logs


def test_signup_and_password_change_log_no_password(every_log):
    signup = Client()
    response = signup.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "password1": "Sign-Up-Secret-1",
            "password2": "Sign-Up-Secret-1",
        },
    )
    assert response.status_code == 302
    Client().post(
        "/accounts/signup/",
        {
            "username": "dave",
            "password1": "Mismatch-Secret-2",
            "password2": "Other-Secret-3",
        },
    )
    for old in ("Wrong-Old-Secret-4", "Sign-Up-Secret-1"):
        signup.post(
            "/accounts/password_change/",
            {
                "old_password": old,
                "new_password1": "New-Secret-5",
                "new_password2": "New-Secret-5",
            },
        )

    logs = every_log()
    assert "/accounts/password_change/" in logs
    assert not re.search(r"Secret-\d", logs)


# --- Password reset: no link, no token, in any log ---------------------------------

RESET_LINK = re.compile(r"https?://testserver(/accounts/reset/([^/\s]+)/([^/\s]+)/)")


def _reset_link(client, user, mailoutbox) -> tuple[str, str, str]:
    user.email = "alice@example.com"
    user.save()
    client.post("/accounts/password_reset/", {"email": user.email})
    (mail,) = mailoutbox
    return RESET_LINK.search(mail.body).groups()


def test_opening_a_reset_link_logs_neither_its_token_nor_its_user(
    client, user, mailoutbox, request_log, every_log
):
    link, uid, token = _reset_link(client, user, mailoutbox)

    opened = client.get(link, follow=True)
    form_url = opened.redirect_chain[-1][0]
    done = client.post(
        form_url, {"new_password1": "Reset-Secret-6", "new_password2": "Reset-Secret-6"}
    )

    assert done.status_code == 302
    logs = every_log()
    assert "/accounts/reset/" in logs  # the capture works
    assert token not in logs
    assert f"/{uid}/" not in logs
    assert "Reset-Secret-6" not in logs
    assert [line["path"] for line in request_log()] == [
        "/accounts/password_reset/",
        "/accounts/reset/…/…/",  # the link, redirected to...
        "/accounts/reset/…/…/",  # ...the form (…/set-password/), posted:
        "/accounts/reset/…/…/",
    ]


def test_a_mangled_reset_link_logs_no_token_either(
    client, user, mailoutbox, request_log, every_log
):
    link, uid, token = _reset_link(client, user, mailoutbox)

    # Pasted with a stray character after it: no URL pattern matches.
    response = client.get(f"{link})")

    assert response.status_code == 404
    logs = every_log()
    assert "Not Found" in logs  # Django's own line for the 404 is captured
    assert token not in logs
    assert request_log()[-1]["path"] == f"/accounts/reset/{uid}/…/)"


def test_confirming_an_email_address_logs_no_link_token(
    alice_client, user, mailoutbox, request_log, every_log
):
    alice_client.post("/accounts/email/", {"email": "alice@example.com"})
    (mail,) = mailoutbox
    link = re.search(
        r"https?://testserver(/accounts/email/confirm/([^/\s]+)/)", mail.body
    )
    path, token = link.groups()

    alice_client.get(path)
    alice_client.post(path)

    user.refresh_from_db()
    assert user.email == "alice@example.com"
    assert token not in every_log()
    assert [line["path"] for line in request_log()][-2:] == [
        "/accounts/email/confirm/…/"
    ] * 2


def test_a_calendar_feed_logs_no_token(alice_client, user, request_log, every_log):
    made = alice_client.post("/accounts/calendar/", {"action": "create"})
    token = re.search(r"/calendar/([^<]+)\.ics</code>", made.content.decode())[1]
    unknown = "x" * len(token)

    assert Client().get(f"/calendar/{token}.ics").status_code == 200
    assert Client().head(f"/calendar/{token}.ics").status_code == 200
    assert Client().get(f"/calendar/{unknown}.ics").status_code == 404
    # Pasted with something after it: no URL pattern matches.
    assert Client().get(f"/calendar/{token}.ics/x").status_code == 404

    logs = every_log()
    assert "Not Found" in logs  # Django's own line for a 404 is captured
    assert token not in logs
    assert unknown not in logs
    assert [line["path"] for line in request_log()] == [
        "/accounts/calendar/",
        "/calendar/….ics",
        "/calendar/….ics",
        "/calendar/….ics",
        "/calendar/…/x",
    ]


def test_paths_without_secrets_are_logged_as_they_are(alice_client, task, request_log):
    alice_client.get(f"/tasks/{task.pk}/")
    alice_client.get("/no/such/page/")
    assert [line["path"] for line in request_log()] == [
        f"/tasks/{task.pk}/",
        "/no/such/page/",
    ]


# --- Mail in production ---------------------------------------------------------------

# A production process (DEBUG=false, no EMAIL_URL) asks for a password reset;
# everything it writes is what would reach the logs.
RESET_IN_PRODUCTION = """
import os
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.test import Client

call_command("migrate", verbosity=0)
user = get_user_model().objects.create_user("alice", "alice@example.com", "pw")
response = Client().post(
    "/accounts/password_reset/",
    {"email": "alice@example.com"},
    headers={"host": "example.com"},
    secure=True,
)
assert response.status_code == 302, response.status_code
with open(os.environ["TOKEN_FILE"], "w") as file:
    file.write(default_token_generator.make_token(user))
"""


def test_without_email_url_production_prints_no_reset_link(tmp_path):
    token_file = tmp_path / "token"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", RESET_IN_PRODUCTION],
        cwd=ROOT,
        env=production_env(
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            TOKEN_FILE=str(token_file),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert token_file.read_text() not in output
    assert "/accounts/reset/" not in output
    assert "alice@example.com" not in output


def check_deploy(**env) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=production_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_check_deploy_warns_when_production_sends_no_mail():
    assert "todo.W002" in check_deploy()
    assert "todo.W002" in check_deploy(EMAIL_URL="consolemail://")


def test_check_deploy_is_quiet_about_mail_once_email_url_is_set():
    assert "todo.W002" not in check_deploy(EMAIL_URL="smtp+tls://u:pw@mail.example:587")
