"""The calendar feed: a secret subscription address, and what it answers
(contract, "Due dates, time zones, recurrence, calendar")."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.calendar import issue_feed
from accounts.models import CalendarFeed, Profile, hash_token
from tasks.models import Task

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def today_in(zone) -> date:
    return datetime.now(zone).date()


@pytest.fixture
def berlin_user(user):
    Profile.objects.filter(user=user).update(time_zone="Europe/Berlin")
    return user


@pytest.fixture
def token(berlin_user) -> str:
    return issue_feed(berlin_user)


def feed_path(raw: str) -> str:
    return f"/calendar/{raw}.ics"


def get_feed(raw: str, **headers):
    # No session: a calendar app has none.
    return Client(headers=headers).get(feed_path(raw))


def read_with_vobject(body: bytes):
    # vobject keeps the first VTIMEZONE it meets for a TZID, process-wide, and
    # uses it for every later calendar naming that TZID: each test starts
    # afresh, as a calendar app reading only this feed would.
    vars(vobject.icalendar)["__tzidMap"].clear()
    return vobject.readOne(body.decode())


def events_of(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


def events(response) -> dict[str, icalendar.Event]:
    return events_of(response.content)


def add(user, title: str, **fields) -> Task:
    return Task.objects.for_user(user).create(title=title, **fields)


# --- What the feed holds ----------------------------------------------------------


def test_the_feed_is_icalendar_with_its_content_type(token, berlin_user):
    add(berlin_user, "Pay rent", due_date=today_in(BERLIN) + timedelta(days=3))
    response = get_feed(token)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n")
    assert "VERSION:2.0\r\n" in text
    assert "PRODID:" in text


def test_a_task_without_a_time_is_an_all_day_event(token, berlin_user):
    day = today_in(BERLIN) + timedelta(days=3)
    add(berlin_user, "Pay rent", due_date=day)
    event = events(get_feed(token))["Pay rent"]
    assert event.decoded("DTSTART") == day
    assert "DTSTART;VALUE=DATE:" + day.strftime("%Y%m%d") in get_feed(
        token
    ).content.decode().replace("\r\n ", "")


def test_a_task_with_a_time_starts_then_in_the_users_zone(token, berlin_user):
    day = today_in(BERLIN) + timedelta(days=10)
    add(berlin_user, "Dentist", due_date=day, due_time=time(9, 30))
    response = get_feed(token)
    event = events(response)["Dentist"]
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    start = event.decoded("DTSTART")
    assert (start.date(), start.time()) == (day, time(9, 30))
    assert start.utcoffset() == datetime.combine(day, time(9, 30), BERLIN).utcoffset()
    # The zone's definition travels with it, as RFC 5545 asks.
    calendar = icalendar.Calendar.from_ical(response.content)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_the_zone_is_the_users_own(token, berlin_user):
    Profile.objects.filter(user=berlin_user).update(time_zone="America/New_York")
    add(
        berlin_user,
        "Call",
        due_date=today_in(BERLIN) + timedelta(days=5),
        due_time=time(8),
    )
    event = events(get_feed(token))["Call"]
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event.decoded("DTSTART").time() == time(8)


def test_title_and_description_are_summary_and_description(token, berlin_user):
    title = 'Buy milk; eggs, "bread" \\ Ünïcödé 😀'
    description = "Line one\nline two, with; punctuation"
    add(
        berlin_user,
        title,
        description=description,
        due_date=today_in(BERLIN) + timedelta(days=1),
    )
    event = events(get_feed(token))[title]
    assert str(event["DESCRIPTION"]) == description


def test_every_event_has_a_stable_uid_and_a_dtstamp(token, berlin_user):
    task = add(berlin_user, "Pay rent", due_date=today_in(BERLIN))
    first = events(get_feed(token))["Pay rent"]
    again = events(get_feed(token))["Pay rent"]
    assert str(first["UID"]) == str(again["UID"]) == f"task-{task.pk}@testserver"
    assert "DTSTAMP" in first


def test_overdue_tasks_are_in_the_feed(token, berlin_user):
    add(berlin_user, "Long overdue", due_date=today_in(BERLIN) - timedelta(days=400))
    add(berlin_user, "Yesterday", due_date=today_in(BERLIN) - timedelta(days=1))
    assert {"Long overdue", "Yesterday"} <= set(events(get_feed(token)))


def test_only_active_tasks_with_a_due_date_within_a_year_are_in_the_feed(
    token, berlin_user, other_user
):
    today = today_in(BERLIN)
    add(berlin_user, "Today", due_date=today)
    add(berlin_user, "In a year", due_date=today + timedelta(days=365))
    add(berlin_user, "Beyond a year", due_date=today + timedelta(days=366))
    add(berlin_user, "No due date")
    done = add(berlin_user, "Completed", due_date=today)
    Task.objects.for_user(berlin_user).toggle(done.pk)
    trashed = add(berlin_user, "Trashed", due_date=today)
    Task.objects.for_user(berlin_user).filter(pk=trashed.pk).move_to_trash()
    add(other_user, "Bob's", due_date=today)
    issue_feed(other_user)

    assert set(events(get_feed(token))) == {"Today", "In a year"}


def test_a_user_without_tasks_gets_an_empty_calendar(token):
    response = get_feed(token)
    assert response.status_code == 200
    assert events(response) == {}


def test_a_second_independent_parser_reads_the_same_events(token, berlin_user):
    day = today_in(BERLIN) + timedelta(days=20)
    add(berlin_user, "All day, with; a comma", due_date=day, description="a\nb")
    add(berlin_user, "Timed", due_date=day, due_time=time(23, 45))
    parsed = read_with_vobject(get_feed(token).content)
    by_title = {event.summary.value: event for event in parsed.vevent_list}
    assert set(by_title) == {"All day, with; a comma", "Timed"}
    assert by_title["All day, with; a comma"].dtstart.value == day
    assert by_title["All day, with; a comma"].description.value == "a\nb"
    timed = by_title["Timed"].dtstart
    # vobject turns TZID into a tzinfo built from the feed's own VTIMEZONE.
    assert vobject.icalendar.TimezoneComponent.pickTzid(timed.value.tzinfo) == (
        "Europe/Berlin"
    )
    assert (timed.value.date(), timed.value.time()) == (day, time(23, 45))
    assert parsed.vtimezone.tzid.value == "Europe/Berlin"


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Berlin",
        "America/New_York",
        "Pacific/Auckland",
        "Asia/Kolkata",
        "Australia/Lord_Howe",
        "UTC",
    ],
)
def test_both_parsers_put_each_timed_event_at_the_same_instant_all_year(
    token, berlin_user, zone
):
    Profile.objects.filter(user=berlin_user).update(time_zone=zone)
    tz = ZoneInfo(zone)
    first = today_in(tz)
    # Every fortnight for a year: both daylight-saving changes, wherever.
    days = [first + timedelta(days=n) for n in range(0, 365, 14)]
    for n, day in enumerate(days):
        add(berlin_user, f"Task {n}", due_date=day, due_time=time(9, 15))
    expected = {
        f"Task {n}": datetime.combine(day, time(9, 15), tz)
        for n, day in enumerate(days)
    }
    body = get_feed(token).content

    with_icalendar = {
        title: event.decoded("DTSTART") for title, event in events_of(body).items()
    }
    with_vobject = {
        event.summary.value: event.dtstart.value
        for event in read_with_vobject(body).vevent_list
    }
    for title, instant in expected.items():
        assert with_icalendar[title] == instant, title
        assert with_icalendar[title].utcoffset() == instant.utcoffset(), title
        assert with_vobject[title] == instant, title
        assert with_vobject[title].utcoffset() == instant.utcoffset(), title


# --- Caching -----------------------------------------------------------------------


def test_the_feed_answers_an_etag_and_may_be_kept_briefly_by_the_client(token):
    response = get_feed(token)
    assert re.fullmatch(r'"[0-9a-f]{32}"', response["ETag"])
    assert response["Cache-Control"] == "private, max-age=300"
    assert "no-store" not in response["Cache-Control"]


def test_a_matching_if_none_match_is_a_304_without_a_body(token, berlin_user):
    add(berlin_user, "Pay rent", due_date=today_in(BERLIN))
    etag = get_feed(token)["ETag"]
    response = get_feed(token, **{"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert response["Cache-Control"] == "private, max-age=300"
    assert get_feed(token, **{"If-None-Match": '"other", ' + etag}).status_code == 304


def test_a_changed_task_changes_the_etag(token, berlin_user):
    task = add(berlin_user, "Pay rent", due_date=today_in(BERLIN))
    etag = get_feed(token)["ETag"]
    Task.objects.for_user(berlin_user).filter(pk=task.pk).update(title="Pay the rent")
    response = get_feed(token, **{"If-None-Match": etag})
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert "Pay the rent" in events(response)


def test_head_answers_like_get(token):
    response = Client().head(feed_path(token))
    assert response.status_code == 200
    assert response.content == b""
    assert response["ETag"] == get_feed(token)["ETag"]


# --- The token ------------------------------------------------------------------------


def test_an_unknown_token_is_a_404_that_may_not_be_kept(token):
    response = get_feed(("y" if token[0] == "x" else "x") + token[1:])
    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"]
    assert get_feed("nonsense").status_code == 404


@pytest.mark.in_process("compares the SQL of its own queries")
def test_a_known_and_an_unknown_token_cost_the_same_two_queries(
    token, berlin_user, django_assert_max_num_queries
):
    for n in range(30):
        add(berlin_user, f"Task {n}", due_date=today_in(BERLIN) + timedelta(days=n))
    with django_assert_max_num_queries(2), CaptureQueriesContext(connection) as known:
        assert get_feed(token).status_code == 200
    # Another token of the same shape (one character changed, whichever the
    # first one is: a token may start with "x" too).
    other = ("y" if token[0] == "x" else "x") + token[1:]
    with CaptureQueriesContext(connection) as unknown:
        assert get_feed(other).status_code == 404
    assert len(unknown) == len(known) == 2
    # The same statements, whichever token.
    assert [q["sql"] for q in unknown] == [
        q["sql"].replace(hash_token(token), hash_token(other)) for q in known
    ]


def test_only_the_tokens_hash_is_stored(token, berlin_user):
    (feed,) = CalendarFeed.objects.all()
    assert feed.token_hash == hash_token(token)
    assert len(feed.token_hash) == 64
    assert token not in repr(list(CalendarFeed.objects.values()))


def test_a_deactivated_users_feed_is_gone(token, berlin_user):
    berlin_user.is_active = False
    berlin_user.save()
    assert get_feed(token).status_code == 404


def test_the_feed_needs_no_login_and_touches_no_session(token):
    response = get_feed(token)
    assert response.status_code == 200
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


# --- The page that makes the address -------------------------------------------------


def test_the_account_page_links_to_the_calendar_page(alice_client):
    assert (
        'href="/accounts/calendar/"' in alice_client.get("/accounts/").content.decode()
    )


def test_the_calendar_page_needs_a_login():
    response = Client().get("/accounts/calendar/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.in_process("names the test client's scheme, http://")
def test_making_an_address_shows_it_once(alice_client, user):
    page = alice_client.get("/accounts/calendar/").content.decode()
    assert "You have no calendar address" in page
    assert 'id="calendar-url"' not in page

    response = alice_client.post("/accounts/calendar/", {"action": "create"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    url = re.search(r'<code class="token" id="calendar-url">([^<]+)</code>', body)[1]
    assert re.fullmatch(r"http://testserver/calendar/[A-Za-z0-9_-]{43}\.ics", url)
    raw = url.removeprefix("http://testserver/calendar/").removesuffix(".ics")
    assert CalendarFeed.objects.get(user=user).token_hash == hash_token(raw)
    assert get_feed(raw).status_code == 200

    again = alice_client.get("/accounts/calendar/").content.decode()
    assert raw not in again
    assert 'id="calendar-url"' not in again
    assert "You have a calendar address, made" in again


def test_a_new_address_kills_the_old_one_at_once(alice_client, user):
    first = issue_feed(user)
    assert get_feed(first).status_code == 200
    body = alice_client.post("/accounts/calendar/", {"action": "create"})
    body = body.content.decode()
    assert "the old one no longer works" in body
    second = re.search(r"/calendar/([^<.]+)\.ics</code>", body)[1]

    assert get_feed(first).status_code == 404
    assert get_feed(second).status_code == 200
    assert CalendarFeed.objects.count() == 1


def test_the_address_can_be_turned_off(alice_client, user):
    raw = issue_feed(user)
    response = alice_client.post("/accounts/calendar/", {"action": "delete"})
    assert response.status_code == 200
    assert "no longer works" in response.content.decode()
    assert get_feed(raw).status_code == 404
    assert not CalendarFeed.objects.exists()


def test_one_users_new_address_leaves_anothers_alone(alice_client, user, other_user):
    bobs = issue_feed(other_user)
    alice_client.post("/accounts/calendar/", {"action": "create"})
    alice_client.post("/accounts/calendar/", {"action": "delete"})
    assert get_feed(bobs).status_code == 200


def test_a_user_deleted_takes_the_feed_along(token, berlin_user):
    get_user_model().objects.filter(pk=berlin_user.pk).delete()
    assert get_feed(token).status_code == 404
    assert not CalendarFeed.objects.exists()


def test_the_feed_window_is_counted_in_the_users_zone(token, berlin_user):
    # A day further ahead for someone whose day has already begun.
    Profile.objects.filter(user=berlin_user).update(time_zone="Pacific/Kiritimati")
    last = today_in(ZoneInfo("Pacific/Kiritimati")) + timedelta(days=365)
    add(berlin_user, "Last day", due_date=last)
    add(berlin_user, "Day after", due_date=last + timedelta(days=1))
    assert set(events(get_feed(token))) == {"Last day"}


def test_times_in_the_feed_ignore_the_servers_zone(token, berlin_user, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    add(berlin_user, "Dentist", due_date=timezone.localdate(), due_time=time(9))
    event = events(get_feed(token))["Dentist"]
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTSTART").time() == time(9)
