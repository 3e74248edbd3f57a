"""Hostile headers and hidden form fields: never a 5xx.

The contract's "hostile input" row, for what a browser does not let a user
type: the ``Cookie``, ``Host`` and ``Authorization`` headers, and every hidden
field a form carries (the edit form's ``version``, ``next``, the CSRF token).
Run on SQLite and on PostgreSQL (``DATABASE_URL_TEST``): PostgreSQL refuses
what SQLite stores (a NUL in text, a time zone offset beyond ±15:59), so a
value that reaches a query unchecked fails only there.
"""

from datetime import timedelta, timezone

import pytest
from django.test import Client

from tasks.models import Task

pytestmark = pytest.mark.django_db

# Django's session cookie, with a NUL as an escaped octal in a quoted value
# (RFC 6265 quoting, which Django's cookie parser unquotes).
NUL_SESSION_COOKIE = 'sessionid="\\000aaaaaaaaaa"'


# --- Cookie ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/tasks/", "/accounts/", "/tasks/new/"])
def test_a_session_cookie_with_a_nul_is_no_session_on_pages(
    path, django_assert_num_queries
):
    client = Client(headers={"Cookie": NUL_SESSION_COOKIE})
    with django_assert_num_queries(0):  # not even a session lookup
        response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_a_session_cookie_with_a_nul_is_no_session_on_the_api(
    django_assert_num_queries,
):
    client = Client(headers={"Cookie": NUL_SESSION_COOKIE})
    with django_assert_num_queries(0):
        response = client.get("/api/tasks")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Authentication required")


@pytest.mark.parametrize(
    "key",
    [
        "\x00aaaaaaaaaa",
        "aaaaaaaa\x00",
        "A" * 32,  # Django's keys are lowercase
        "a" * 41,  # longer than the column
        "ümlautümlaut",
        "abcdefgh;ijk",
    ],
)
def test_a_session_key_outside_djangos_alphabet_is_no_session(
    user, key, django_assert_num_queries
):
    client = Client()
    client.cookies["sessionid"] = key
    with django_assert_num_queries(0):
        response = client.get("/tasks/")
    assert response.status_code == 302


def test_a_real_session_still_signs_in(alice_client):
    assert alice_client.get("/tasks/").status_code == 200


# --- Hidden form fields ----------------------------------------------------------


def edit(client: Client, task_id: int, version: str):
    return client.post(
        f"/tasks/{task_id}/edit/",
        {"title": "Changed", "description": "", "version": version},
    )


def stored(task) -> tuple:
    return Task.unscoped.filter(pk=task.pk).values_list(
        "title", "completed", "updated_at"
    )[0]


# Offsets Python accepts and PostgreSQL refuses (beyond ±15:59: a 500 there),
# and times whose UTC equivalent is before year 1 or after 9999 (Django's
# SQLite adapter overflows: a 500 there).
UNSTORABLE_VERSIONS = [
    "2026-06-01T00:00:00+16:00",
    "2026-06-01T00:00:00-23:59",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
]


@pytest.mark.parametrize("version", UNSTORABLE_VERSIONS)
def test_an_unstorable_edit_version_changes_nothing(alice_client, task, version):
    before = stored(task)
    response = edit(alice_client, task.pk, version)
    assert response.status_code == 200
    assert stored(task) == before


@pytest.mark.parametrize("version", UNSTORABLE_VERSIONS)
def test_an_unstorable_edit_version_on_another_users_task_is_a_404(
    alice_client, other_task, version
):
    before = stored(other_task)
    response = edit(alice_client, other_task.pk, version)
    assert response.status_code == 404
    assert stored(other_task) == before


@pytest.mark.parametrize("hours", [16, -16, 23])
def test_the_opened_version_written_with_a_far_offset_still_saves(
    alice_client, task, hours
):
    # The same instant, however it is written, is the same version.
    offset = timezone(timedelta(hours=hours))
    version = task.updated_at.astimezone(offset).isoformat()
    response = edit(alice_client, task.pk, version)
    assert response.status_code == 302
    assert stored(task)[0] == "Changed"
