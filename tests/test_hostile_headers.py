"""Hostile headers and hidden form fields: never a 5xx.

The contract's "hostile input" row, for what a browser does not let a user
type: the ``Cookie``, ``Host`` and ``Authorization`` headers, and every hidden
field a form carries (the edit form's ``version``, ``next``, the CSRF token).
Run on SQLite and on PostgreSQL (``DATABASE_URL_TEST``): PostgreSQL refuses
what SQLite stores (a NUL in text, a time zone offset beyond ±15:59), so a
value that reaches a query unchecked fails only there.
"""

from datetime import timedelta, timezone
from itertools import count
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from tasks.models import Task
from tests.factories import PASSWORD
from tests.test_hostile_input import (
    FRAGMENTS,
    HYPOTHESIS,
    assert_escaped,
    assert_same_site,
    form_values,
    post_form,
    signed_in,
    snapshot,
)

pytestmark = pytest.mark.django_db

# Django's session cookie, with a NUL as an escaped octal in a quoted value
# (RFC 6265 quoting, which Django's cookie parser unquotes).
NUL_SESSION_COOKIE = 'sessionid="\\000aaaaaaaaaa"'


# What a server hands Django: header bytes decoded as Latin-1 (so any byte,
# and UTF-8 text as its bytes), or text made of the same 256 characters.
latin1 = st.characters(max_codepoint=0xFF)
header_text = st.one_of(
    st.text(latin1, max_size=60),
    st.binary(max_size=60).map(lambda raw: raw.decode("latin-1")),
    st.sampled_from(FRAGMENTS).map(
        lambda text: text.encode("utf-8", "surrogatepass").decode("latin-1")
    ),
    st.builds(
        lambda piece, times: piece * times,
        st.sampled_from(["a", "\x00", "=", ";", '"', "\\", "%"]),
        st.integers(0, 5000),
    ),
)

# Where a hostile header could matter: pages (signed in or not), a form
# post, the API, an export, the login page.
PATHS = [
    ("GET", "/tasks/"),
    ("GET", "/tasks/?status=active"),
    ("GET", "/accounts/"),
    ("GET", "/accounts/export.csv"),
    ("GET", "/accounts/login/"),
    ("HEAD", "/tasks/"),
    ("POST", "/tasks/new/"),
    ("GET", "/api/tasks"),
    ("POST", "/api/tasks"),
    ("GET", "/health/db"),
]


def send(client: Client, method: str, path: str, **extra):
    if method == "POST" and path.startswith("/api/"):
        return client.post(
            path, '{"title": "t"}', content_type="application/json", **extra
        )
    if method == "POST":
        return client.post(path, {"title": "From a hostile request"}, **extra)
    return getattr(client, method.lower())(path, **extra)


def read(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


# --- Cookie ----------------------------------------------------------------------

cookie_names = st.one_of(
    st.sampled_from(["sessionid", "csrftoken", "messages", "sessionid "]),
    header_text,
)
cookie_values = st.one_of(
    header_text,
    st.sampled_from(
        [
            '"\\000aaaaaaaaaa"',
            '"\\377\\376"',
            "\x00aaaaaaaaaa",
            '"unterminated',
            "a" * 32,
            "A" * 32,
            "a" * 41,
            "a" * 10_000,
        ]
    ),
)
cookie_headers = st.one_of(
    header_text,
    st.lists(st.tuples(cookie_names, cookie_values), max_size=4).map(
        lambda pairs: "; ".join(f"{name}={value}" for name, value in pairs)
    ),
)


@HYPOTHESIS
@example(cookie=NUL_SESSION_COOKIE, where=("GET", "/tasks/"), session=None)
@example(
    cookie="sessionid=\x00aaaaaaaaaa", where=("GET", "/api/tasks"), session="before"
)
@given(
    cookie=cookie_headers,
    where=st.sampled_from(PATHS),
    session=st.sampled_from([None, "before", "after"]),
)
def test_any_cookie_header_is_never_a_server_error(user, task, cookie, where, session):
    """Any Cookie header, alone or beside a real session (after it, so the
    real one wins a duplicate name; or before, so the hostile one does)."""
    client = signed_in(user)
    key = client.cookies["sessionid"].value
    if session == "before":
        cookie = f"sessionid={key}; {cookie}"
    elif session == "after":
        cookie = f"{cookie}; sessionid={key}"
    # (Django's cookie parser keeps the last of two cookies of one name.)
    before = snapshot(user)

    response = send(Client(), *where, HTTP_COOKIE=cookie)

    assert response.status_code < 500, (where, response.status_code)
    read(response)  # a streamed export fails while it streams, if at all
    if where[0] != "POST":
        assert snapshot(user) == before


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


# --- Host ------------------------------------------------------------------------

host_headers = st.one_of(
    header_text,
    header_text.map(lambda junk: f"testserver:{junk}"),
    header_text.map(lambda junk: f"testserver{junk}"),
    st.sampled_from(
        ["testserver", "TESTSERVER", "testserver.", "testserver:0", "[::1]", ""]
    ),
)


@HYPOTHESIS
@given(host=host_headers, where=st.sampled_from(PATHS), signed=st.booleans())
def test_any_host_header_is_never_a_server_error(user, host, where, signed):
    client = signed_in(user) if signed else Client()
    response = send(client, *where, HTTP_HOST=host)
    assert response.status_code < 500, (where, response.status_code)
    if host.lower().rstrip(".") not in ("testserver", "testserver:0"):
        # Django's host check, before anything else looks at the request.
        assert response.status_code in (400, 301, 302, 200, 201, 403), host
    read(response)


# --- Authorization ---------------------------------------------------------------

authorization_headers = st.one_of(
    header_text,
    header_text.map(lambda token: f"Bearer {token}"),
    header_text.map(lambda token: f"bearer todo_{token}"),
    header_text.map(lambda scheme: f"{scheme} todo_x"),
    st.sampled_from(["Bearer", "Bearer ", "Bearer  ", "Basic YWxpY2U6eA==", "todo_"]),
)


@HYPOTHESIS
@given(authorization=authorization_headers, where=st.sampled_from(PATHS))
def test_any_authorization_header_is_never_a_server_error(
    user, task, authorization, where
):
    before = snapshot(user)
    response = send(Client(), *where, HTTP_AUTHORIZATION=authorization)
    assert response.status_code < 500, (where, response.status_code)
    if where[1].startswith("/api/"):
        # No token of anyone's, and no session: never signed in.
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
    read(response)
    assert snapshot(user) == before


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


offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
written_times = st.builds(
    lambda moment, offset, separator: (
        moment.replace(tzinfo=offset).isoformat().replace("T", separator)
    ),
    st.datetimes(),
    offsets,
    st.sampled_from(["T", " "]),
)


@HYPOTHESIS
@given(version=st.one_of(written_times, form_values), own=st.booleans())
def test_any_edit_version_saves_nothing_and_is_never_a_server_error(
    user, other_user, version, own
):
    """Any hidden version but the one the form was opened with: the form
    comes back (own task) or 404 (someone else's); nothing changes."""
    owner = user if own else other_user
    task = Task.objects.for_user(owner).create(title="Original")
    before = stored(task)

    response = post_form(
        signed_in(user),
        f"/tasks/{task.pk}/edit/",
        {"title": "Changed", "description": "", "version": version},
    )

    assert response.status_code == (200 if own else 404)
    assert stored(task) == before


@HYPOTHESIS
@given(offset=offsets, own=st.booleans())
def test_the_opened_version_in_any_offset_saves_only_the_owners_task(
    user, other_user, offset, own
):
    owner = user if own else other_user
    task = Task.objects.for_user(owner).create(title="Original")
    before = stored(task)

    response = edit(
        signed_in(user), task.pk, task.updated_at.astimezone(offset).isoformat()
    )

    if own:
        assert response.status_code == 302
        assert stored(task)[0] == "Changed"
    else:
        assert response.status_code == 404
        assert stored(task) == before


# Every form that carries a hidden ``next``: its path, its other fields, and
# the task it acts on (made fresh for each example).
NEXT_FORMS = {
    "create": lambda task: ("/tasks/new/", {"title": "New"}),
    "edit": lambda task: (
        f"/tasks/{task.pk}/edit/",
        {"title": "Edited", "version": task.updated_at.isoformat()},
    ),
    "toggle": lambda task: (f"/tasks/{task.pk}/toggle/", {}),
    "delete": lambda task: (f"/tasks/{task.pk}/delete/", {}),
    "toggle all": lambda task: ("/tasks/toggle-all/", {}),
    "clear completed": lambda task: ("/tasks/clear-completed/", {}),
}


@HYPOTHESIS
@given(form=st.sampled_from(sorted(NEXT_FORMS)), next_=form_values)
def test_any_next_on_any_form_does_the_action_and_stays_on_the_site(user, form, next_):
    task = Task.objects.for_user(user).create(title="Acted on", completed=True)
    path, fields = NEXT_FORMS[form](task)
    before = snapshot(user)

    response = post_form(signed_in(user), path, {**fields, "next": next_})

    assert response.status_code == 302, (form, response.status_code)
    assert_same_site(response)
    assert snapshot(user) != before, f"{form} did nothing"


login_addresses = (f"10.99.{n // 256 % 256}.{n % 256}" for n in count(1))


@HYPOTHESIS
@given(next_=form_values)
def test_any_next_on_the_login_form_signs_in_and_stays_on_the_site(user, next_):
    client = Client(REMOTE_ADDR=next(login_addresses))
    query = urlencode({"next": next_})
    page = client.get(f"/accounts/login/?{query}")
    assert page.status_code == 200
    assert_escaped(page, next_)

    response = post_form(
        client,
        "/accounts/login/",
        {"username": user.username, "password": PASSWORD, "next": next_},
    )

    assert response.status_code == 302
    # Django's LoginView also takes a relative next ("0" goes to
    # /accounts/login/0): on the site all the same.
    # Read as a browser does, a backslash as a slash.
    location = response["Location"].replace("\\", "/")
    target = urlsplit(urljoin("http://testserver/accounts/login/", location))
    assert (target.scheme, target.netloc) == ("http", "testserver"), location
    assert client.session["_auth_user_id"] == str(user.pk)


# Every kind of form post a CSRF token guards, and one API call (whose token
# travels in a header).
CSRF_POSTS = {
    "create": lambda task: ("/tasks/new/", {"title": "Forged"}),
    "toggle": lambda task: (f"/tasks/{task.pk}/toggle/", {}),
    "logout": lambda task: ("/accounts/logout/", {}),
    "token": lambda task: ("/accounts/tokens/", {"name": "Forged"}),
}


@HYPOTHESIS
@given(
    form=st.sampled_from([*sorted(CSRF_POSTS), "login", "api"]),
    csrf=form_values,
)
def test_any_csrf_token_but_the_real_one_is_a_403_that_changes_nothing(
    user, form, csrf
):
    task = Task.objects.for_user(user).create(title="Guarded")
    client = Client(enforce_csrf_checks=True)
    if form != "login":
        client.force_login(user)
    client.get("/accounts/login/" if form == "login" else "/tasks/")  # the cookie
    before = snapshot(user)

    if form == "api":
        header = csrf.decode("latin-1") if isinstance(csrf, bytes) else csrf
        response = client.post(
            "/api/tasks",
            '{"title": "Forged"}',
            content_type="application/json",
            HTTP_X_CSRFTOKEN=header,
        )
    elif form == "login":
        response = post_form(
            client,
            "/accounts/login/",
            {
                "username": user.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": csrf,
            },
        )
    else:
        path, fields = CSRF_POSTS[form](task)
        response = post_form(client, path, {**fields, "csrfmiddlewaretoken": csrf})

    assert response.status_code == 403, (form, response.status_code)
    assert snapshot(user) == before
    assert ("_auth_user_id" in client.session) is (form != "login")
