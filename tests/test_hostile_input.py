"""Hostile input, generated: any text, any id, any query string, any JSON body.

The contract's promise, checked as properties over generated input: never a
5xx; never a partial save (the stored rows are exactly the valid new state,
or unchanged); user text escaped wherever a page shows it; no redirect off
the site. Each test states its expected outcome from the contract's rules
(``cleaned`` below), not from the code under test.
"""

import json
import re
import unicodedata
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import AccessToken
from tasks.models import Task
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
TOKEN_NAME_MAX = 100
USERNAME_MAX = 150
MAX_ID = 2**63 - 1

# Markup that, if it reached a page unescaped, would run or break out of an
# attribute or element. No template contains any of it, so finding one in a
# page means user text was not escaped.
MARKUP = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</textarea><script>alert(2)</script>",
    "'><svg onload=alert(3)>",
]
FRAGMENTS = [
    *MARKUP,
    "'; DROP TABLE tasks_task; --",
    "' OR '1'='1",
    "{{ request }}",
    "{% debug %}",
    "%s",
    "%(title)s",
    "${7*7}",
    "\x00",
    "\r\n",
    "\u202e",
    "\ufeff",
    "\u2028",
    "\x1c",
    "&amp;",
    "javascript:alert(1)",
    "😀",
    "é",
    "\\",
]
SURROGATES = ["\ud800", "\udfff", "a\udc80b"]
BOUNDARIES = [
    "",
    " ",
    "\t\n\r ",
    "a" * TITLE_MAX,
    "a" * (TITLE_MAX + 1),
    " " + "a" * TITLE_MAX + " ",
    "a" * DESCRIPTION_MAX,
    "a" * (DESCRIPTION_MAX + 1),
    " " + "a" * DESCRIPTION_MAX + "\n",
    "é" * TITLE_MAX,
    "😀" * TITLE_MAX,
    "x" * TOKEN_NAME_MAX,
    "x" * (TOKEN_NAME_MAX + 1),
]

HYPOTHESIS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def hostile_text(surrogates: bool = False) -> st.SearchStrategy[str]:
    characters = st.characters(exclude_categories=() if surrogates else ("Cs",))
    extra = SURROGATES if surrogates else []
    pieces = st.one_of(
        st.sampled_from(FRAGMENTS + extra), st.text(characters, max_size=20)
    )
    return st.one_of(
        st.lists(pieces, max_size=6).map("".join),
        st.text(characters, max_size=300),
        st.sampled_from(BOUNDARIES),
        st.builds(
            lambda piece, count: piece * count,
            st.sampled_from(["a", " ", "é", "😀", "<b>", "\x00", *extra]),
            st.integers(0, 10_000),
        ),
    )


# What a browser can send: text as UTF-8, or (a broken client) any bytes.
form_values = st.one_of(hostile_text(), hostile_text(), st.binary(max_size=60))


def as_text(value: str | bytes) -> str:
    # Django decodes form bodies as UTF-8 and replaces what is not.
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def cleaned(value: str, max_length: int, required: bool = False) -> str | None:
    """The contract's text rule: trimmed, within the limit, no NUL, valid
    Unicode; None if the value must be refused."""
    if "\x00" in value:
        return None
    try:
        value.encode()
    except UnicodeEncodeError:
        return None
    value = value.strip()
    if (required and not value) or len(value) > max_length:
        return None
    return value


def post_form(client: Client, path: str, data: dict):
    """POST ``data`` as a browser does (urlencoded); None values are left out."""
    body = urlencode({k: v for k, v in data.items() if v is not None})
    return client.post(path, body, content_type="application/x-www-form-urlencoded")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_escaped(response, *inputs) -> None:
    body = response.content.decode()
    for value in inputs:
        for markup in MARKUP:
            if markup in as_text(value or b""):
                assert markup not in body, f"unescaped user text in {response}"


def assert_same_site(response) -> None:
    location = response["Location"]
    assert location.startswith("/"), location
    assert url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"})


def snapshot(user) -> list[tuple]:
    return list(
        Task.objects.for_user(user)
        .order_by("pk")
        .values_list("pk", "title", "description", "completed", "updated_at")
    )


# --- HTML forms ------------------------------------------------------------------


@HYPOTHESIS
@given(
    title=form_values,
    description=st.none() | form_values,
    next_=st.none() | form_values,
)
def test_create_form_saves_exactly_the_valid_task_or_nothing(
    user, other_user, title, description, next_
):
    client = signed_in(user)
    before = snapshot(user)
    others = snapshot(other_user)

    response = post_form(
        client,
        "/tasks/new/",
        {"title": title, "description": description, "next": next_},
    )

    assert response.status_code < 500
    after = snapshot(user)
    expected_title = cleaned(as_text(title), TITLE_MAX, required=True)
    expected_description = cleaned(as_text(description or ""), DESCRIPTION_MAX)
    if expected_title is None or expected_description is None:
        assert response.status_code == 200
        assert after == before
        assert_escaped(response, title, description, next_)
    else:
        assert response.status_code == 302
        assert_same_site(response)
        (new,) = set(after) - set(before)
        assert len(after) == len(before) + 1
        assert new[1:4] == (expected_title, expected_description, False)
        page = client.get(f"/tasks/{new[0]}/")
        body = page.content.decode()
        assert escape(expected_title) in body
        assert_escaped(page, title, description)
        assert_escaped(client.get("/tasks/"), title)
    assert snapshot(other_user) == others


@HYPOTHESIS
@given(
    title=form_values,
    description=form_values,
    completed=st.sampled_from([None, "on"]) | form_values,
    version=st.none() | form_values,
)
def test_edit_form_saves_exactly_the_valid_change_or_nothing(
    user, title, description, completed, version
):
    client = signed_in(user)
    task = Task.objects.for_user(user).create(title="Original", description="Before")
    (before,) = [row for row in snapshot(user) if row[0] == task.pk]
    # None stands for "the version the form was opened with".
    sent_version = task.updated_at.isoformat() if version is None else version

    response = post_form(
        client,
        f"/tasks/{task.pk}/edit/",
        {
            "title": title,
            "description": description,
            "completed": completed,
            "version": sent_version,
        },
    )

    assert response.status_code < 500
    (after,) = [row for row in snapshot(user) if row[0] == task.pk]
    expected_title = cleaned(as_text(title), TITLE_MAX, required=True)
    expected_description = cleaned(as_text(description), DESCRIPTION_MAX)
    valid = None not in (expected_title, expected_description)
    if valid and version is None:
        assert response.status_code == 302
        assert after[1:3] == (expected_title, expected_description)
        if completed in (None, "on"):
            assert after[3] is (completed == "on")
        assert after[4] > before[4]
    else:
        # Invalid text, or a version that is not the one the form was
        # opened with (garbage, or some other time): nothing is written.
        assert response.status_code == 200
        assert after == before
        assert_escaped(response, title, description, completed, version)


@HYPOTHESIS
@given(username=form_values, password1=form_values, password2=st.none() | form_values)
def test_signup_creates_exactly_one_account_or_none(username, password1, password2):
    users = get_user_model().objects
    count = users.count()
    client = Client()
    # None stands for "typed the same password twice".
    second = password1 if password2 is None else password2

    response = post_form(
        client,
        "/accounts/signup/",
        {"username": username, "password1": password1, "password2": second},
    )

    assert response.status_code < 500
    if response.status_code == 302:
        assert response["Location"] == "/tasks/"
        assert users.count() == count + 1
        expected = unicodedata.normalize("NFKC", as_text(username).strip())
        created = users.get(username=expected)
        assert created.check_password(as_text(password1))
        assert as_text(password1) == as_text(second)
        assert "\x00" not in expected
    else:
        assert response.status_code == 200
        assert users.count() == count
        assert_escaped(response, username)


login_ips = iter(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}" for n in range(1, 10**6))


@HYPOTHESIS
@given(
    username=st.sampled_from(["alice", "bob"]) | form_values,
    password=form_values,
    next_=st.none() | form_values,
)
def test_login_with_any_input_never_errs_and_never_signs_in(
    user, username, password, next_
):
    # A fresh address each time, so the throttle does not end the test early
    # (it has its own tests); the login form itself gets the input.
    client = Client(REMOTE_ADDR=next(login_ips))

    response = post_form(
        client,
        "/accounts/login/",
        {"username": username, "password": password, "next": next_},
    )

    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert_escaped(response, username, next_)


# X-Forwarded-For as a client may send it: an address list, one address,
# garbage, or bytes; WSGI hands headers over as latin-1 text.
ADDRESSES = ["203.0.113.9", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1%eth0"]
forwarded_values = st.one_of(
    st.lists(st.sampled_from(ADDRESSES) | hostile_text(), max_size=4).map(", ".join),
    st.sampled_from(["not-an-ip", "1" * 60, "203.0.113.9" + "0" * 49, ",", ""]),
    hostile_text(),
    st.binary(max_size=80).map(lambda raw: raw.decode("latin-1")),
)
PROXY = ("HTTP_X_FORWARDED_PROTO", "https")


@HYPOTHESIS
@given(
    forwarded=forwarded_values,
    behind_proxy=st.booleans(),
    username=st.sampled_from(["alice", "bob"]) | form_values,
)
def test_login_with_any_forwarded_for_never_errs(
    user, forwarded, behind_proxy, username
):
    client = Client(REMOTE_ADDR=next(login_ips), HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(SECURE_PROXY_SSL_HEADER=PROXY if behind_proxy else None):
        response = post_form(
            client, "/accounts/login/", {"username": username, "password": "x"}
        )
        # The right password, too: a success stores the address as well.
        signed_in_response = post_form(
            client, "/accounts/login/", {"username": "alice", "password": PASSWORD}
        )

    assert response.status_code in (200, 429)
    assert signed_in_response.status_code in (302, 429)


@HYPOTHESIS
@given(forwarded=forwarded_values, behind_proxy=st.booleans())
def test_a_page_with_any_forwarded_for_is_a_page(user, task, forwarded, behind_proxy):
    client = signed_in(user)
    with override_settings(SECURE_PROXY_SSL_HEADER=PROXY if behind_proxy else None):
        page = client.get("/tasks/", HTTP_X_FORWARDED_FOR=forwarded)
        login_page = Client().get("/accounts/login/", HTTP_X_FORWARDED_FOR=forwarded)
    assert page.status_code == 200
    assert login_page.status_code == 200


@HYPOTHESIS
@given(name=form_values)
def test_token_create_issues_exactly_one_token_or_none(user, name):
    client = signed_in(user)
    before = list(AccessToken.objects.for_user(user).values_list("pk", flat=True))

    response = post_form(client, "/accounts/tokens/", {"name": name})

    assert response.status_code == 200
    tokens = AccessToken.objects.for_user(user)
    expected = cleaned(as_text(name), TOKEN_NAME_MAX, required=True)
    if expected is None:
        assert list(tokens.values_list("pk", flat=True)) == before
        assert 'id="new-token"' not in response.content.decode()
    else:
        (new,) = tokens.exclude(pk__in=before)
        assert new.name == expected
        assert 'id="new-token"' in response.content.decode()
    assert_escaped(response, name)


@HYPOTHESIS
@given(password=form_values)
def test_account_delete_with_any_wrong_password_deletes_nothing(user, task, password):
    AccessToken.objects.issue(user, "kept")
    client = signed_in(user)

    response = post_form(client, "/accounts/delete/", {"password": password})

    assert response.status_code == 200
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert Task.objects.for_user(user).filter(pk=task.pk).exists()
    assert AccessToken.objects.for_user(user).exists()
    assert client.get("/tasks/").status_code == 200


@HYPOTHESIS
@given(status=st.none() | hostile_text(), page=st.none() | hostile_text())
def test_list_page_with_any_query_string_is_a_page(user, task, status, page):
    query = urlencode({k: v for k, v in {"status": status, "page": page}.items() if v})
    response = signed_in(user).get(f"/tasks/?{query}")
    assert response.status_code == 200
    assert_escaped(response, status, page)


# --- Ids in the URL --------------------------------------------------------------

NUMBERS = ["0", "00", "-1", "1e3", "0x10", "1.5", "+1", " 1", "9" * 30, str(MAX_ID + 1)]
ENCODED = ["%00", "%2F", "%ff", "%", "%zz", "..", "", "%E2%80%AE1", "1%0A"]
raw_segments = st.sampled_from([*NUMBERS, *ENCODED])
segments = st.one_of(
    raw_segments,
    st.integers(-(2**80), 2**80).map(str),
    hostile_text().map(lambda text: quote(text[:100], safe="")),
    st.binary(max_size=10).map(lambda raw: quote(raw, safe="")),
)


@pytest.fixture
def attacker(db):
    """A signed-in user who owns no task: every id is someone else's or none."""
    return get_user_model().objects.create_user("mallory", password=PASSWORD)


@pytest.fixture
def victim_tasks(other_user):
    tasks = Task.objects.for_user(other_user)
    tasks.create(title="Bob's first")
    tasks.create(title="Bob's second", completed=True)
    return tasks


@HYPOTHESIS
@given(data=st.data())
def test_any_id_in_a_page_url_is_404_or_405_and_changes_nothing(
    attacker, other_user, victim_tasks, data
):
    victim_token, _ = AccessToken.objects.issue(other_user, "bob's")
    victim_ids = [str(pk) for pk in victim_tasks.values_list("pk", flat=True)]
    victim_ids.append(str(victim_token.pk))
    segment = data.draw(segments | st.sampled_from(victim_ids), label="id")
    before = snapshot(other_user)
    tokens_before = set(AccessToken.objects.for_user(other_user))
    client = signed_in(attacker)

    for path in [
        "/tasks/{}/",
        "/tasks/{}/edit/",
        "/tasks/{}/toggle/",
        "/tasks/{}/delete/",
        "/accounts/tokens/{}/revoke/",
    ]:
        url = path.format(segment)
        response = client.get(url)
        assert response.status_code in (404, 405), ("GET", url)
        response = post_form(client, url, {"title": "pwned", "version": "x"})
        assert response.status_code in (404, 405), ("POST", url)
    assert snapshot(other_user) == before
    assert set(AccessToken.objects.for_user(other_user)) == tokens_before
    assert snapshot(attacker) == []


# --- JSON API --------------------------------------------------------------------

json_text = hostile_text(surrogates=True)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    json_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=5,
)
field_values = st.one_of(json_text, json_text, json_values)
task_bodies = st.fixed_dictionaries(
    {},
    optional={
        "title": field_values,
        "description": field_values,
        "completed": st.booleans() | field_values,
        "user": json_values,
        "id": json_values,
    },
)
# Most bodies are objects; some are any other JSON, some not JSON at all.
bodies = st.one_of(
    task_bodies.map(json.dumps),
    task_bodies.map(json.dumps),
    json_values.map(json.dumps),
    st.binary(max_size=40),
)


def parsed(body: str | bytes):
    try:
        return json.loads(body)
    except ValueError:
        return None


def text_field(value, max_length: int, required: bool):
    """The stored value for a JSON text field, or None if it is invalid."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        return None
    return cleaned(value, max_length, required)


def expected_create(payload) -> tuple[str, str] | None:
    if not isinstance(payload, dict) or "title" not in payload:
        return None
    title = text_field(payload["title"], TITLE_MAX, required=True)
    description = text_field(payload.get("description"), DESCRIPTION_MAX, False)
    if title is None or description is None:
        return None
    return title, description


def expected_patch(payload, row: dict) -> dict | None:
    if not isinstance(payload, dict):
        return None
    new = dict(row)
    if "title" in payload:
        new["title"] = text_field(payload["title"], TITLE_MAX, required=True)
    if "description" in payload:
        new["description"] = text_field(payload["description"], DESCRIPTION_MAX, False)
    if "completed" in payload:
        completed = payload["completed"]
        new["completed"] = completed if isinstance(completed, bool) else None
    if None in new.values():
        return None
    return new


@pytest.fixture
def token(user) -> str:
    _, raw = AccessToken.objects.issue(user, "fuzz")
    return raw


def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


FIELDS = ("title", "description", "completed")


def row_of(task_id: int) -> dict:
    return Task.unscoped.filter(pk=task_id).values(*FIELDS).first()


@HYPOTHESIS
@given(body=bodies)
def test_api_create_saves_exactly_the_valid_task_or_answers_422(
    user, other_user, token, body
):
    before = snapshot(user)
    others = snapshot(other_user)

    response = api(token).post("/api/tasks", body, content_type="application/json")

    assert response.status_code < 500
    expected = expected_create(parsed(body))
    if expected is None:
        assert response.status_code == 422
        assert isinstance(response.json()["detail"], list)
        assert snapshot(user) == before
    else:
        assert response.status_code == 201, response.json()
        created = response.json()
        assert (created["title"], created["description"]) == expected
        assert created["completed"] is False
        assert row_of(created["id"]) == {
            "title": expected[0],
            "description": expected[1],
            "completed": False,
        }
        assert len(snapshot(user)) == len(before) + 1
    assert snapshot(other_user) == others


@HYPOTHESIS
@given(body=bodies)
def test_api_patch_applies_exactly_the_valid_change_or_answers_422(user, token, body):
    task = Task.objects.for_user(user).create(title="Original", description="Before")
    row = row_of(task.pk)

    response = api(token).patch(
        f"/api/tasks/{task.pk}", body, content_type="application/json"
    )

    assert response.status_code < 500
    expected = expected_patch(parsed(body), row)
    if expected is None:
        assert response.status_code == 422
        assert row_of(task.pk) == row
    else:
        assert response.status_code == 200, response.json()
        assert row_of(task.pk) == expected
        assert {k: response.json()[k] for k in FIELDS} == expected


@HYPOTHESIS
@given(body=bodies | st.builds(lambda ids: json.dumps({"task_ids": ids}), json_values))
def test_api_bulk_complete_completes_exactly_the_callers_ids_or_answers_422(
    user, other_user, token, body
):
    for n in range(3):
        Task.objects.for_user(user).create(title=f"Mine {n}")
    theirs = Task.objects.for_user(other_user).create(title="Theirs").pk
    others = snapshot(other_user)
    before = snapshot(user)

    response = api(token).post(
        "/api/tasks/bulk-complete", body, content_type="application/json"
    )

    assert response.status_code < 500
    payload = parsed(body)
    ids = payload.get("task_ids") if isinstance(payload, dict) else None
    valid = (
        isinstance(ids, list)
        and len(ids) <= 1000
        and all(type(pk) is int for pk in ids)
    )
    if not valid:
        assert response.status_code == 422
        assert snapshot(user) == before
    else:
        assert response.status_code == 200
        # The examples share the fixtures' database rows, so earlier examples'
        # tasks are the user's too, and may be among the ids.
        was_completed = {pk: completed for pk, _, _, completed, _ in before}
        hit = set(ids) & set(was_completed)
        assert response.json() == {"updated": len(hit)}
        assert dict(Task.objects.for_user(user).values_list("pk", "completed")) == {
            pk: completed or pk in hit for pk, completed in was_completed.items()
        }
    assert snapshot(other_user) == others
    assert theirs not in [row[0] for row in snapshot(user)]


query_values = st.one_of(
    st.none(),
    st.sampled_from(["true", "false", "0", "1", "100", "101", "-1", "", str(MAX_ID)]),
    st.integers(-(2**70), 2**70).map(str),
    hostile_text(),
)
CANONICAL_INT = r"-?(0|[1-9][0-9]*)"


@HYPOTHESIS
@given(completed=query_values, skip=query_values, limit=query_values)
def test_api_list_with_any_query_string_is_200_or_422(
    user, other_user, token, completed, skip, limit
):
    Task.objects.for_user(user).create(title="Mine")
    Task.objects.for_user(other_user).create(title="Theirs")
    params = {"completed": completed, "skip": skip, "limit": limit}
    query = urlencode({k: v for k, v in params.items() if v is not None})

    response = api(token).get(f"/api/tasks?{query}")

    assert response.status_code in (200, 422)
    if response.status_code == 200:
        mine = set(Task.objects.for_user(user).values_list("pk", flat=True))
        listed = [task["id"] for task in response.json()]
        assert set(listed) <= mine
        assert len(listed) <= 100

    # Where every value is written plainly, the outcome is known exactly.
    def ok(value, low, high) -> bool | None:
        if value is None:
            return True
        if not re.fullmatch(CANONICAL_INT, value):
            return None
        return low <= int(value) <= high

    verdicts = [
        ok(skip, 0, MAX_ID),
        ok(limit, 1, 100),
        completed in (None, "true", "false") or None,
    ]
    if all(v is not None for v in verdicts):
        assert (response.status_code == 200) == all(verdicts), params


@HYPOTHESIS
@given(data=st.data())
def test_any_id_in_an_api_url_is_404_or_422_and_changes_nothing(
    attacker, other_user, victim_tasks, data
):
    victim_ids = [str(pk) for pk in victim_tasks.values_list("pk", flat=True)]
    segment = data.draw(segments | st.sampled_from(victim_ids), label="id")
    _, raw = AccessToken.objects.issue(attacker, "fuzz")
    client = api(raw)
    before = snapshot(other_user)
    body = json.dumps({"title": "pwned", "completed": True})

    for method, path in [
        ("get", "/api/tasks/{}"),
        ("patch", "/api/tasks/{}"),
        ("delete", "/api/tasks/{}"),
        ("post", "/api/tasks/{}/toggle"),
    ]:
        url = path.format(segment)
        if method == "get":
            response = client.get(url)
        else:
            response = getattr(client, method)(
                url, body, content_type="application/json"
            )
        assert response.status_code in (404, 405, 422), (method, url)
        assert response["Content-Type"].startswith("application/json"), (method, url)
    assert snapshot(other_user) == before
    assert snapshot(attacker) == []


# --- Found by the properties above, kept as plain examples --------------------


@pytest.mark.parametrize("next_", ["0", "tasks:list", "admin:index", "javascript"])
def test_a_next_that_is_not_a_path_falls_back_to_the_list(user, next_):
    # redirect() took a bare word for a URL name to reverse: "0" was a 500,
    # "admin:index" a redirect chosen by whoever wrote the link.
    response = post_form(signed_in(user), "/tasks/new/", {"title": "x", "next": next_})
    assert response.status_code == 302
    assert response["Location"] == "/tasks/"


def test_a_login_with_an_overlong_username_is_a_form_error(user):
    # The name reached authenticate(), and django-axes could not store the
    # failure on PostgreSQL (varchar(255)): a 500.
    from axes.models import AccessAttempt

    response = post_form(
        Client(), "/accounts/login/", {"username": "a" * 300, "password": "x"}
    )
    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()
    assert not AccessAttempt.objects.exists()


def test_the_api_trims_before_it_counts_as_the_html_form_does(user, token):
    # pydantic's max_length counted the white space around a title too.
    body = json.dumps(
        {
            "title": " " + "a" * TITLE_MAX + "\n",
            "description": " " * 3 + "b" * DESCRIPTION_MAX,
        }
    )
    response = api(token).post("/api/tasks", body, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["title"] == "a" * TITLE_MAX
    assert response.json()["description"] == "b" * DESCRIPTION_MAX
