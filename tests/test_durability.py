"""Every write the app acknowledged is in the database, after concurrent load.

Logged-in clients send a random mix of writes for a while against a real
server (the live server, on PostgreSQL), each keeping a journal of what the
app acknowledged; then every journalled task is checked in the database.
"""

import random
import threading
import time

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import AccessToken
from tasks.models import Task

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not (settings.DATABASE_URL_TEST or "").startswith("postgres"),
        reason="needs DATABASE_URL_TEST pointing at PostgreSQL",
    ),
]

CLIENTS = 8
SECONDS = 12
CSRF = "bench" * 6 + "ok"  # any 32 letters will do as the cookie's secret


class Writer(threading.Thread):
    """One logged-in user writing to its own tasks, and what it was told."""

    def __init__(self, base_url: str, user, deadline: float) -> None:
        super().__init__()
        self.base_url, self.deadline = base_url, deadline
        self.user_id = user.pk
        client = Client()
        client.force_login(user)
        self.http = requests.Session()
        self.cookie = (
            f"{settings.SESSION_COOKIE_NAME}="
            f"{client.cookies[settings.SESSION_COOKIE_NAME].value}; csrftoken={CSRF}"
        )
        self.bearer = "Bearer " + AccessToken.objects.issue(user, "durability")[1]
        self.tasks: dict[int, dict | None] = {}  # id -> expected (None: unknown)
        self.form_created: list[str] = []
        self.errors: list[str] = []
        self.count = 0

    def send(self, method, path, *, form=None, json=None):
        headers = {"Cookie": self.cookie} if form is not None else {}
        if form is not None:
            form["csrfmiddlewaretoken"] = CSRF
        else:
            headers["Authorization"] = self.bearer
        response = self.http.request(
            method, self.base_url + path, data=form, json=json, headers=headers,
            allow_redirects=False, timeout=30,
        )  # fmt: skip
        self.count += 1
        if response.status_code >= 500:
            self.errors.append(f"{method} {path}: {response.status_code}")
        return response

    def run(self) -> None:
        rng = random.Random(self.user_id)
        while time.monotonic() < self.deadline:
            self.act(rng, rng.random(), f"u{self.user_id} {self.count} Zoë & <b>")

    def act(self, rng, choice, title) -> None:
        live = [pk for pk, state in self.tasks.items() if state and not state["gone"]]
        if choice < 0.3 or not live:
            response = self.send("POST", "/api/tasks", json={"title": title})
            if response.status_code == 201:
                pk = response.json()["id"]
                self.tasks[pk] = {"title": title, "completed": False, "gone": False}
        elif choice < 0.45:
            form = {"title": title, "description": "from the form"}
            if self.send("POST", "/tasks/new/", form=form).status_code == 302:
                self.form_created.append(title)
        elif choice < 0.7:
            pk = rng.choice(live)
            response = self.send("POST", f"/tasks/{pk}/toggle/", form={})
            state = self.tasks[pk]
            state["completed"] = not state["completed"]
            if response.status_code != 302:
                self.tasks[pk] = None  # the outcome is unknown
        elif choice < 0.9:
            pk = rng.choice(live)
            response = self.send("PATCH", f"/api/tasks/{pk}", json={"title": title})
            self.tasks[pk]["title"] = title
            if response.status_code != 200:
                self.tasks[pk] = None
        else:
            pk = rng.choice(live)
            response = self.send("DELETE", f"/api/tasks/{pk}")
            self.tasks[pk]["gone"] = True
            if response.status_code != 204:
                self.tasks[pk] = None


@pytest.mark.django_db(transaction=True)
def test_every_acknowledged_write_is_in_the_database(live_server):
    users = [
        get_user_model().objects.create_user(f"writer{n}", password="unused")
        for n in range(CLIENTS)
    ]
    deadline = time.monotonic() + SECONDS
    writers = [Writer(live_server.url, user, deadline) for user in users]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    assert [e for w in writers for e in w.errors] == []
    checked = 0
    for writer in writers:
        user = users[writers.index(writer)]
        stored = {
            task.pk: task
            for task in Task.objects.for_user(user).only("title", "completed")
        }
        for pk, expected in writer.tasks.items():
            if expected is None:
                continue
            checked += 1
            if expected["gone"]:
                assert pk not in stored
            else:
                task = stored[pk]
                assert (task.title, task.completed) == (
                    expected["title"],
                    expected["completed"],
                )
        titles = [task.title for task in stored.values()]
        for title in writer.form_created:
            checked += 1
            assert titles.count(title) == 1, title
    # Enough happened for the check to mean something.
    assert checked >= CLIENTS * 10
