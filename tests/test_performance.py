"""The round-trip floor: what every request costs the database, on PostgreSQL."""

import time
import urllib.request

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tasks.models import Task

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
    # Seeding every user's rows at once is a job for the unscoped manager.
    Task.unscoped.bulk_create(
        (
            Task(user=owner, title=f"Task {n}", completed=n % 3 == 0)
            for owner in users
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
    tasks = Task.objects.for_user(hundred_thousand_tasks)
    # The list page's query (rows and counters together), for each filter,
    # and the plain counters query that an empty page falls back on.
    queries = []
    for status in ["all", "active", "completed"]:
        with CaptureQueriesContext(connection) as captured:
            tasks.page_with_counts(status, 1, 50)
        queries.append(captured.captured_queries[0]["sql"])
    with CaptureQueriesContext(connection) as captured:
        tasks.counts()
    queries.append(captured.captured_queries[0]["sql"])
    for sql in queries:
        plan = _plan(sql)
        assert "Index" in plan, plan
        assert "Seq Scan" not in plan, plan


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
