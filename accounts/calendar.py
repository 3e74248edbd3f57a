"""The calendar feed: a secret address a calendar app subscribes to.

``/accounts/calendar/`` makes (or replaces) the address; ``/calendar/<token>.ics``
answers with the user's active tasks that have a due date, as iCalendar
(RFC 5545, written by the ``icalendar`` library), without a login: the token
is the credential, so only its SHA-256 is stored, and the request log shows
the path as ``/calendar/….ics`` (``todoproject.middleware.loggable_path``:
the URL parameter is named ``token``).

The feed costs two queries, whoever asks: the token with its user and
profile, and the tasks, whose owner is named by a subquery on the token's
hash. An unknown token runs both too (the second finds nothing), so a
404 takes about as long as an answer and says nothing by its timing.
"""

import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_GET, require_http_methods
from icalendar import Calendar, Event, Timezone

from tasks.models import Task
from todoproject.http_middleware import own_cache_control
from todoproject.replica import reads_primary

from .models import CalendarFeed, hash_token, profile_of

FEED_DAYS = 365  # how far ahead the feed reaches; overdue tasks are all in it
FEED_CACHE_CONTROL = "private, max-age=300"


def issue_feed(user) -> str:
    """Make ``user``'s feed address, replacing any old one; return its token.

    One statement (an upsert on the user): the old hash is gone once it has
    run. The token is returned once and never stored.
    """
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    feed = CalendarFeed(user=user, token_hash=hash_token(raw), created_at=now)
    CalendarFeed.objects.bulk_create(
        [feed],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=["token_hash", "created_at"],
    )
    return raw


class _FeedOwner:
    """Whoever the token names, as the database will find them: given to
    ``for_user()`` so the tasks' query need not wait for the token's (and
    runs, finding nothing, for an unknown token)."""

    is_authenticated = True

    def __init__(self, token_hash: str):
        self.pk = Subquery(
            CalendarFeed.objects.filter(
                token_hash=token_hash, user__is_active=True
            ).values("user_id")
        )


def _feed_tasks(token_hash: str):
    # Overdue ones included; the window's end is cut in the owner's zone
    # below (a day's slack here, whichever zone that is).
    horizon = timezone.now().date() + timedelta(days=FEED_DAYS + 1)
    return (
        Task.objects.for_user(_FeedOwner(token_hash))
        .active()
        .filter(due_date__isnull=False, due_date__lte=horizon)
        .order_by("due_date", "due_time", "id")
        .only("id", "title", "description", "due_date", "due_time", "updated_at")
    )


def calendar_for(user, tasks, host: str) -> bytes:
    """The iCalendar text of ``tasks``: an all-day event for a task without a
    time, else one at its wall-clock time in the owner's zone (``TZID``, with
    the zone's ``VTIMEZONE``)."""
    zone = profile_of(user).zone
    last_day = datetime.now(zone).date() + timedelta(days=FEED_DAYS)
    calendar = Calendar()
    calendar.add("prodid", "-//todo//Tasks due//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Todo")
    calendar.add("x-wr-timezone", str(zone.key))
    shown = [task for task in tasks if task.due_date <= last_day]
    timed_days = [task.due_date for task in shown if task.due_time is not None]
    if timed_days and zone.key != "UTC":  # UTC times are written as such ("Z")
        calendar.add_component(
            # From the first event to the window's end, whatever events the
            # window holds today: a reader that keeps one definition per
            # TZID keeps one that is right for every later event too.
            _vtimezone(zone, min(timed_days), last_day + timedelta(days=1))
        )
    for task in shown:
        event = Event()
        event.add("uid", f"task-{task.pk}@{host}")
        event.add("dtstamp", task.updated_at.astimezone(UTC))
        event.add("last-modified", task.updated_at.astimezone(UTC))
        if task.due_time is None:
            event.add("dtstart", task.due_date)
        else:
            event.add(
                "dtstart", datetime.combine(task.due_date, task.due_time, tzinfo=zone)
            )
        event.add("summary", task.title)
        if task.description:
            event.add("description", task.description)
        calendar.add_component(event)
    return calendar.to_ical()


def _vtimezone(zone, first_day: date, last_day: date) -> Timezone:
    """The ``VTIMEZONE`` of ``zone`` from ``first_day`` to ``last_day`` (the
    library's, computed from the zone database; a span of the feed's days,
    not 1970 to 2038, keeps it short and quick to make), with each ``RDATE``
    on a line of its own: RFC 5545 allows a list, but some readers (vobject)
    take only its first date and get every later daylight-saving change
    wrong."""
    component = Timezone.from_tzinfo(
        zone, tzid=zone.key, first_date=first_day, last_date=last_day
    )
    for observance in component.subcomponents:
        rdates = observance.pop("RDATE", [])
        for dates in rdates if isinstance(rdates, list) else [rdates]:
            for value in dates.dts:
                observance.add("rdate", value.dt)
    return component


@login_not_required
@require_GET
@own_cache_control
# A replaced address stops working at once, not once the replica catches up.
@reads_primary
def feed(request: HttpRequest, token: str) -> HttpResponse:
    token_hash = hash_token(token)
    subscription = (
        CalendarFeed.objects.select_related("user", "user__profile")
        .filter(token_hash=token_hash, user__is_active=True)
        .first()
    )
    tasks = list(_feed_tasks(token_hash))  # also for an unknown token: same work
    if subscription is None:
        raise Http404("No such calendar.")
    # The site's host name (checked against ALLOWED_HOSTS), for the UIDs.
    host = split_domain_port(request.get_host())[0] or "todo"
    body = calendar_for(subscription.user, tasks, host)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = FEED_CACHE_CONTROL
    # A 304 (with the same ETag and Cache-Control) when If-None-Match matches.
    return get_conditional_response(request, etag=etag, response=response)


@require_http_methods(["GET", "POST"])
def calendar_page(request: HttpRequest) -> HttpResponse:
    """The state of the user's feed; POST makes or replaces it (``action``
    ``create``), or turns it off (``action`` ``delete``)."""
    mine = CalendarFeed.objects.filter(user=request.user)
    new_url = None
    if request.method == "POST":
        if request.POST.get("action") == "delete":
            if mine.delete()[0]:
                messages.success(
                    request, "Calendar address turned off: it no longer works."
                )
        else:
            replaced = mine.exists()
            raw = issue_feed(request.user)
            new_url = request.build_absolute_uri(reverse("calendar-feed", args=[raw]))
            messages.success(
                request,
                "New calendar address made; the old one no longer works. "
                "Copy it now: it is shown once."
                if replaced
                else "Calendar address made. Copy it now: it is shown once.",
            )
    response = render(
        request,
        "accounts/calendar.html",
        {"feed": mine.first(), "new_url": new_url},
    )
    response["Cache-Control"] = "no-store"
    return response
