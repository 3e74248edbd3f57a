"""Concurrent writers on PostgreSQL: no lost toggles, no silently merged edits.

Threads start together at a barrier, each on its own database connection
(closed when the thread ends), and every write is committed: these tests use
real transactions, as requests do, not the test's wrapping one.
"""

from collections import Counter

import pytest
from django.db import connection
from django.test import Client

from accounts.models import AccessToken
from tasks.models import Task
from tests.factories import in_threads
from tests.pages import version_of

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL's row locks and concurrent connections "
        "(SQLite serialises writers); runs in CI's PostgreSQL legs",
    ),
    pytest.mark.django_db(transaction=True),
]

THREADS = 20
CONFLICT = "This task was changed somewhere else after you opened it"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Toggles --------------------------------------------------------------------


@pytest.mark.parametrize("completed", [False, True])
def test_an_even_number_of_concurrent_toggles_leaves_the_task_as_it_was(
    user, completed
):
    task = Task.objects.for_user(user).create(title="Flip me", completed=completed)

    def toggle_twice(_):
        tasks = Task.objects.for_user(user)
        return [tasks.toggle(task.pk), tasks.toggle(task.pk)]

    rows = in_threads(THREADS, toggle_twice)

    assert rows == [[1, 1]] * THREADS
    saved = Task.objects.for_user(user).get(pk=task.pk)
    assert saved.completed is completed
    assert saved.updated_at > task.updated_at


def test_concurrent_toggles_through_the_pages_lose_none(user):
    task = Task.objects.for_user(user).create(title="Flip me")
    clients = [signed_in(user) for _ in range(THREADS)]
    url = f"/tasks/{task.pk}/toggle/"

    def toggle_twice(i):
        return [clients[i].post(url).status_code for _ in range(2)]

    statuses = in_threads(THREADS, toggle_twice)

    assert statuses == [[302, 302]] * THREADS
    assert Task.objects.for_user(user).get(pk=task.pk).completed is False


def test_concurrent_api_toggles_each_return_their_own_result(user):
    task = Task.objects.for_user(user).create(title="Flip me")
    _, raw = AccessToken.objects.issue(user, "threads")
    clients = [
        Client(headers={"Authorization": f"Bearer {raw}"}) for _ in range(THREADS)
    ]
    url = f"/api/tasks/{task.pk}/toggle"

    def toggle_twice(i):
        responses = [clients[i].post(url) for _ in range(2)]
        assert [r.status_code for r in responses] == [200, 200]
        return [r.json()["completed"] for r in responses]

    results = in_threads(THREADS, toggle_twice)

    # The toggles ran one after another on the row (PostgreSQL's row lock);
    # starting from False, they answered True, False, True... in some order.
    # A read after the write could see a later toggle's result instead.
    answers = Counter(value for pair in results for value in pair)
    assert answers == {True: THREADS, False: THREADS}
    assert Task.objects.for_user(user).get(pk=task.pk).completed is False


# --- Edits -----------------------------------------------------------------------

EDITS = [
    {"title": "From A", "description": "A's text", "completed": "on"},
    {"title": "From B", "description": "B's text"},
]


def saved_state(edit: dict) -> tuple:
    return (edit["title"], edit["description"], edit.get("completed") == "on")


@pytest.mark.parametrize("round_", range(3))
def test_two_sessions_saving_one_task_at_once_one_wins_the_other_is_told(user, round_):
    task = Task.objects.for_user(user).create(title="Original", description="Text")
    url = f"/tasks/{task.pk}/edit/"
    clients = [signed_in(user), signed_in(user)]
    versions = [version_of(client.get(url)) for client in clients]
    assert versions[0] == versions[1]

    responses = in_threads(
        2, lambda i: clients[i].post(url, {**EDITS[i], "version": versions[i]})
    )

    assert sorted(r.status_code for r in responses) == [200, 302]
    winner = next(i for i, r in enumerate(responses) if r.status_code == 302)
    loser = 1 - winner
    saved = Task.objects.for_user(user).get(pk=task.pk)
    # Exactly the winner's edit, all of it: nothing of the loser's slipped in.
    assert (saved.title, saved.description, saved.completed) == saved_state(
        EDITS[winner]
    )

    page = responses[loser].content.decode()
    assert CONFLICT in page
    assert f"<dd>{EDITS[winner]['title']}</dd>" in page  # the saved version
    assert f'value="{EDITS[loser]["title"]}"' in page  # what the loser typed

    # Saving again from the conflict page is a deliberate overwrite.
    response = clients[loser].post(
        url, {**EDITS[loser], "version": version_of(responses[loser])}
    )
    assert response.status_code == 302
    saved.refresh_from_db()
    assert (saved.title, saved.description, saved.completed) == saved_state(
        EDITS[loser]
    )


def test_an_edit_racing_a_toggle_is_refused_not_merged(user):
    task = Task.objects.for_user(user).create(title="Original", description="Text")
    url = f"/tasks/{task.pk}/edit/"
    editor, toggler = signed_in(user), signed_in(user)
    version = version_of(editor.get(url))

    def act(i):
        if i == 0:
            return editor.post(url, {**EDITS[1], "version": version}).status_code
        return toggler.post(f"/tasks/{task.pk}/toggle/").status_code

    statuses = in_threads(2, act)

    saved = Task.objects.for_user(user).get(pk=task.pk)
    assert statuses[1] == 302
    if statuses[0] == 302:
        # The edit came first and the toggle flipped its result.
        assert (saved.title, saved.completed) == ("From B", True)
    else:
        # The toggle came first: the edit, made on the old version, is refused.
        assert statuses[0] == 200
        assert (saved.title, saved.description, saved.completed) == (
            "Original",
            "Text",
            True,
        )
