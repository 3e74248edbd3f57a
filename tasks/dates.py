"""Due dates: what "today" is for a user, the due views, how a due date reads.

A due date is a date in the owner's time zone, and a due time a wall-clock
time on it, so "today" and "overdue" depend on the zone of whoever looks:
a ``Clock`` is the present moment in one zone.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import F, Q
from django.utils import timezone

from accounts.models import profile_of

DUE_VIEWS = ("today", "upcoming", "overdue", "none")
# "Upcoming": due after today and at most this many days ahead.
UPCOMING_DAYS = 7
UTC = ZoneInfo("UTC")


def zone_of(user) -> ZoneInfo:
    """The user's time zone (UTC for a user made without a profile)."""
    return profile_of(user).zone


@dataclass(frozen=True)
class Clock:
    """Now, in one time zone."""

    zone: ZoneInfo
    now: datetime

    @classmethod
    def in_zone(cls, zone: ZoneInfo) -> "Clock":
        return cls(zone, timezone.now().astimezone(zone))

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def time(self) -> time:
        return self.now.time().replace(second=0, microsecond=0, tzinfo=None)


def due(view: str | None, clock: Clock) -> Q:
    """The tasks in due view ``view`` (``DUE_VIEWS``) as of ``clock``."""
    today = clock.today
    if view == "today":  # due today, or earlier and still not done
        return Q(due_date__lte=today)
    if view == "upcoming":
        return Q(due_date__gt=today, due_date__lte=today + timedelta(UPCOMING_DAYS))
    if view == "overdue":
        return Q(due_date__lt=today) | Q(due_date=today, due_time__lt=clock.time)
    if view == "none":
        return Q(due_date__isnull=True)
    return Q()


# The due views' order: soonest first, a day's tasks without a time before
# those with one (the same on SQLite and PostgreSQL, whose NULLs differ),
# then newest.
DUE_ORDER = [
    F("due_date").asc(),
    F("due_time").asc(nulls_first=True),
    "-created_at",
    "-id",
]


@dataclass(frozen=True)
class DueLabel:
    text: str
    overdue: bool
    when: str  # ISO 8601, for the <time> element


def due_label(
    due_date: date | None, due_time: time | None, clock: Clock, done: bool = False
):
    """How a due date reads in a row: "Today 09:00", "Tomorrow", "Mon 7 Dec",
    and overdue said in words ("Overdue: Yesterday"), unless ``done``; None
    without one."""
    if due_date is None:
        return None
    today = clock.today
    days = (due_date - today).days
    if days == 0:
        day = "Today"
    elif days == 1:
        day = "Tomorrow"
    elif days == -1:
        day = "Yesterday"
    elif due_date.year == today.year:
        day = f"{due_date:%a} {due_date.day} {due_date:%b}"
    else:
        day = f"{due_date.day} {due_date:%b %Y}"
    text = day if due_time is None else f"{day} {due_time:%H:%M}"
    overdue = not done and (
        days < 0 or (days == 0 and due_time is not None and due_time < clock.time)
    )
    when = due_date.isoformat() if due_time is None else f"{due_date}T{due_time:%H:%M}"
    return DueLabel(f"Overdue: {text}" if overdue else text, overdue, when)
