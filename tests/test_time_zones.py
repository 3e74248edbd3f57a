"""Each user's time zone: chosen at signup and on the account page, and every
time shown in it, with its abbreviation, at no extra query (contract, "Due
dates, time zones, recurrence, calendar")."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessToken, Profile, time_zone_names
from tests.factories import PASSWORD, make_tasks

pytestmark = pytest.mark.django_db

# 21:04 UTC on 30 November 2026: 22:04 in Berlin (CET), 16:04 in New York (EST).
MOMENT = datetime(2026, 11, 30, 21, 4, tzinfo=UTC)
TIME = re.compile(r'<time datetime="([^"]+)">([^<]+)</time>')


def set_zone(user, name: str) -> None:
    Profile.objects.filter(user=user).update(time_zone=name)


def shown_times(client) -> list[tuple[str, str]]:
    """The (datetime attribute, text) of each time on the token page."""
    return TIME.findall(client.get("/accounts/tokens/").content.decode())


@pytest.fixture
def token_made_at_moment(user):
    token, _ = AccessToken.objects.issue(user, "laptop")
    AccessToken.objects.filter(pk=token.pk).update(created_at=MOMENT)
    return token


# --- Every time in the user's zone ---------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "text", "iso"),
    [
        ("Europe/Berlin", "Nov. 30, 2026, 10:04 p.m. CET", "22:04:00+01:00"),
        ("America/New_York", "Nov. 30, 2026, 4:04 p.m. EST", "16:04:00-05:00"),
        ("UTC", "Nov. 30, 2026, 9:04 p.m. UTC", "21:04:00+00:00"),
    ],
)
def test_the_same_moment_is_shown_in_the_users_zone_with_its_abbreviation(
    alice_client, user, token_made_at_moment, zone, text, iso
):
    set_zone(user, zone)
    assert shown_times(alice_client) == [(f"2026-11-30T{iso}", text)]


def test_two_users_see_one_moment_each_in_their_own_zone(user, other_user):
    set_zone(user, "Europe/Berlin")
    set_zone(other_user, "America/New_York")
    browsers = {}
    for person in (user, other_user):
        token, _ = AccessToken.objects.issue(person, "script")
        AccessToken.objects.filter(pk=token.pk).update(created_at=MOMENT)
        browsers[person.username] = Client()
        browsers[person.username].force_login(person)

    # Interleaved on one thread: no request inherits the one before's zone.
    for _ in range(2):
        assert [text for _, text in shown_times(browsers["alice"])] == [
            "Nov. 30, 2026, 10:04 p.m. CET"
        ]
        assert [text for _, text in shown_times(browsers["bob"])] == [
            "Nov. 30, 2026, 4:04 p.m. EST"
        ]


def test_summer_time_shows_the_summer_abbreviation(alice_client, user):
    token, _ = AccessToken.objects.issue(user, "laptop")
    AccessToken.objects.filter(pk=token.pk).update(
        created_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    )
    set_zone(user, "Europe/Berlin")
    assert shown_times(alice_client)[0][1].endswith("July 1, 2026, 2 p.m. CEST")
    set_zone(user, "America/New_York")
    assert shown_times(alice_client)[0][1].endswith("July 1, 2026, 8 a.m. EDT")


def test_the_zone_is_the_users_not_the_servers(
    alice_client, user, token_made_at_moment, settings
):
    settings.TIME_ZONE = "Asia/Tokyo"
    set_zone(user, "Europe/Berlin")
    assert shown_times(alice_client)[0][1].endswith(" CET")


def test_a_request_leaves_no_zone_behind(alice_client, user):
    set_zone(user, "Pacific/Auckland")
    assert alice_client.get("/accounts/").status_code == 200
    assert timezone.get_current_timezone_name() == "UTC"


def test_a_user_made_without_a_profile_sees_utc_without_an_error(
    client, django_assert_max_num_queries
):
    # bulk_create sends no signal, so no profile row (as the benchmark's users).
    (bulk,) = get_user_model().objects.bulk_create(
        [get_user_model()(username="bulk", password="unused")]
    )
    token, _ = AccessToken.objects.issue(bulk, "laptop")
    AccessToken.objects.filter(pk=token.pk).update(created_at=MOMENT)
    client.force_login(bulk)
    assert not Profile.objects.filter(user=bulk).exists()

    with django_assert_max_num_queries(2):
        times = shown_times(client)
    assert [text for _, text in times] == ["Nov. 30, 2026, 9:04 p.m. UTC"]
    assert client.get("/tasks/").status_code == 200
    assert client.get("/accounts/").status_code == 200


# --- At no extra query ----------------------------------------------------------------


def test_the_account_page_activates_the_zone_in_its_one_query(
    alice_client, user, django_assert_num_queries
):
    set_zone(user, "Asia/Kolkata")
    # The session, its user and the profile: one query.
    with django_assert_num_queries(1):
        response = alice_client.get("/accounts/")
    assert response.status_code == 200
    assert 'value="Asia/Kolkata"' in response.content.decode()


def test_the_token_page_activates_the_zone_within_its_budget(
    alice_client, user, token_made_at_moment, django_assert_num_queries
):
    set_zone(user, "Europe/Berlin")
    with django_assert_num_queries(2):  # the session with its user, the tokens
        assert shown_times(alice_client)[0][1].endswith(" CET")


@pytest.mark.parametrize("query", ["", "?status=active", "?page=2", "?q=task"])
def test_the_list_page_keeps_its_budget_in_another_zone(
    alice_client, user, query, django_assert_max_num_queries
):
    set_zone(user, "America/New_York")
    make_tasks(user, 60)
    # The first visit reads ahead in UTC, learns the zone and reads again
    # (tasks.list_page); it leaves a cookie naming the zone for the next.
    alice_client.get("/tasks/")
    with django_assert_max_num_queries(3):
        response = alice_client.get("/tasks/" + query)
    assert response.status_code == 200
    assert timezone.get_current_timezone_name() == "UTC"  # left behind: none


def test_the_api_still_answers_in_utc_for_a_user_in_another_zone(user):
    set_zone(user, "Pacific/Auckland")
    _, raw = AccessToken.objects.issue(user, "script")
    make_tasks(user, 1)
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    with CaptureQueriesContext(connection) as queries:
        (task,) = api.get("/api/tasks").json()
    assert task["created_at"].endswith(("Z", "+00:00"))
    # The profile came joined to the token's query: no query of its own.
    assert not any('FROM "accounts_profile"' in q["sql"] for q in queries)


# --- Choosing it on the account page --------------------------------------------------


def test_the_account_page_offers_every_zone_in_a_searchable_labelled_field(
    alice_client,
):
    body = alice_client.get("/accounts/").content.decode()
    assert '<label for="id_time_zone">Time zone:</label>' in body
    field = re.search(r"<input [^>]*name=\"time_zone\"[^>]*>", body)[0]
    assert 'list="time-zone-names"' in field
    assert 'value="UTC"' in field
    datalist = re.search(r'<datalist id="time-zone-names">(.*?)</datalist>', body)[1]
    names = re.findall(r'<option value="([^"]+)">', datalist)
    assert names == time_zone_names()
    assert {"Europe/Berlin", "America/New_York", "Asia/Kolkata"} <= set(names)


def test_choosing_a_zone_saves_it_in_one_update_and_says_so(
    alice_client, user, django_assert_num_queries
):
    with django_assert_num_queries(2) as queries:  # the session; the UPDATE
        response = alice_client.post(
            "/accounts/time-zone/", {"time_zone": "Europe/Berlin"}
        )
    assert queries.captured_queries[1]["sql"].startswith("UPDATE")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/"
    assert Profile.objects.get(user=user).time_zone == "Europe/Berlin"
    page = alice_client.get("/accounts/").content.decode()
    assert "Time zone set to Europe/Berlin." in page
    assert 'value="Europe/Berlin"' in page


def test_a_zone_typed_in_another_case_is_saved_as_its_proper_name(alice_client, user):
    alice_client.post("/accounts/time-zone/", {"time_zone": "  america/new_york "})
    assert Profile.objects.get(user=user).time_zone == "America/New_York"


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus_Mons", "", "Europe", "CEST", "x" * 10_000, "Europe/Berlin\x00"],
)
def test_a_bad_zone_name_is_an_error_by_the_field_and_changes_nothing(
    alice_client, user, name
):
    set_zone(user, "Asia/Kolkata")
    response = alice_client.post("/accounts/time-zone/", {"time_zone": name})
    assert response.status_code == 200
    body = response.content.decode()
    error = re.search(r'<p class="error" id="id_time_zone_error">([^<]+)</p>', body)
    assert error, body
    assert Profile.objects.get(user=user).time_zone == "Asia/Kolkata"


def test_choosing_a_zone_is_post_only_and_needs_a_login(alice_client):
    assert alice_client.get("/accounts/time-zone/").status_code == 405
    response = Client().post("/accounts/time-zone/", {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_user_without_a_profile_can_choose_a_zone(client):
    (bulk,) = get_user_model().objects.bulk_create(
        [get_user_model()(username="bulk", password="unused")]
    )
    client.force_login(bulk)
    client.post("/accounts/time-zone/", {"time_zone": "Europe/Berlin"})
    assert Profile.objects.get(user=bulk).time_zone == "Europe/Berlin"


# --- At signup, from the browser ----------------------------------------------------


def sign_up(client, **extra) -> Profile:
    response = client.post(
        "/accounts/signup/",
        {"username": "carol", "password1": PASSWORD, "password2": PASSWORD, **extra},
    )
    assert response.status_code == 302, response.content.decode()
    return Profile.objects.get(user__username="carol")


def test_the_signup_form_carries_a_hidden_zone_filled_by_a_deferred_script(client):
    body = client.get("/accounts/signup/").content.decode()
    field = re.search(r"<input [^>]*name=\"time_zone\"[^>]*>", body)[0]
    assert 'type="hidden"' in field
    assert "data-browser-time-zone" in field
    assert re.search(r'<script src="[^"]*/js/time-zone\.js" defer></script>', body)
    # Hidden, so no label or box of its own.
    assert 'for="id_time_zone"' not in body


def test_signup_with_the_browsers_zone_keeps_it(client):
    assert sign_up(client, time_zone="Asia/Kolkata").time_zone == "Asia/Kolkata"


def test_signup_without_a_zone_is_utc(client):
    # JavaScript off: the field comes back empty, or not at all.
    assert sign_up(client).time_zone == "UTC"


@pytest.mark.parametrize(
    "sent", ["", "Mars/Olympus_Mons", "Etc/Unknown", "x" * 10_000, "\x00", "../../etc"]
)
def test_signup_with_a_zone_the_server_does_not_know_is_utc_not_an_error(client, sent):
    assert sign_up(client, time_zone=sent).time_zone == "UTC"


def test_after_signup_times_are_shown_in_the_browsers_zone(client):
    sign_up(client, time_zone="Europe/Berlin")
    token, _ = AccessToken.objects.issue(
        get_user_model().objects.get(username="carol"), "laptop"
    )
    AccessToken.objects.filter(pk=token.pk).update(created_at=MOMENT)
    assert shown_times(client)[0][1].endswith("10:04 p.m. CET")
