"""The recurrence engine (tasks.recurrence): fixed dates, never the real clock."""

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from dateutil.rrule import rrulestr
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks import recurrence
from tasks.models import RECURRENCE_MAX_LENGTH
from tasks.recurrence import describe, next_due, parse, presets, validate

BERLIN = ZoneInfo("Europe/Berlin")
NINE = time(9, 0)


def due_after(rule, due, today=None, *, due_time=None, zone=BERLIN, count=1):
    """next_due for a task on a fixed schedule, completed today (default: due)."""
    today = today or due
    return next_due(rule, "due", due, due_time, today, today, zone, count)


def chain(rule, due, steps):
    """The due dates of a series completed each day it is due."""
    dates = []
    for _ in range(steps):
        due, _time = due_after(rule, due)
        dates.append(due)
    return dates


# 2026's daylight-saving changes (Kolkata and UTC have none: the offset holds).
DST_CHANGES = [
    ("Europe/Berlin", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Pacific/Auckland", date(2026, 4, 5)),
    ("Pacific/Auckland", date(2026, 9, 27)),
    ("Asia/Kolkata", date(2026, 3, 29)),
    ("UTC", date(2026, 10, 25)),
]


@pytest.mark.parametrize(("zone_name", "change"), DST_CHANGES)
def test_daily_at_nine_stays_nine_local_across_the_dst_change(zone_name, change):
    zone = ZoneInfo(zone_name)
    before = change - timedelta(days=1)
    due, due_time = due_after("FREQ=DAILY", before, due_time=NINE, zone=zone)
    assert (due, due_time) == (change, NINE)
    offsets = {
        datetime.combine(day, NINE, zone).utcoffset() for day in (before, change)
    }
    assert len(offsets) == (1 if zone_name in ("Asia/Kolkata", "UTC") else 2)


@pytest.mark.parametrize(("zone_name", "change"), DST_CHANGES)
def test_weekly_at_nine_stays_nine_local_a_week_across_the_change(zone_name, change):
    zone = ZoneInfo(zone_name)
    start = change - timedelta(days=3)
    found = due_after("FREQ=WEEKLY", start, due_time=NINE, zone=zone)
    assert found == (start + timedelta(days=7), NINE)


def test_monthly_on_the_31st_skips_months_without_a_31st():
    assert chain("FREQ=MONTHLY;BYMONTHDAY=31", date(2026, 1, 31), 6) == [
        date(2026, 3, 31),
        date(2026, 5, 31),
        date(2026, 7, 31),
        date(2026, 8, 31),
        date(2026, 10, 31),
        date(2026, 12, 31),
    ]


def test_plain_monthly_from_the_31st_skips_the_same_way():
    assert chain("FREQ=MONTHLY", date(2026, 1, 31), 2) == [
        date(2026, 3, 31),
        date(2026, 5, 31),
    ]


def test_monthly_on_the_last_day_gives_the_last_day_of_each_month():
    assert chain("FREQ=MONTHLY;BYMONTHDAY=-1", date(2026, 1, 31), 3) == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert chain("FREQ=MONTHLY;BYMONTHDAY=-1", date(2028, 1, 31), 1) == [
        date(2028, 2, 29)
    ]


def test_every_weekday_skips_the_weekend():
    friday = date(2026, 3, 27)
    assert chain("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", friday, 2) == [
        date(2026, 3, 30),
        date(2026, 3, 31),
    ]


def test_monthly_on_the_last_friday_and_the_last_weekday():
    assert chain("FREQ=MONTHLY;BYDAY=-1FR", date(2026, 1, 30), 2) == [
        date(2026, 2, 27),
        date(2026, 3, 27),
    ]
    # May 2026 ends on a Sunday: its last weekday is Friday the 29th.
    rule = "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"
    assert chain(rule, date(2026, 4, 30), 1) == [date(2026, 5, 29)]


def test_recur_from_completion_counts_from_the_completion_day():
    due, done = date(2026, 1, 5), date(2026, 1, 8)
    found = next_due(
        "FREQ=WEEKLY;INTERVAL=2", "completion", due, NINE, done, done, BERLIN, 1
    )
    assert found == (date(2026, 1, 22), NINE)


def test_recur_from_completion_with_byday_takes_the_first_match_after_completion():
    due, done = date(2026, 1, 5), date(2026, 1, 7)  # a Monday, done on Wednesday
    found = next_due("FREQ=WEEKLY;BYDAY=MO", "completion", due, None, done, done,
                     BERLIN, 1)  # fmt: skip
    assert found == (date(2026, 1, 12), None)


def test_recur_from_completion_completed_early_may_land_before_the_old_due_date():
    due, done = date(2026, 1, 20), date(2026, 1, 5)
    found = next_due("FREQ=DAILY;INTERVAL=3", "completion", due, None, done, done,
                     BERLIN, 1)  # fmt: skip
    assert found == (date(2026, 1, 8), None)


def test_completing_late_on_a_fixed_schedule_lands_on_the_first_future_date():
    monday, today = date(2026, 1, 5), date(2026, 3, 11)
    assert due_after("FREQ=WEEKLY;BYDAY=MO", monday, today) == (date(2026, 3, 16), None)
    # every other Monday from 5 January: 2 March, 16 March, 30 March...
    every_other = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"
    assert due_after(every_other, monday, date(2026, 3, 17)) == (
        date(2026, 3, 30),
        None,
    )


def test_completing_centuries_late_keeps_the_phase_and_finishes():
    started = clock.perf_counter()
    found = due_after("FREQ=DAILY;INTERVAL=3", date(1, 1, 1), date(2026, 3, 11))
    assert clock.perf_counter() - started < 0.5
    assert (found[0] - date(1, 1, 1)).days % 3 == 0
    assert date(2026, 3, 11) < found[0] <= date(2026, 3, 14)


def test_completing_early_still_moves_past_the_tasks_own_due_date():
    due, today = date(2026, 3, 20), date(2026, 3, 10)
    assert due_after("FREQ=DAILY", due, today) == (date(2026, 3, 21), None)


def test_a_task_without_a_due_date_counts_from_the_completion_day():
    done = date(2026, 3, 10)
    for recur_from in ("due", "completion"):
        found = next_due("FREQ=DAILY;INTERVAL=2", recur_from, None, None, done,
                         done, BERLIN, 1)  # fmt: skip
        assert found == (date(2026, 3, 12), None)


def test_count_ends_the_series_after_that_many_tasks():
    rule, due = "FREQ=DAILY;COUNT=3", date(2026, 3, 1)
    assert due_after(rule, due, count=1) == (date(2026, 3, 2), None)
    assert due_after(rule, due, count=2) == (date(2026, 3, 2), None)
    assert due_after(rule, due, count=3) is None
    assert due_after("FREQ=DAILY;COUNT=1", due, count=1) is None


def test_until_ends_the_series_after_its_day():
    rule = "FREQ=DAILY;UNTIL=20260315"
    assert due_after(rule, date(2026, 3, 14), due_time=NINE) == (
        date(2026, 3, 15),
        NINE,
    )
    assert due_after(rule, date(2026, 3, 15), due_time=NINE) is None
    assert due_after(rule, date(2026, 3, 10), date(2026, 3, 20)) is None


@pytest.mark.parametrize(
    ("zone_name", "included"),
    [  # 08:00 UTC on 1 March is 09:00 in Berlin, 03:00 in New York
        ("Europe/Berlin", True),
        ("Asia/Kolkata", True),
        ("Pacific/Auckland", True),
        ("UTC", False),
        ("America/New_York", False),
    ],
)
def test_an_until_in_utc_is_read_in_the_owners_zone(zone_name, included):
    rule, zone = "FREQ=DAILY;UNTIL=20260301T080000Z", ZoneInfo(zone_name)
    found = due_after(rule, date(2026, 2, 28), due_time=NINE, zone=zone)
    assert found == ((date(2026, 3, 1), NINE) if included else None)


def test_no_rule_means_no_next_task():
    assert due_after("", date(2026, 3, 1)) is None


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SECONDLY",
        "FREQ=MINUTELY",
        "FREQ=HOURLY",
        "FREQ=DAILY;BYHOUR=9",
        "FREQ=DAILY;BYMINUTE=30",
        "FREQ=YEARLY;BYWEEKNO=20",
        "FREQ=YEARLY;BYYEARDAY=100",
        "FREQ=WEEKLY;WKST=SU",
        "FREQ=DAILY;COLOR=RED",
        "x" * 10_000,
        "FREQ=DAILY;" + "INTERVAL=1;" * 20,
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=1001",
        "FREQ=DAILY;COUNT=2;UNTIL=20260101",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=1000",
        "FREQ=YEARLY;INTERVAL=11",
        "FREQ=DAILY;INTERVAL=7;BYDAY=MO",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=MONTHLY;BYDAY=6MO",
        "FREQ=YEARLY;BYMONTH=6;BYDAY=34MO",
        "FREQ=MONTHLY;BYDAY=MO,1SU",
        "FREQ=MONTHLY;BYDAY=XX",
        "FREQ=WEEKLY;BYMONTHDAY=1",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=MONTHLY;BYMONTH=2",
        "FREQ=MONTHLY;BYSETPOS=1",
        "FREQ=DAILY;UNTIL=20260230",
        "FREQ=DAILY;UNTIL=tomorrow",
        "FREQ=DAILY\x00",
        "FREQ=DAILY;\nBYDAY=MO",
        "INTERVAL=2",
        "garbage",
        ";;;",
        "FREQ=",
    ],
)
def test_rules_outside_the_subset_are_refused(rule):
    with pytest.raises(ValidationError) as raised:
        parse(rule)
    assert raised.value.messages[0].endswith(".")


def test_refusals_say_why():
    def message(rule):
        with pytest.raises(ValidationError) as raised:
            parse(rule)
        return raised.value.messages[0]

    assert "BYHOUR" in message("FREQ=DAILY;BYHOUR=9")
    assert "DAILY, WEEKLY, MONTHLY or YEARLY" in message("FREQ=SECONDLY")
    assert "200 characters" in message("x" * 10_000)
    assert "not both" in message("FREQ=DAILY;COUNT=2;UNTIL=20260101")


def test_parse_gives_the_normal_form():
    assert parse("  rrule:freq=weekly;byday=fr,mo,mo;interval=1 ") == (
        "FREQ=WEEKLY;BYDAY=MO,FR"
    )
    assert parse("FREQ=MONTHLY;BYSETPOS=-1;BYDAY=FR,MO,TU,WE,TH;INTERVAL=2") == (
        "FREQ=MONTHLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"
    )
    assert parse("FREQ=DAILY;UNTIL=20261231T170000Z") == (
        "FREQ=DAILY;UNTIL=20261231T170000Z"
    )
    assert parse("") == parse("   ") == ""


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=7",
        "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31",  # from April: never a 31st
        "FREQ=DAILY;UNTIL=20260101",
    ],
)
def test_validate_refuses_a_rule_with_no_date_in_ten_years_and_finishes(rule):
    started = clock.perf_counter()
    with pytest.raises(ValidationError) as raised:
        validate(rule, date(2026, 4, 2))
    assert raised.value.code == "no_occurrence"
    # dateutil alone would search each of these up to the year 9999 (~1 s).
    assert clock.perf_counter() - started < 0.5
    parse(rule)  # each is well-formed: only its dates are missing


def test_validate_accepts_a_rule_whose_first_date_is_the_start():
    assert validate("freq=yearly;bymonth=2;bymonthday=29", date(2028, 2, 29)) == (
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"
    )
    assert validate("", date(2026, 1, 1)) == ""


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=DAILY", "Daily"),
        ("FREQ=DAILY;INTERVAL=3", "Every 3 days"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "Every weekday"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "Every 2 weeks on Monday"),
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "Weekly on Monday, Wednesday and Friday"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "Monthly on the last day"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15", "Monthly on days 1 and 15"),
        ("FREQ=MONTHLY;BYMONTHDAY=-2", "Monthly on the 2nd-to-last day"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "Monthly on the last Friday"),
        ("FREQ=MONTHLY;INTERVAL=3;BYDAY=2MO", "Every 3 months on the 2nd Monday"),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "Monthly on the last weekday",
        ),
        ("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=14", "Yearly on March 14"),
        ("FREQ=DAILY;COUNT=5", "Daily, 5 times"),
        ("FREQ=WEEKLY;UNTIL=20261231", "Weekly, until 2026-12-31"),
        ("", ""),
    ],
)
def test_describe_says_the_rule_in_words(rule, words):
    assert describe(rule) == words


def test_presets_are_built_from_the_due_date():
    assert presets(date(2026, 3, 31)) == [
        ("Daily", "FREQ=DAILY"),
        ("Every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        ("Weekly on Tuesday", "FREQ=WEEKLY;BYDAY=TU"),
        ("Monthly on day 31", "FREQ=MONTHLY;BYMONTHDAY=31"),
        ("Monthly on the last day", "FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("Yearly on March 31", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=31"),
    ]


def test_presets_without_a_due_date_follow_the_date_the_task_gets():
    rules = [rule for _label, rule in presets(None)]
    assert "FREQ=WEEKLY" in rules and "FREQ=YEARLY" in rules
    assert all(parse(rule) == rule for rule in rules)


def test_the_length_limit_is_the_models():
    assert recurrence.MAX_LENGTH == RECURRENCE_MAX_LENGTH


# --- Properties -------------------------------------------------------------

ZONES = sorted(available_timezones())
WEEKDAYS = recurrence.WEEKDAYS


@st.composite
def rules(draw):
    """A rule in the subset, as a user or an API client might write it."""
    freq = draw(st.sampled_from(list(recurrence.MAX_INTERVAL)))
    top = recurrence.MAX_INTERVAL[freq]
    interval = draw(st.one_of(st.integers(1, 4), st.integers(1, top)))
    parts = [f"FREQ={freq}", f"INTERVAL={interval}"]
    if freq == "YEARLY" and draw(st.booleans()):
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3))
        parts.append("BYMONTH=" + ",".join(map(str, months)))
    monthdays = st.integers(1, 31) | st.integers(-31, -1)
    if freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        days = draw(st.lists(monthdays, min_size=1, max_size=3))
        parts.append("BYMONTHDAY=" + ",".join(map(str, days)))
    if draw(st.booleans()) and not (freq == "DAILY" and interval % 7 == 0):
        in_months = freq == "MONTHLY" or any(p.startswith("BYMONTH=") for p in parts)
        limit = 5 if in_months else 53 if freq == "YEARLY" else 0
        ordinals = st.just("")
        if limit:
            ordinals |= st.integers(1, limit).map(str)
            ordinals |= st.integers(-limit, -1).map(str)
        ordinal = draw(ordinals)  # one kind per rule: with or without ordinals
        day = st.sampled_from(WEEKDAYS).map(lambda code: ordinal + code)
        parts.append("BYDAY=" + ",".join(draw(st.lists(day, min_size=1, max_size=5))))
        if freq == "MONTHLY" and draw(st.booleans()):
            positions = draw(st.lists(monthdays, min_size=1, max_size=2))
            parts.append("BYSETPOS=" + ",".join(map(str, positions)))
    ending = draw(st.sampled_from(["", "COUNT", "UNTIL"]))
    if ending == "COUNT":
        parts.append(f"COUNT={draw(st.integers(1, 1000))}")
    elif ending == "UNTIL":
        until = draw(st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)))
        parts.append(f"UNTIL={until:%Y%m%dT%H%M%S}" + draw(st.sampled_from(["", "Z"])))
    return ";".join(draw(st.permutations(parts)))


def reference(rule, dtstart, after, zone):
    """dateutil alone, from the series' own start: its first date after `after`."""
    parts = dict(part.split("=") for part in parse(rule).split(";"))
    until = parts.pop("UNTIL", None)
    parts.pop("COUNT", None)
    plain = ";".join(f"{name}={value}" for name, value in parts.items())
    found = rrulestr(plain, dtstart=dtstart).after(datetime.combine(after, time.max))
    if found and until:
        last = datetime.strptime(until[:15], "%Y%m%dT%H%M%S")
        if until.endswith("Z"):
            last = last.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
        if found > last:
            return None
    return found


dates = st.dates(date(2000, 1, 1), date(2100, 12, 31))
due_times = st.none() | st.times().map(lambda t: t.replace(microsecond=0))


@settings(deadline=None)
@given(
    rule=rules(),
    zone=st.sampled_from(ZONES),
    due=dates,
    lateness=st.integers(-400, 2000),
    due_time=due_times,
)
def test_the_next_due_date_is_dateutils_first_after_the_old_one_and_today(
    rule, zone, due, lateness, due_time
):
    zone, today = ZoneInfo(zone), due + timedelta(days=lateness)
    found = next_due(rule, "due", due, due_time, today, today, zone, 1)
    if found is None:
        return  # ended (COUNT=1, UNTIL) or no date within ten years
    next_date, next_time = found
    assert next_date > due and next_date > today
    assert next_time == due_time
    start = datetime.combine(due, due_time or time())
    assert reference(rule, start, max(due, today), zone).date() == next_date


@settings(deadline=None)
@given(rule=rules(), zone=st.sampled_from(ZONES), due=dates, done=dates)
def test_from_completion_the_next_date_is_dateutils_first_after_that_day(
    rule, zone, due, done
):
    zone = ZoneInfo(zone)
    found = next_due(rule, "completion", due, None, done, done, zone, 1)
    if found is None:
        return
    assert found[0] > done
    assert (
        reference(rule, datetime.combine(done, time()), done, zone).date() == (found[0])
    )


@settings(deadline=timedelta(milliseconds=500))
@given(
    rule=rules(),
    zone=st.sampled_from(ZONES),
    due=st.dates(),
    today=st.dates(),
    count=st.integers(1, 1000),
)
def test_any_rule_from_any_date_finishes_quickly(rule, zone, due, today, count):
    zone = ZoneInfo(zone)
    for recur_from in ("due", "completion"):
        found = next_due(rule, recur_from, due, None, today, today, zone, count)
        assert found is None or found[0] > today
    try:
        validate(rule, due, zone)
    except ValidationError as error:
        assert error.code == "no_occurrence"


@given(rule=rules())
def test_the_normal_form_is_stable_and_can_be_described(rule):
    normal = parse(rule)
    assert parse(normal) == normal
    assert len(normal) <= recurrence.MAX_LENGTH
    assert describe(rule) == describe(normal) != ""
