"""Recurring tasks and due dates through the app: every way of completing a
task continues its series once, and the forms check what they are given.

The rules themselves (which date comes next, in which zone) are
tests/test_recurrence.py's.
"""

from datetime import date, time, timedelta

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from tasks.models import Task, TaskList
from tests.factories import in_threads

pytestmark = pytest.mark.django_db

WEEKLY = "FREQ=WEEKLY"


def today() -> date:
    return timezone.now().date()  # the test users' zone is UTC


@pytest.fixture
def weekly(user) -> Task:
    groceries = TaskList.objects.for_user(user).create(name="Groceries")
    return Task.objects.for_user(user).create(
        title="Water the plants",
        description="All of them",
        list_id=groceries.pk,
        due_date=today(),
        due_time=time(9, 0),
        recurrence=WEEKLY,
    )


def series(user, task) -> list[Task]:
    return list(
        Task.objects.for_user(user).filter(title=task.title).order_by("sequence")
    )


def test_completing_a_recurring_task_adds_the_next_one_of_its_series(
    alice_client, user, weekly, django_assert_max_num_queries
):
    # The session, the UPDATE ... RETURNING, the INSERT of the next one.
    with django_assert_max_num_queries(3):
        alice_client.post(f"/tasks/{weekly.pk}/toggle/")
    done, following = series(user, weekly)
    assert done.completed and not following.completed
    assert (following.due_date, following.due_time) == (
        today() + timedelta(7),
        time(9, 0),
    )
    assert (following.list_id, following.description, following.recurrence) == (
        weekly.list_id,
        "All of them",
        WEEKLY,
    )
    assert (following.series_id, following.sequence) == (weekly.pk, 1)


def test_a_plain_toggle_stays_two_queries(
    alice_client, task, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        alice_client.post(f"/tasks/{task.pk}/toggle/")


def test_reopening_and_completing_again_adds_nothing_more(alice_client, user, weekly):
    for _ in range(3):
        alice_client.post(f"/tasks/{weekly.pk}/toggle/")
    assert len(series(user, weekly)) == 2


def test_completing_the_next_one_continues_the_series(alice_client, user, weekly):
    alice_client.post(f"/tasks/{weekly.pk}/toggle/")
    following = series(user, weekly)[1]
    alice_client.post(f"/tasks/{following.pk}/toggle/")
    third = series(user, weekly)[2]
    assert (third.series_id, third.sequence) == (weekly.pk, 2)
    assert third.due_date == today() + timedelta(14)


def test_a_series_with_a_count_ends(alice_client, user):
    task = Task.objects.for_user(user).create(
        title="Twice", due_date=today(), recurrence="FREQ=DAILY;COUNT=2"
    )
    alice_client.post(f"/tasks/{task.pk}/toggle/")
    second = series(user, task)[1]
    alice_client.post(f"/tasks/{second.pk}/toggle/")
    assert len(series(user, task)) == 2


@pytest.mark.parametrize(
    "complete",
    [
        lambda client, task: client.post("/tasks/toggle-all/"),
        lambda client, task: client.post(
            "/api/tasks/bulk-complete",
            {"task_ids": [task.pk]},
            content_type="application/json",
            headers={"X-CSRFToken": "x"},
        ),
        lambda client, task: Task.objects.for_user(task.user).bulk_complete([task.pk]),
        lambda client, task: Task.unscoped.filter(pk=task.pk).complete(),
        lambda client, task: Task.objects.for_user(task.user).update_returning(
            task.pk, completed=True
        ),
    ],
    ids=["toggle-all", "api-bulk-complete", "bulk_complete", "admin", "api-patch"],
)
def test_every_way_of_completing_continues_the_series(
    alice_client, user, weekly, complete
):
    complete(alice_client, weekly)
    assert len(series(user, weekly)) == 2


def test_completing_from_the_edit_page_continues_the_series(alice_client, user, weekly):
    page = alice_client.get(f"/tasks/{weekly.pk}/edit/")
    data = {
        "title": weekly.title,
        "completed": "on",
        "due_date": weekly.due_date.isoformat(),
        "due_time": "09:00",
        "recurrence": WEEKLY,
        "recur_from": "due",
        "version": page.context["form"].initial["version"],
    }
    assert alice_client.post(f"/tasks/{weekly.pk}/edit/", data).status_code == 302
    assert len(series(user, weekly)) == 2


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent PostgreSQL writers"
)
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_completions_add_exactly_one_next_task(user):
    task = Task.objects.for_user(user).create(
        title="Once", due_date=today(), recurrence="FREQ=DAILY"
    )

    def complete(_):
        return Task.objects.for_user(user).update_returning(task.pk, completed=True)

    in_threads(20, complete)
    assert len(series(user, task)) == 2


@pytest.fixture
def next_tasks_refused(transactional_db):
    """A database that refuses to add the next task of any series, for as
    long as the test runs (a trigger outlives a test's data, so it goes)."""
    if connection.vendor == "postgresql":
        create = [
            "CREATE FUNCTION refuse_next() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE EXCEPTION 'no next task'; END $$",
            "CREATE TRIGGER refuse_next BEFORE INSERT ON tasks_task FOR EACH ROW "
            "WHEN (NEW.sequence > 0) EXECUTE FUNCTION refuse_next()",
        ]
        drop = ["DROP FUNCTION refuse_next() CASCADE"]
    else:
        create = [
            "CREATE TRIGGER refuse_next BEFORE INSERT ON tasks_task "
            "WHEN NEW.sequence > 0 BEGIN SELECT RAISE(ABORT, 'no next task'); END"
        ]
        drop = ["DROP TRIGGER refuse_next"]
    with connection.cursor() as cursor:
        for sql in create:
            cursor.execute(sql)
    yield
    with connection.cursor() as cursor:
        for sql in drop:
            cursor.execute(sql)


@pytest.mark.parametrize(
    "complete",
    [
        lambda tasks, task: tasks.toggle_returning(task.pk),
        lambda tasks, task: tasks.update_returning(task.pk, completed=True),
        lambda tasks, task: tasks.toggle_all(),
        lambda tasks, task: tasks.bulk_complete([task.pk]),
    ],
    ids=["toggle", "api-patch", "toggle-all", "bulk-complete"],
)
def test_a_completion_whose_next_task_cannot_be_added_changes_nothing(
    user, next_tasks_refused, complete
):
    # Completing a task and adding its next one are one statement on
    # PostgreSQL and one transaction on SQLite: both happen, or neither.
    # (Mark all on PostgreSQL is that per task: the tasks that do not repeat
    # are completed by a statement of their own.)
    tasks = Task.objects.for_user(user)
    task = tasks.create(title="Atomic", due_date=today(), recurrence=WEEKLY)
    with pytest.raises(DatabaseError):
        complete(tasks, task)
    task.refresh_from_db()
    assert not task.completed
    assert task.updated_at == tasks.get(pk=task.pk).updated_at
    assert len(series(user, task)) == 1
    # A task that does not repeat completes as before.
    plain = tasks.create(title="Plain")
    assert tasks.toggle_returning(plain.pk).completed


# --- The forms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"due_date": "2026-02-30"}, "due_date", "Enter a real date"),
        ({"due_time": "09:00"}, "due_time", "Give the date this time is on."),
        ({"due_date": "2026-12-01", "due_time": "25:00"}, "due_time", "Enter a time"),
        ({"due_date": "2026-12-01", "recurrence": "FREQ=SECONDLY"}, "recurrence", ""),
        (
            {"due_date": "2026-12-01", "recurrence": "FREQ=DAILY;BYHOUR=9"},
            "recurrence",
            "",
        ),
        ({"due_date": "2026-12-01", "recurrence": "F" * 10_000}, "recurrence", ""),
    ],
)
def test_bad_dates_and_rules_are_form_errors_next_to_their_field(
    alice_client, data, field, message
):
    response = alice_client.post("/tasks/new/", {"title": "Checked", **data})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not Task.unscoped.filter(title="Checked").exists()


def test_the_add_form_takes_a_due_date_time_and_rule(alice_client, user):
    alice_client.post(
        "/tasks/new/",
        {
            "title": "Standup",
            "due_date": "2026-12-07",
            "due_time": "09:30",
            "recurrence": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        },
    )
    task = Task.objects.for_user(user).get(title="Standup")
    assert (task.due_date, task.due_time, task.recurrence, task.recur_from) == (
        date(2026, 12, 7),
        time(9, 30),
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "due",
    )


# --- The due views --------------------------------------------------------------------


@pytest.fixture
def dated(user):
    tasks = Task.objects.for_user(user)
    day = today()
    return {
        "late": tasks.create(title="Late", due_date=day - timedelta(2)),
        "now": tasks.create(title="Now", due_date=day, due_time=time(0, 0)),
        "today": tasks.create(title="Today", due_date=day),
        "soon": tasks.create(title="Soon", due_date=day + timedelta(3)),
        "later": tasks.create(title="Later", due_date=day + timedelta(30)),
        "none": tasks.create(title="Whenever"),
    }


@pytest.mark.parametrize(
    ("view", "titles"),
    [
        ("today", ["Late", "Today", "Now"]),
        ("upcoming", ["Soon"]),
        ("overdue", ["Late", "Now"]),
        ("none", ["Whenever"]),
    ],
)
def test_due_views_show_their_tasks_soonest_first(
    alice_client, dated, view, titles, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        response = alice_client.get("/tasks/", {"due": view})
    assert [t.title for t in response.context["page"].object_list] == titles


def test_the_menu_counts_today_and_upcoming(alice_client, dated):
    response = alice_client.get("/tasks/")
    assert (response.context["due_today"], response.context["due_upcoming"]) == (3, 1)
    body = response.content.decode()
    assert "Overdue: " in body  # said in words, not only by colour


def test_the_list_page_remembers_the_zone_it_answered_in(alice_client, user):
    user.profile.time_zone = "Pacific/Auckland"
    user.profile.save()
    response = alice_client.get("/tasks/")
    assert response.cookies["tz"].value == "Pacific/Auckland"
    assert "tz" not in alice_client.get("/tasks/").cookies  # already right
