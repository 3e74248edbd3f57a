"""Hostile headers and hidden form fields: never a 5xx.

The contract's "hostile input" row, for what a browser does not let a user
type: the ``Cookie``, ``Host`` and ``Authorization`` headers, and every hidden
field a form carries (the edit form's ``version``, ``next``, the CSRF token).
Run on SQLite and on PostgreSQL (``DATABASE_URL_TEST``): PostgreSQL refuses
what SQLite stores (a NUL in text, a time zone offset beyond ±15:59), so a
value that reaches a query unchecked fails only there.
"""

import pytest
from django.test import Client

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
