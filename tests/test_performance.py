"""The round-trip floor: what every request costs the database, on PostgreSQL."""

import asyncio
import threading
import time
import urllib.request
from datetime import date

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tasks.list_page import _fetch_together as fetch_together
from tasks.models import Task, TaskList
from tests.factories import make_tasks
from tests.support.latency_proxy import Proxy

pytestmark = pytest.mark.skipif(
    not (settings.DATABASE_URL_TEST or "").startswith("postgres"),
    reason="needs DATABASE_URL_TEST pointing at PostgreSQL",
)

USERS = 1_000
TASKS_PER_USER = 100


@pytest.fixture
def hundred_thousand_tasks(db):
    """1,000 users with 100 tasks each; returns one of them."""
    password = make_password("unused")
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"user{n}", password=password) for n in range(USERS)
    )
    # Seeding every user's rows at once is a job for the unscoped managers
    # (and bulk_create sends no signal, so no Inbox comes by itself).
    inboxes = TaskList.unscoped.bulk_create(
        TaskList(user=owner, name="Inbox", is_inbox=True) for owner in users
    )
    Task.unscoped.bulk_create(
        (
            Task(user=owner, list=inbox, title=f"Task {n}", completed=n % 3 == 0)
            for owner, inbox in zip(users, inboxes, strict=True)
            for n in range(TASKS_PER_USER)
        ),
        batch_size=10_000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_task")
    return users[USERS // 2]


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_list_page_queries_use_indexes_for_one_user_among_100000_tasks(
    hundred_thousand_tasks,
):
    client = Client()
    client.force_login(hundred_thousand_tasks)
    # The queries the list page runs, for each filter and a later page, and
    # the plain counters query that an empty page falls back on.
    queries = []
    for query in ["", "?status=active", "?status=completed", "?page=2"]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/tasks/" + query).status_code == 200
        queries += [q["sql"] for q in captured.captured_queries]
    with CaptureQueriesContext(connection) as captured:
        Task.objects.for_user(hundred_thousand_tasks).counts()
    queries += [q["sql"] for q in captured.captured_queries]
    task_queries = [sql for sql in queries if "tasks_task" in sql]
    # Per page, its rows and the lists menu with the counters; the counters.
    assert len(task_queries) == 9
    for sql in task_queries:
        plan = _plan(sql)
        assert "Index" in plan, plan
        assert "Seq Scan" not in plan, plan
        # The page's rows come in index order: no sorting of all the rows
        # (the menu sorts the user's few lists by name).
        if sql.startswith('SELECT "tasks_task".'):
            assert "Sort" not in plan, plan


def test_the_menu_counts_come_from_indexes_alone(hundred_thousand_tasks):
    # The lists' active counts and the page's counters read only the partial
    # indexes of live tasks (migration 0008), never a table row per task:
    # that made the list page of a user with 10,000 tasks 1.5x slower.
    client = Client()
    client.force_login(hundred_thousand_tasks)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/tasks/").status_code == 200
    [menu] = [q["sql"] for q in captured if '"tasks_tasklist"' in q["sql"]]
    plan = _plan(menu)
    assert "Index Only Scan using task_list_active_idx" in plan, plan
    assert "Join" not in plan, plan
    # Every task it reads is known live from its index: no row is fetched to
    # check deleted_at (once vacuumed, the counters become index-only scans
    # of task_live_status_idx: the bench's data set shows it).
    assert "deleted_at" not in plan, plan


@pytest.mark.django_db(transaction=True)
def test_steady_state_requests_open_no_connections(live_server, user):
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = f"{settings.SESSION_COOKIE_NAME}={session}"

    def get(path: str) -> int:
        headers = {"Cookie": cookie}
        request = urllib.request.Request(live_server.url + path, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status

    assert get("/tasks/") == 200  # warm up: the pool opens a connection
    opened = connection.pool.get_stats()["connections_num"]
    for _ in range(30):
        # The server sends the response a moment before its thread gives the
        # connection back; a client firing at once could find the pool empty
        # and make it grow (once: it then holds two). Pausing like a person
        # would isolates the claim: sequential requests reuse one connection.
        time.sleep(0.02)
        assert get("/tasks/") == 200
    assert connection.pool.get_stats()["connections_num"] == opened


@pytest.fixture
def proxy(transactional_db):
    """The test database, reached through the counting proxy (no delay yet)."""
    settings_dict = connection.settings_dict
    upstream = (settings_dict["HOST"], int(settings_dict["PORT"]))
    counter = Proxy(upstream, rtt_ms=0)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        asyncio.start_server(counter.handle, "127.0.0.1", 0)
    )
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def reconnect(host, port):
        connection.close()
        connection.close_pool()
        settings_dict["HOST"], settings_dict["PORT"] = host, port

    reconnect("127.0.0.1", server.sockets[0].getsockname()[1])
    try:
        yield counter
    finally:
        reconnect(*upstream)
        asyncio.run_coroutine_threadsafe(_stop(server), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


async def _stop(server) -> None:
    server.close()
    await server.wait_closed()
    others = [
        task for task in asyncio.all_tasks() if task is not asyncio.current_task()
    ]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


# The delay a request is timed under. A round trip is a time the client
# waited for the database, so a request's round trips are its time under a
# large added delay, in whole delays: what it waited for, whatever the packets
# looked like (a pipeline's writes that a busy machine spreads over several
# TLS records are still one wait). The app's own time, under the delay on a
# busy machine, stays well below it.
COUNTING_RTT = 0.4


def _round_trips(counter: Proxy, action, *args):
    """What ``action(*args)`` returned, and the round trips it waited for."""
    counter.rtt = COUNTING_RTT
    started = time.monotonic()
    try:
        result = action(*args)
    finally:
        counter.rtt = 0
    return result, int((time.monotonic() - started) // COUNTING_RTT)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status=active",
        "?status=completed",
        "?page=2",
        "?page=x",
        "?list={inbox}",
        "?q=task",
        "?list={inbox}&status=active&q=task+1",
    ],
)
def test_list_page_costs_one_round_trip(proxy, user, query):
    make_tasks(user, 120, completed=False)
    make_tasks(user, 120, completed=True)
    inbox = TaskList.objects.for_user(user).inbox().get()
    client = Client()
    client.force_login(user)
    assert client.get("/tasks/").status_code == 200  # the pool connects

    path = "/tasks/" + query.format(inbox=inbox.pk)
    response, round_trips = _round_trips(proxy, client.get, path)

    assert round_trips == 1
    assert response.status_code == 200
    assert response.context["page"].object_list


def test_list_page_for_an_unknown_session_costs_one_round_trip(proxy, user):
    client = Client()
    client.force_login(user)
    assert client.get("/tasks/").status_code == 200
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32

    response, round_trips = _round_trips(proxy, client.get, "/tasks/")

    assert round_trips == 1
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/tasks/"


def test_fetch_together_sends_every_query_in_one_round_trip(proxy, user, other_user):
    make_tasks(user, 3)
    everyone = get_user_model().objects.order_by("pk")
    mine = Task.objects.for_user(user).order_by("pk")
    fetch_together(everyone.filter(pk=user.pk))  # the pool connects

    titles = mine.values_list("title", flat=True)
    results, round_trips = _round_trips(proxy, fetch_together, everyone, mine, titles)

    assert round_trips == 1
    assert results == [
        list(everyone),
        list(mine),
        list(titles.all()),
    ]


def test_queries_that_wait_for_each_other_cost_a_round_trip_each(proxy, user):
    """The counter can fail the tests above: two dependent reads are two."""
    make_tasks(user, 3)
    mine = Task.objects.for_user(user)
    mine.count()  # the pool connects

    def one_after_the_other():
        first = mine.order_by("pk").first()
        return mine.filter(pk__gt=first.pk).count()

    result, round_trips = _round_trips(proxy, one_after_the_other)

    assert result == 2
    assert round_trips == 2


@pytest.mark.parametrize(
    ("recurrence", "expected"), [("", 2), ("FREQ=WEEKLY", 3)], ids=["plain", "weekly"]
)
def test_completing_a_task_costs_two_round_trips_three_if_it_repeats(
    proxy, user, recurrence, expected
):
    tasks = Task.objects.for_user(user)
    task = tasks.create(
        title="Done soon", due_date=date(2026, 12, 1), recurrence=recurrence
    )
    client = Client()
    client.force_login(user)
    assert client.get("/tasks/").status_code == 200  # the pool connects

    path = f"/tasks/{task.pk}/toggle/"
    response, round_trips = _round_trips(proxy, client.post, path)

    # The session, the UPDATE ... RETURNING, and for a repeating task the
    # INSERT of the next one.
    assert round_trips == expected
    assert response.status_code == 302
    assert tasks.filter(title="Done soon").count() == (2 if recurrence else 1)
