"""The JSON API's due dates, times and repeat rules: the task object's fields,
their checks, the ?due= views, recurring tasks and the query budgets."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import AccessToken, profile_of
from tasks import dates, recurrence
from tasks.models import RECURRENCE_MAX_LENGTH, RecurFrom, Task, TaskList
from tasks.schemas import (
    DATE_PATTERN,
    RECURRENCE_PATTERN,
    TIME_PATTERN,
    DueView,
    RecurFromValue,
    _numbers_up_to,
)
from tests.test_api import bearer_client, error_locs, patch, post, snapshot

pytestmark = pytest.mark.django_db

DUE_FIELDS = {"due_date", "due_time", "recurrence", "recur_from"}


@pytest.fixture
def api(user):
    return bearer_client(user)


@pytest.fixture
def fresh_api(api, user):
    """A token client whose token was just used, so no last_used write."""
    AccessToken.objects.for_user(user).update(last_used_at=timezone.now())
    return api


def clock_of(user) -> dates.Clock:
    return dates.Clock.in_zone(dates.zone_of(user))


def add(user, title: str, **fields) -> Task:
    return Task.objects.for_user(user).create(title=title, **fields)


def field_errors(response) -> list[str]:
    """The fields a 422 names (the last part of each error's loc)."""
    return [loc[-1] for loc in error_locs(response)]


# --- The task object ------------------------------------------------------------


def test_a_new_task_has_no_due_date_no_rule_and_counts_from_the_due_date(api):
    data = post(api, "/api/tasks", {"title": "Plain"}).json()

    assert {name: data[name] for name in DUE_FIELDS} == {
        "due_date": None,
        "due_time": None,
        "recurrence": None,
        "recur_from": "due",
    }


def test_the_due_fields_round_trip_through_create_get_list_and_patch(api, user):
    sent = {
        "due_date": "2026-12-24",
        "due_time": "09:30",
        "recurrence": "FREQ=WEEKLY;BYDAY=TH",
        "recur_from": "completion",
    }
    created = post(api, "/api/tasks", {"title": "Gifts", **sent})

    assert created.status_code == 201
    data = created.json()
    assert {name: data[name] for name in DUE_FIELDS} == sent
    assert api.get(f"/api/tasks/{data['id']}").json() == data
    assert api.get("/api/tasks").json() == [data]
    stored = snapshot(Task(pk=data["id"]))
    assert (stored["due_date"], stored["due_time"]) == (date(2026, 12, 24), time(9, 30))
    assert (stored["recurrence"], stored["recur_from"]) == (
        sent["recurrence"],
        "completion",
    )

    # PATCH sends back what GET gave: nothing changes but updated_at.
    again = patch(api, f"/api/tasks/{data['id']}", {k: data[k] for k in DUE_FIELDS})
    assert {name: again.json()[name] for name in DUE_FIELDS} == sent


def test_a_time_with_seconds_in_the_database_is_written_as_hh_mm(api, user):
    task = add(user, "From the HTML form", due_date=date(2026, 3, 1))
    Task.objects.for_user(user).filter(pk=task.pk).update(due_time=time(7, 5, 59))

    assert api.get(f"/api/tasks/{task.pk}").json()["due_time"] == "07:05"


def test_a_rule_is_stored_and_answered_in_normal_form(api):
    data = post(
        api,
        "/api/tasks",
        {"title": "x", "recurrence": " rrule:freq=weekly;interval=1;byday=fr,mo "},
    ).json()

    assert data["recurrence"] == "FREQ=WEEKLY;BYDAY=MO,FR"


@pytest.mark.parametrize("empty", [None, ""])
def test_no_rule_is_null_in_json_and_empty_in_the_database(api, empty):
    data = post(api, "/api/tasks", {"title": "x", "recurrence": empty}).json()

    assert data["recurrence"] is None
    assert snapshot(Task(pk=data["id"]))["recurrence"] == ""


def test_patch_changes_only_the_due_fields_sent(api, user):
    task = add(
        user,
        "Dentist",
        description="Bring the card",
        due_date=date(2026, 5, 4),
        due_time=time(8, 15),
        recurrence="FREQ=YEARLY",
    )
    before = snapshot(task)

    response = patch(api, f"/api/tasks/{task.pk}", {"due_time": "16:45"})

    assert response.status_code == 200
    after = snapshot(task)
    assert after["due_time"] == time(16, 45)
    assert after["updated_at"] > before["updated_at"]
    unchanged = set(before) - {"due_time", "updated_at"}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}


def test_patch_with_null_due_date_clears_the_time_too(api, user):
    task = add(user, "x", due_date=date(2026, 5, 4), due_time=time(8, 15))

    data = patch(api, f"/api/tasks/{task.pk}", {"due_date": None}).json()

    assert (data["due_date"], data["due_time"]) == (None, None)
    assert (snapshot(task)["due_date"], snapshot(task)["due_time"]) == (None, None)


@pytest.mark.parametrize("cleared", [None, ""])
def test_patch_with_null_or_empty_recurrence_stops_the_repeats(api, user, cleared):
    task = add(user, "x", recurrence="FREQ=DAILY")

    data = patch(api, f"/api/tasks/{task.pk}", {"recurrence": cleared}).json()

    assert data["recurrence"] is None
    assert snapshot(task)["recurrence"] == ""


def test_patch_can_set_a_date_and_a_time_together(api, task):
    data = patch(
        api, f"/api/tasks/{task.pk}", {"due_date": "2027-01-31", "due_time": "23:59"}
    ).json()

    assert (data["due_date"], data["due_time"]) == ("2027-01-31", "23:59")


def test_patch_of_a_time_alone_keeps_the_stored_date(api, user):
    task = add(user, "x", due_date=date(2026, 8, 1))

    data = patch(api, f"/api/tasks/{task.pk}", {"due_time": "06:00"}).json()

    assert (data["due_date"], data["due_time"]) == ("2026-08-01", "06:00")


# --- Invalid input: 422 naming the field, nothing saved ---------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"due_date": "2026-02-30"}, "due_date"),
        ({"due_date": "2026-13-01"}, "due_date"),
        ({"due_date": "0000-01-01"}, "due_date"),
        ({"due_date": "2026-2-3"}, "due_date"),
        ({"due_date": "12/24/2026"}, "due_date"),
        ({"due_date": "2026-12-24T10:00:00"}, "due_date"),
        ({"due_date": "2026-12-24\n"}, "due_date"),
        ({"due_date": 20261224}, "due_date"),
        ({"due_date": "\uff12\uff10\uff12\uff16-12-24"}, "due_date"),  # fullwidth
        ({"due_date": "2026-12-24", "due_time": "24:00"}, "due_time"),
        ({"due_date": "2026-12-24", "due_time": "9:30"}, "due_time"),
        ({"due_date": "2026-12-24", "due_time": "09:30:00"}, "due_time"),
        ({"due_date": "2026-12-24", "due_time": "09:60"}, "due_time"),
        ({"due_date": "2026-12-24", "due_time": 930}, "due_time"),
        ({"due_time": "09:30"}, "due_time"),  # a time without a date
        ({"due_date": None, "due_time": "09:30"}, "due_time"),
        ({"recurrence": "FREQ=SECONDLY"}, "recurrence"),
        ({"recurrence": "FREQ=DAILY;BYHOUR=9"}, "recurrence"),
        ({"recurrence": "FREQ=WEEKLY;BYDAY=XX"}, "recurrence"),
        ({"recurrence": "FREQ=DAILY;COUNT=1;UNTIL=20270101"}, "recurrence"),
        ({"recurrence": "FREQ=DAILY;INTERVAL=1000"}, "recurrence"),
        ({"recurrence": "FREQ=DAILY;UNTIL=20000101"}, "recurrence"),
        ({"recurrence": "nonsense"}, "recurrence"),
        ({"recurrence": "FREQ=DAILY\x00"}, "recurrence"),
        ({"recurrence": "FREQ=DAILY\ud800"}, "recurrence"),
        ({"recurrence": "F" * 10_000}, "recurrence"),
        ({"recurrence": "FREQ=DAILY;" + "COUNT=1;" * 1250}, "recurrence"),
        ({"recurrence": 7}, "recurrence"),
        ({"recur_from": "never"}, "recur_from"),
        ({"recur_from": None}, "recur_from"),
        ({"recur_from": ""}, "recur_from"),
    ],
)
def test_create_with_invalid_due_fields_is_422_naming_the_field(api, user, body, field):
    response = post(api, "/api/tasks", {"title": "x", **body})

    assert field_errors(response) == [field]
    assert not Task.objects.for_user(user).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"due_date": "2026-02-30"}, "due_date"),
        ({"due_date": None, "due_time": "09:30"}, "due_time"),
        ({"due_time": "25:00"}, "due_time"),
        ({"recurrence": "FREQ=SECONDLY"}, "recurrence"),
        ({"recurrence": "FREQ=DAILY;BYHOUR=9"}, "recurrence"),
        ({"recurrence": "x" * 10_000}, "recurrence"),
        ({"recur_from": None}, "recur_from"),
        ({"recur_from": "due date"}, "recur_from"),
    ],
)
def test_patch_with_invalid_due_fields_is_422_and_changes_nothing(
    api, user, body, field
):
    task = add(user, "x", due_date=date(2026, 5, 4), due_time=time(8, 15))
    before = snapshot(task)

    response = patch(api, f"/api/tasks/{task.pk}", {"title": "changed", **body})

    assert field_errors(response) == [field]
    assert snapshot(task) == before


def test_patch_of_a_time_for_a_task_without_a_date_is_422_not_a_database_error(
    api, task
):
    before = snapshot(task)

    response = patch(
        api, f"/api/tasks/{task.pk}", {"due_time": "09:30", "title": "changed"}
    )

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "invalid",
            "loc": ["body", "payload", "due_time"],
            "msg": "Give the date this time is on.",
        }
    ]
    assert snapshot(task) == before


def test_patch_of_a_time_for_a_missing_task_is_404(api, other_task):
    for task_id in (other_task.pk, 999_999):
        response = patch(api, f"/api/tasks/{task_id}", {"due_time": "09:30"})
        assert response.status_code == 404
        assert response.json() == {"detail": "Task not found"}
    assert snapshot(other_task)["due_time"] is None


def test_patch_of_a_time_and_a_list_for_a_task_with_a_date_says_the_list(
    api, user, other_user
):
    task = add(user, "x", due_date=date(2026, 5, 4))
    bobs = TaskList.objects.for_user(other_user).get()

    response = patch(
        api, f"/api/tasks/{task.pk}", {"due_time": "09:30", "list_id": bobs.pk}
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "List not found"}


def test_the_rule_is_checked_from_the_due_date_sent(api):
    # No date in the ten years from 2030, but one from 2026 on.
    rule = "FREQ=DAILY;UNTIL=20291231"
    body = {"title": "x", "recurrence": rule}

    assert post(api, "/api/tasks", {**body, "due_date": "2026-01-01"}).status_code == (
        201
    )
    response = post(api, "/api/tasks", {**body, "due_date": "2030-01-01"})
    assert field_errors(response) == ["recurrence"]


# --- GET /api/tasks?due= ----------------------------------------------------------


@pytest.fixture
def due_tasks(user):
    """Tasks around today in the user's zone, keyed by name."""
    today = clock_of(user).today
    tasks = {
        "none": add(user, "No date"),
        "last week": add(user, "Last week", due_date=today - timedelta(7)),
        "yesterday 18:00": add(
            user, "Yesterday", due_date=today - timedelta(1), due_time=time(18)
        ),
        "today": add(user, "Today", due_date=today),
        "today 00:00": add(user, "Today early", due_date=today, due_time=time(0)),
        "tomorrow": add(user, "Tomorrow", due_date=today + timedelta(1)),
        "in 7 days": add(user, "In a week", due_date=today + timedelta(7)),
        "in 8 days": add(user, "Later", due_date=today + timedelta(8)),
    }
    # A second task due today, made later: newest first within a day.
    tasks["today (newer)"] = add(user, "Today newer", due_date=today)
    return tasks


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [task["id"] for task in response.json()]


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (
            "today",
            [
                "last week",
                "yesterday 18:00",
                "today (newer)",
                "today",
                "today 00:00",
            ],
        ),
        ("upcoming", ["tomorrow", "in 7 days"]),
        ("none", ["none"]),
    ],
)
def test_the_due_views_filter_and_sort_soonest_first_then_newest(
    api, due_tasks, view, expected
):
    response = api.get(f"/api/tasks?due={view}")

    assert ids(response) == [due_tasks[name].pk for name in expected]


def test_overdue_is_before_today_or_past_its_time_today(api, user, due_tasks):
    response = api.get("/api/tasks?due=overdue")

    # 00:00 today is past unless it is 00:00 still.
    late_today = ["today 00:00"] if clock_of(user).time > time(0) else []
    assert ids(response) == [
        due_tasks[name].pk for name in ["last week", "yesterday 18:00", *late_today]
    ]


def test_today_is_the_users_today_in_their_time_zone(api, user):
    # Far from UTC either way, one of these zones is on another date than UTC
    # for most of the day; "today" must follow the user's zone.
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"):
        profile = profile_of(user)
        profile.time_zone = zone
        profile.save()
        their_today = timezone.now().astimezone(ZoneInfo(zone)).date()
        Task.objects.for_user(user).delete_rows()
        for offset in (-1, 0, 1):
            add(user, f"{offset}", due_date=their_today + timedelta(offset))

        titles = [task["title"] for task in api.get("/api/tasks?due=today").json()]

        assert titles == ["-1", "0"], zone


def test_the_due_view_combines_with_completed_list_q_skip_and_limit(api, user):
    today = clock_of(user).today
    errands = api.post(
        "/api/lists", {"name": "Errands"}, content_type="application/json"
    ).json()
    for n in range(4):
        add(user, f"Buy milk {n}", due_date=today, list_id=errands["id"])
    add(user, "Buy milk in the Inbox", due_date=today)
    add(user, "Buy bread", due_date=today, list_id=errands["id"])
    add(user, "Buy milk someday", list_id=errands["id"])
    done = add(user, "Buy milk done", due_date=today, list_id=errands["id"])
    Task.objects.for_user(user).filter(pk=done.pk).complete()

    query = f"due=today&completed=false&list_id={errands['id']}&q=milk"
    titles = [t["title"] for t in api.get(f"/api/tasks?{query}").json()]
    assert titles == ["Buy milk 3", "Buy milk 2", "Buy milk 1", "Buy milk 0"]
    page = api.get(f"/api/tasks?{query}&skip=1&limit=2").json()
    assert [t["title"] for t in page] == ["Buy milk 2", "Buy milk 1"]
    completed = api.get("/api/tasks?due=today&completed=true&q=milk").json()
    assert [t["title"] for t in completed] == ["Buy milk done"]


@pytest.mark.parametrize(
    "value", ["", "soon", "TODAY", "today ", "all", "true", "today,upcoming"]
)
def test_an_unknown_due_view_is_422_naming_due(api, task, value):
    response = api.get("/api/tasks", {"due": value})

    assert error_locs(response) == [["query", "due"]]


def test_the_due_views_are_those_of_the_task_list():
    assert set(DueView.__args__) == set(dates.DUE_VIEWS)
    assert set(RecurFromValue.__origin__.__args__) == set(RecurFrom.values)


# --- Recurring tasks --------------------------------------------------------------


def test_patch_completing_a_recurring_task_adds_the_next_one(api, user):
    today = clock_of(user).today
    task = add(
        user,
        "Water the plants",
        description="All of them",
        due_date=today,
        due_time=time(9),
        recurrence="FREQ=DAILY",
    )

    response = patch(api, f"/api/tasks/{task.pk}", {"completed": True})

    assert response.json()["completed"] is True
    active = api.get("/api/tasks?completed=false").json()
    assert [
        (t["title"], t["description"], t["due_date"], t["due_time"], t["recurrence"])
        for t in active
    ] == [
        (
            "Water the plants",
            "All of them",
            (today + timedelta(1)).isoformat(),
            "09:00",
            "FREQ=DAILY",
        )
    ]
    # Completing it again, or reopening and completing, adds nothing more.
    patch(api, f"/api/tasks/{task.pk}", {"completed": True})
    patch(api, f"/api/tasks/{task.pk}", {"completed": False})
    patch(api, f"/api/tasks/{task.pk}", {"completed": True})
    assert Task.objects.for_user(user).count() == 2


def test_toggle_completing_a_recurring_task_adds_the_next_one(api, user):
    today = clock_of(user).today
    task = add(user, "Report", due_date=today, recurrence="FREQ=WEEKLY")

    post(api, f"/api/tasks/{task.pk}/toggle")

    upcoming = api.get("/api/tasks?due=upcoming").json()
    assert [(t["title"], t["due_date"]) for t in upcoming] == [
        ("Report", (today + timedelta(7)).isoformat())
    ]


def test_a_patch_that_sets_a_rule_and_completes_adds_the_next_one(api, user):
    today = clock_of(user).today
    task = add(user, "Once, now monthly", due_date=today)

    patch(
        api,
        f"/api/tasks/{task.pk}",
        {"recurrence": "FREQ=DAILY;INTERVAL=3", "completed": True},
    )

    assert [t["due_date"] for t in api.get("/api/tasks?completed=false").json()] == [
        (today + timedelta(3)).isoformat()
    ]


# --- Query budgets ----------------------------------------------------------------


DUE_BODY = {
    "due_date": "2026-06-01",
    "due_time": "10:00",
    "recurrence": "FREQ=WEEKLY;BYDAY=MO",
    "recur_from": "completion",
}


@pytest.mark.parametrize("view", [*dates.DUE_VIEWS])
def test_a_due_view_is_two_queries(
    fresh_api, user, due_tasks, view, django_assert_max_num_queries
):
    # The token with its user and profile, then one page of tasks.
    with django_assert_max_num_queries(2):
        assert fresh_api.get(f"/api/tasks?due={view}&q=to").status_code == 200


@pytest.mark.parametrize(
    "call",
    [
        lambda c, pk: post(c, "/api/tasks", {"title": "x", **DUE_BODY}),
        lambda c, pk: c.get(f"/api/tasks/{pk}"),
        lambda c, pk: patch(c, f"/api/tasks/{pk}", DUE_BODY),
        lambda c, pk: patch(c, f"/api/tasks/{pk}", {"due_time": "07:00"}),
        lambda c, pk: patch(c, f"/api/tasks/{pk}", {"due_date": None}),
    ],
    ids=["create", "get", "patch", "patch-time", "patch-clear"],
)
def test_the_due_fields_cost_no_query(
    fresh_api, user, call, django_assert_max_num_queries
):
    task = add(user, "x", due_date=date(2026, 5, 4), recurrence="FREQ=DAILY")

    with django_assert_max_num_queries(2):
        assert call(fresh_api, task.pk).status_code < 300


@pytest.mark.parametrize(
    "complete",
    [
        lambda c, pk: patch(c, f"/api/tasks/{pk}", {"completed": True}),
        lambda c, pk: post(c, f"/api/tasks/{pk}/toggle"),
    ],
    ids=["patch", "toggle"],
)
def test_completing_a_recurring_task_is_at_most_three_queries(
    fresh_api, user, complete, django_assert_max_num_queries
):
    # The token with its user and profile, the UPDATE ... RETURNING, the
    # INSERT of the next task.
    task = add(
        user,
        "x",
        due_date=clock_of(user).today,
        recurrence="FREQ=MONTHLY;BYMONTHDAY=-1",
    )

    with django_assert_max_num_queries(3):
        assert complete(fresh_api, task.pk).json()["completed"] is True

    assert Task.objects.for_user(user).active().count() == 1


# --- The schema -------------------------------------------------------------------


@pytest.fixture
def openapi(client) -> dict:
    return client.get("/api/openapi.json").json()


def test_the_schema_documents_the_due_fields(openapi):
    schemas = openapi["components"]["schemas"]
    out = schemas["TaskOut"]["properties"]
    assert set(schemas["TaskOut"]["required"]) >= DUE_FIELDS
    assert {"type": "string", "format": "date"} in out["due_date"]["anyOf"]
    assert {"type": "string", "pattern": TIME_PATTERN} in [
        {k: v for k, v in branch.items() if k != "description"}
        for branch in out["due_time"]["anyOf"]
    ]
    for name in ("TaskIn", "TaskPatch"):
        fields = schemas[name]["properties"]
        assert set(fields) >= DUE_FIELDS, name
        date_branch = fields["due_date"]["anyOf"][0]
        assert (date_branch["format"], date_branch["pattern"]) == (
            "date",
            DATE_PATTERN,
        )
        assert fields["due_time"]["anyOf"][0]["pattern"] == TIME_PATTERN
        assert fields["recurrence"]["anyOf"][0]["pattern"] == RECURRENCE_PATTERN
        assert fields["recur_from"]["enum"] == ["due", "completion"]
    parameters = openapi["paths"]["/api/tasks"]["get"]["parameters"]
    due = next(p for p in parameters if p["name"] == "due")
    assert due["schema"]["anyOf"][0]["enum"] == list(dates.DUE_VIEWS)


def test_the_time_pattern_is_exactly_the_times_of_day():
    times = {f"{h:02}:{m:02}" for h in range(24) for m in range(60)}
    candidates = {f"{h:02}:{m:02}" for h in range(100) for m in range(100)}
    assert {t for t in candidates if re.fullmatch(TIME_PATTERN, t)} == times


def test_the_number_patterns_are_exactly_their_ranges():
    for high in range(1, 1100):
        pattern = _numbers_up_to(high)
        matched = [n for n in range(1200) if re.fullmatch(pattern, str(n))]
        assert matched == list(range(1, high + 1)), high
        assert not re.fullmatch(pattern, "01")


def test_every_rule_the_pattern_admits_is_valid_from_any_date():
    # The schema's pattern lists rules valid whatever the due date, so
    # schema-driven clients (and the schemathesis run) meet no refusal.
    starts = [date(1, 1, 1), date(2024, 2, 29), date(9999, 12, 31), date.today()]
    samples = ["", "FREQ=DAILY", "FREQ=WEEKLY;COUNT=1000", "FREQ=YEARLY;INTERVAL=10"]
    samples += ["FREQ=DAILY;INTERVAL=999;COUNT=1", "FREQ=MONTHLY;INTERVAL=120"]
    samples += ["FREQ=WEEKLY;INTERVAL=520;COUNT=7"]
    for rule in samples:
        assert re.fullmatch(RECURRENCE_PATTERN, rule), rule
        for start in starts:
            assert recurrence.validate(rule, start) == rule, (rule, start)
    for rule in [
        "FREQ=DAILY;INTERVAL=1000",
        "FREQ=WEEKLY;INTERVAL=521",
        "FREQ=MONTHLY;INTERVAL=121",
        "FREQ=YEARLY;INTERVAL=11",
        "FREQ=DAILY;COUNT=1001",
        "FREQ=DAILY;COUNT=0",
        "FREQ=SECONDLY",
    ]:
        assert not re.fullmatch(RECURRENCE_PATTERN, rule), rule
    assert RECURRENCE_MAX_LENGTH == recurrence.MAX_LENGTH


def test_the_date_pattern_and_the_form_agree_on_real_dates(api):
    for text in ["0001-01-01", "2024-02-29", "9999-12-31"]:
        assert re.fullmatch(DATE_PATTERN, text)
        response = post(api, "/api/tasks", {"title": "x", "due_date": text})
        assert response.json()["due_date"] == text
        assert datetime.strptime(text, "%Y-%m-%d")


def test_a_query_parameter_given_twice_is_refused(user):
    response = bearer_client(user).get("/api/tasks?q=milk&q=bread&due=today")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "q"]
