"""Recurring tasks: a validated subset of RFC 5545 RRULE, expanded by dateutil.

The rules are checked here and then parsed and expanded by ``dateutil.rrule``,
never by hand. Everything is computed on naive wall-clock datetimes in the
owner's zone, so a task due at 09:00 stays at 09:00 across a daylight-saving
change: the zone only matters for an ``UNTIL`` written in UTC.

Public API: ``parse``, ``validate``, ``next_due``, ``presets`` and ``describe``.
"""

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from django.core.exceptions import ValidationError

MAX_LENGTH = 200  # tasks.models.RECURRENCE_MAX_LENGTH (a test keeps them equal)
HORIZON = timedelta(days=3653)  # ten years: how far ahead a next occurrence may be
# One period of a plain rule is at most the horizon long, so a rule without
# BY parts always has its next occurrence within it.
MAX_INTERVAL = {"DAILY": 999, "WEEKLY": 520, "MONTHLY": 120, "YEARLY": 10}
MAX_COUNT = 1000
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WORKDAYS = ((0, "MO"), (0, "TU"), (0, "WE"), (0, "TH"), (0, "FR"))
DAY_NAMES = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
]
MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
PARTS = [
    "FREQ",
    "INTERVAL",
    "BYMONTH",
    "BYMONTHDAY",
    "BYDAY",
    "BYSETPOS",
    "COUNT",
    "UNTIL",
]
# Named so the message can say why rather than only "unknown".
OUTSIDE_SUBSET = {
    "BYHOUR": "the time comes from the task's due time",
    "BYMINUTE": "the time comes from the task's due time",
    "BYSECOND": "the time comes from the task's due time",
    "BYWEEKNO": "it is not in the supported subset",
    "BYYEARDAY": "it is not in the supported subset",
    "WKST": "weeks start on Monday",
}
BYDAY_RE = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
NUMBER_RE = re.compile(r"[+-]?\d{1,4}")
UNTIL_RE = re.compile(r"(\d{8})(T\d{6}Z?)?")


@dataclass(frozen=True)
class _Rule:
    freq: str
    interval: int = 1
    bymonth: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()
    byday: tuple[tuple[int, str], ...] = ()  # (ordinal, 0 for none; weekday code)
    bysetpos: tuple[int, ...] = ()
    count: int | None = None
    until: str = ""  # as written: YYYYMMDD, YYYYMMDDTHHMMSS (local) or ...Z (UTC)

    def __str__(self):
        def join(values):
            return ",".join(str(v) for v in values)

        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.bymonth:
            parts.append(f"BYMONTH={join(self.bymonth)}")
        if self.bymonthday:
            parts.append(f"BYMONTHDAY={join(self.bymonthday)}")
        if self.byday:
            days = (f"{n or ''}{code}" for n, code in self.byday)
            parts.append(f"BYDAY={join(days)}")
        if self.bysetpos:
            parts.append(f"BYSETPOS={join(self.bysetpos)}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until:
            parts.append(f"UNTIL={self.until}")
        return ";".join(parts)


def _invalid(message, code="invalid"):
    return ValidationError(message, code=code)


def _number(name, text, low, high, *, negatives=False):
    value = int(text) if NUMBER_RE.fullmatch(text) else None
    if value is None or not (
        low <= value <= high or (negatives and -high <= value <= -low)
    ):
        span = f"{low} to {high}" + (f" or -{low} to -{high}" if negatives else "")
        raise _invalid(f"{name} must be a whole number from {span}.")
    return value


def _numbers(name, text, low, high, *, negatives=False):
    values = {_number(name, v, low, high, negatives=negatives) for v in text.split(",")}
    return tuple(sorted(values, key=lambda n: (n < 0, abs(n))))


def _byday(text, freq, in_months):
    # An ordinal counts within the month, or within the year for a YEARLY rule
    # without BYMONTH (dateutil fails on 34MO within June, so it is refused).
    limit = {"MONTHLY": 5, "YEARLY": 5 if in_months else 53}.get(freq, 0)
    days = set()
    for item in text.split(","):
        match = BYDAY_RE.fullmatch(item)
        if not match:
            raise _invalid(
                f"BYDAY takes weekday codes ({', '.join(WEEKDAYS)}), "
                "optionally with an ordinal such as 2MO or -1FR."
            )
        ordinal = int(match[1] or 0)
        if match[1] and not limit:
            raise _invalid(
                "An ordinal in BYDAY (such as 2MO or -1FR) needs FREQ=MONTHLY "
                "or FREQ=YEARLY."
            )
        if match[1] and not 1 <= abs(ordinal) <= limit:
            raise _invalid(
                f"A BYDAY ordinal must be from 1 to {limit} or -1 to -{limit}."
            )
        days.add((ordinal, match[2]))
    if len({ordinal == 0 for ordinal, _ in days}) > 1:
        # RFC 5545 takes the union; dateutil requires both, so MO,1SU would
        # never happen: refused rather than read two ways.
        raise _invalid("BYDAY cannot mix days with an ordinal (2MO) and without (MO).")
    return tuple(sorted(days, key=lambda d: (WEEKDAYS.index(d[1]), d[0])))


def _until(text):
    match = UNTIL_RE.fullmatch(text)
    try:
        if not match:
            raise ValueError
        _until_datetime(text, ZoneInfo("UTC"))
    except ValueError:
        raise _invalid(
            "UNTIL must be a date such as 20261231 or a time such as 20261231T170000Z."
        ) from None
    return text


def _until_datetime(text, zone):
    """The last wall-clock moment, in zone, that UNTIL lets an occurrence have."""
    if len(text) == 8:  # a date: the whole of that day
        return datetime.combine(datetime.strptime(text, "%Y%m%d").date(), time.max)
    moment = datetime.strptime(text[:15], "%Y%m%dT%H%M%S")
    if text.endswith("Z"):
        moment = moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
    return moment


def _parse(text):
    if not isinstance(text, str):
        raise _invalid("A repeat rule must be text.")
    if len(text) > MAX_LENGTH:
        raise _invalid(
            f"A repeat rule is at most {MAX_LENGTH} characters.", "max_length"
        )
    if not text.isprintable():
        raise _invalid("A repeat rule cannot contain control characters.")
    text = text.strip().upper().removeprefix("RRULE:")
    if not text:
        return None
    given = {}
    for item in text.split(";"):
        name, equals, value = (word.strip() for word in item.partition("="))
        if not (name and equals and value):
            raise _invalid(
                "A repeat rule is NAME=VALUE parts separated by semicolons, "
                "such as FREQ=WEEKLY;BYDAY=MO."
            )
        if name in OUTSIDE_SUBSET:
            raise _invalid(f"{name} is not supported: {OUTSIDE_SUBSET[name]}.")
        if name not in PARTS:
            raise _invalid(
                f"{name[:20]} is not a supported part; use {', '.join(PARTS)}."
            )
        if name in given:
            raise _invalid(f"{name} appears more than once.")
        given[name] = value

    freq = given.pop("FREQ", None)
    if freq not in MAX_INTERVAL:
        raise _invalid("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY.")
    rule = _Rule(freq)
    if "INTERVAL" in given:
        interval = _number("INTERVAL", given["INTERVAL"], 1, MAX_INTERVAL[freq])
        rule = replace(rule, interval=interval)
    if "BYMONTH" in given:
        if freq != "YEARLY":
            raise _invalid("BYMONTH needs FREQ=YEARLY.")
        rule = replace(rule, bymonth=_numbers("BYMONTH", given["BYMONTH"], 1, 12))
    if "BYMONTHDAY" in given:
        if freq not in ("MONTHLY", "YEARLY"):
            raise _invalid("BYMONTHDAY needs FREQ=MONTHLY or FREQ=YEARLY.")
        days = _numbers("BYMONTHDAY", given["BYMONTHDAY"], 1, 31, negatives=True)
        rule = replace(rule, bymonthday=days)
    if "BYDAY" in given:
        rule = replace(rule, byday=_byday(given["BYDAY"], freq, rule.bymonth))
    if "BYSETPOS" in given:
        if freq != "MONTHLY" or not rule.byday:
            raise _invalid("BYSETPOS needs FREQ=MONTHLY and BYDAY.")
        positions = _numbers("BYSETPOS", given["BYSETPOS"], 1, 31, negatives=True)
        rule = replace(rule, bysetpos=positions)
    if "COUNT" in given and "UNTIL" in given:
        raise _invalid("A repeat rule takes COUNT or UNTIL, not both.")
    if "COUNT" in given:
        rule = replace(rule, count=_number("COUNT", given["COUNT"], 1, MAX_COUNT))
    if "UNTIL" in given:
        rule = replace(rule, until=_until(given["UNTIL"]))
    # Every 7th, 14th... day is always the same weekday, so a BYDAY filter
    # could never match: dateutil would then search up to the year 9999.
    if freq == "DAILY" and rule.byday and rule.interval % 7 == 0:
        raise _invalid(
            "Every 7 days (or a multiple) falls on one weekday: use FREQ=WEEKLY."
        )
    try:  # the last word is dateutil's
        _dateutil(rule, datetime(2000, 1, 1))
    except (ValueError, TypeError):
        raise _invalid("This repeat rule is not valid.") from None
    return rule


def parse(rule: str) -> str:
    """The rule in normal form ("" for none), or ValidationError saying why not.

    Accepts lower case, surrounding spaces and an "RRULE:" prefix; the normal
    form lists the parts in a fixed order, drops INTERVAL=1 and sorts and
    de-duplicates the values of each list.
    """
    parsed = _parse(rule)
    return str(parsed) if parsed else ""


def validate(rule: str, start: date, zone: ZoneInfo | None = None) -> str:
    """parse(), and refuse a rule with no occurrence from start to ten years on."""
    parsed = _parse(rule)
    if parsed is None:
        return ""
    if _first_from(parsed, datetime.combine(start, time()), start, zone) is None:
        raise _invalid(
            "This repeat rule has no date in the next ten years.", "no_occurrence"
        )
    return str(parsed)


def _dateutil(rule, dtstart):
    """dateutil's rrule for rule, without COUNT and UNTIL (applied by callers)."""
    plain = replace(rule, count=None, until="")
    return rrulestr(str(plain), dtstart=dtstart, cache=False)


def _anchored(rule, dtstart, first):
    """A start on the rule's grid at most one period before first, and the rule
    with the parts dateutil would take from DTSTART written out.

    Phase is kept (same weekday; same month or year modulo INTERVAL), so the
    occurrences from first on are unchanged, but a task completed years late
    does not make dateutil walk through every period in between.
    """
    if rule.freq in ("DAILY", "WEEKLY"):
        step = 7 * rule.interval  # whole weeks keep the weekday and the phase
        periods = max(0, (first - dtstart.date()).days // step)
        return rule, dtstart + timedelta(days=periods * step)
    if not rule.bymonthday and not rule.byday:
        # dateutil's defaults from DTSTART, which moving DTSTART would change
        if rule.freq == "MONTHLY":
            rule = replace(rule, bymonthday=(dtstart.day,))
        else:
            rule = replace(rule, bymonth=rule.bymonth or (dtstart.month,))
            rule = replace(rule, bymonthday=(dtstart.day,))
    if rule.freq == "MONTHLY":
        months = (first.year - dtstart.year) * 12 + first.month - dtstart.month
        shift = max(0, months // rule.interval) * rule.interval
        year, month = divmod(dtstart.year * 12 + dtstart.month - 1 + shift, 12)
        return rule, dtstart.replace(year=year, month=month + 1, day=1)
    years = max(0, (first.year - dtstart.year) // rule.interval) * rule.interval
    return rule, dtstart.replace(year=dtstart.year + years, month=1, day=1)


def _first_from(rule, dtstart, first, zone):
    """The rule's first occurrence (a naive local datetime) on or after the day
    first and within HORIZON of it, or None."""
    try:
        last = datetime.combine(first + HORIZON, time.max)
    except OverflowError:
        last = datetime.max
    if rule.until:
        last = min(last, _until_datetime(rule.until, zone or ZoneInfo("UTC")))
    if last < datetime.combine(first, time()):
        return None
    rule, dtstart = _anchored(rule, dtstart, first)
    # The bound. dateutil checks UNTIL only on days that match the rule, so a
    # rule that never matches (BYMONTHDAY=31 every 12th month from April, say)
    # would be searched up to the year 9999. The Gregorian calendar repeats
    # every 400 years, weekdays included, so the search is moved a multiple of
    # 400 years later, to end just before 9999: at most ~410 years of periods.
    years = max(0, (datetime.max.year - 1 - last.year) // 400) * 400

    def later(moment):
        return moment.replace(year=moment.year + years)

    found = (
        _dateutil(rule, later(dtstart))
        .replace(until=later(last))
        .after(later(datetime.combine(first, time())), inc=True)
    )
    return found and found.replace(year=found.year - years)


def next_due(
    rule: str,
    recur_from: str,
    due_date: date | None,
    due_time: time | None,
    completed_on: date,
    today: date,
    zone: ZoneInfo,
    completed_count: int,
) -> tuple[date, time | None] | None:
    """The due date and time of the series' next task, or None if there is none.

    - rule: the task's recurrence; "" gives None. An invalid rule raises
      ValidationError.
    - recur_from "due": the rule (started at the old due date) at its first
      occurrence after both the old due date and today. "completion": the rule
      started at the completion day, at its first occurrence after it (and
      after today). Without a due date, the completion day is the start.
    - completed_on and today: dates in the owner's zone.
    - completed_count: the tasks of the series so far, the completed one
      included (its sequence + 1); COUNT=n allows n tasks in all.
    - due_time is kept as it is (wall-clock time in the owner's zone); zone only
      reads an UNTIL given in UTC. A next occurrence more than ten years away
      ends the series too.
    """
    parsed = _parse(rule)
    if parsed is None:
        return None
    if parsed.count is not None and completed_count >= parsed.count:
        return None
    if recur_from == "due" and due_date is not None:
        start, after = due_date, max(due_date, today)
    else:
        start, after = completed_on, max(completed_on, today)
    try:
        first = after + timedelta(days=1)
    except OverflowError:
        return None
    dtstart = datetime.combine(start, due_time or time())
    found = _first_from(parsed, dtstart, first, zone)
    return (found.date(), due_time) if found else None


def _ordinal(n):
    if n == -1:
        return "last"
    if n < 0:
        return f"{_ordinal(-n)}-to-last"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10)
    return f"{n}{suffix or 'th'}"


def _and(words, last="and"):
    words = list(words)
    return (
        words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"
    )


# The add form describes the same few presets on every list page: 0.27 ms of
# parsing a page without the cache, 0.01 ms with it (measured).
@lru_cache(maxsize=512)
def describe(rule: str) -> str:
    """The rule in words, such as "Every 2 weeks on Monday"; "" for no rule."""
    r = _parse(rule)
    if r is None:
        return ""
    unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
    unit = unit[r.freq]
    every = (
        {"day": "Daily"}.get(unit, f"{unit.title()}ly")
        if r.interval == 1
        else f"Every {r.interval} {unit}s"
    )
    days = [DAY_NAMES[WEEKDAYS.index(code)] for _, code in r.byday]
    if r.byday == WORKDAYS and r.interval == 1 and r.freq in ("DAILY", "WEEKLY"):
        text = "Every weekday"
    else:
        text = every
        if len(r.bymonth) == len(r.bymonthday) == 1 and r.bymonthday[0] > 0:
            # the usual yearly rule: "Yearly on March 14"
            month, day = MONTH_NAMES[r.bymonth[0] - 1], r.bymonthday[0]
            return every + f" on {month} {day}" + _ending(r)
        if r.bymonth:
            text += f" in {_and(MONTH_NAMES[m - 1] for m in r.bymonth)}"
        if r.bymonthday:
            if all(n > 0 for n in r.bymonthday):
                text += f" on day{'s' if len(r.bymonthday) > 1 else ''} "
                text += _and(str(n) for n in r.bymonthday)
            else:
                text += " on " + _and(
                    f"day {n}" if n > 0 else f"the {_ordinal(n)} day"
                    for n in r.bymonthday
                )
            if r.byday:
                text += f", when a {_and(days, 'or')}"
        elif r.bysetpos:
            named = "weekday" if r.byday == WORKDAYS else _and(days, "or")
            text += f" on the {_and(_ordinal(n) for n in r.bysetpos)} {named}"
        elif r.byday and r.byday[0][0] == 0:  # plain weekdays: every one of them
            text += f" on {_and(days)}"
        elif r.byday:
            text += " on " + _and(
                f"the {_ordinal(n)} {name}"
                for (n, _), name in zip(r.byday, days, strict=True)
            )
    return text + _ending(r)


def _ending(r):
    if r.count is not None:
        return ", once" if r.count == 1 else f", {r.count} times"
    if r.until:
        return f", until {_until_datetime(r.until, ZoneInfo('UTC')):%Y-%m-%d}"
    return ""


def presets(due_date: date | None) -> list[tuple[str, str]]:
    """(label, rule) choices for the forms, the date-bound ones from due_date.

    Without a due date the weekly, monthly and yearly ones are plain rules,
    which follow whatever due date the task gets.
    """
    rules = ["FREQ=DAILY", str(_Rule("WEEKLY", byday=WORKDAYS))]
    if due_date is None:
        rules += ["FREQ=WEEKLY", "FREQ=MONTHLY"]
    else:
        weekday = WEEKDAYS[due_date.weekday()]
        rules += [f"FREQ=WEEKLY;BYDAY={weekday}"]
        rules += [f"FREQ=MONTHLY;BYMONTHDAY={due_date.day}"]
    rules += ["FREQ=MONTHLY;BYMONTHDAY=-1"]
    if due_date is None:
        rules += ["FREQ=YEARLY"]
    else:
        rules += [f"FREQ=YEARLY;BYMONTH={due_date.month};BYMONTHDAY={due_date.day}"]
    return [(describe(rule), rule) for rule in dict.fromkeys(rules)]
