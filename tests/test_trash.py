"""Trash and undo: deleting never loses a task at once (contract, "Trash and undo")."""

import json
import os
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import AccessToken
from tasks.managers import UnscopedQueryError
from tasks.models import Task
from tests.factories import TASK_URLS, in_threads, make_tasks
from tests.pages import counters, rows

pytestmark = pytest.mark.django_db


def trashed(user, title="Gone", days_ago=0) -> Task:
    task = Task.objects.for_user(user).create(title=title)
    deleted_at = timezone.now() - timedelta(days=days_ago)
    Task.unscoped.filter(pk=task.pk).update(deleted_at=deleted_at)
    task.refresh_from_db()
    return task


def undo_ids(response) -> list[str]:
    form = re.search(
        r'<form method="post" action="/tasks/restore/".*?</form>',
        response.content.decode(),
        re.S,
    )
    assert form, "no Undo button"
    return re.findall(r'name="ids" value="(\d+)"', form[0])


# --- The queryset ---------------------------------------------------------------


def test_for_user_gives_live_tasks_only_and_the_trash_is_reached_by_name(user):
    live = Task.objects.for_user(user).create(title="Live")
    gone = trashed(user)
    assert list(Task.objects.for_user(user)) == [live]
    assert list(Task.objects.trash_for(user)) == [gone]


def test_the_trash_fails_closed_like_the_task_list(client):
    with pytest.raises(UnscopedQueryError):
        Task.objects.trash_for(None)
    with pytest.raises(UnscopedQueryError):
        list(Task.objects.filter(deleted_at__isnull=False))


def test_nothing_older_than_30_days_is_shown_even_before_a_purge(user):
    trashed(user, "Yesterday", days_ago=1)
    trashed(user, "Long ago", days_ago=31)
    assert [t.title for t in Task.objects.trash_for(user)] == ["Yesterday"]


def test_trashed_tasks_leave_counters_and_exports(alice_client, user):
    make_tasks(user, 2)
    trashed(user, "In the trash")
    response = alice_client.get("/tasks/")
    # Outside a search the page prints no total: its rows are all the tasks,
    # and no "Clear completed" button means that none is completed.
    assert counters(response) == {"active": 2}
    assert len(rows(response)) == 2
    assert "In the trash" not in response.content.decode()
    exported = json.loads(b"".join(alice_client.get("/accounts/export.json")))
    assert len(exported) == 2
    csv = b"".join(alice_client.get("/accounts/export.csv"))
    assert "In the trash" not in csv.decode()


# --- Pages -----------------------------------------------------------------------


def test_delete_moves_to_the_trash_and_undo_brings_it_back(alice_client, user, task):
    response = alice_client.post(f"/tasks/{task.pk}/delete/", follow=True)
    assert "to the trash." in response.content.decode()
    assert undo_ids(response) == [str(task.pk)]
    assert not Task.objects.for_user(user).exists()

    response = alice_client.post(
        "/tasks/restore/", {"ids": undo_ids(response), "next": "/tasks/?page=1"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/tasks/?page=1"
    assert list(Task.objects.for_user(user)) == [task]


def test_clear_completed_is_undone_as_one_batch(alice_client, user):
    done = make_tasks(user, 3, completed=True)
    make_tasks(user, 1)
    response = alice_client.post("/tasks/clear-completed/", follow=True)
    assert sorted(map(int, undo_ids(response))) == sorted(t.pk for t in done)
    assert Task.objects.for_user(user).count() == 1

    alice_client.post("/tasks/restore/", {"ids": undo_ids(response)})

    assert Task.objects.for_user(user).completed().count() == 3


@pytest.mark.parametrize(
    ("path", "method"),
    [(p, m) for p, methods in TASK_URLS.items() for m in methods],
)
def test_a_trashed_task_is_404_on_every_per_task_url(alice_client, user, path, method):
    task = trashed(user)
    response = getattr(alice_client, method.lower())(
        path.format(pk=task.pk), {"title": "x", "version": task.updated_at}
    )
    assert response.status_code == 404
    assert Task.objects.trash_for(user).get(pk=task.pk).title == "Gone"


def test_the_trash_page_lists_the_most_recently_deleted_first(alice_client, user):
    trashed(user, "Older", days_ago=2)
    trashed(user, "Newer", days_ago=1)
    trashed(user, "Expired", days_ago=40)
    page = alice_client.get("/tasks/trash/").content.decode()
    assert page.index("Newer") < page.index("Older")
    assert "Expired" not in page
    assert page.count('action="/tasks/restore/"') == 2


def test_the_trash_page_is_paginated(alice_client, user):
    make_tasks(user, 55)
    Task.objects.for_user(user).move_to_trash()
    first = alice_client.get("/tasks/trash/")
    second = alice_client.get("/tasks/trash/?page=2")
    assert len(rows(first)) == 50
    assert len(rows(second)) == 5


def test_empty_trash_asks_first_then_deletes_only_the_trash_for_good(
    alice_client, user, other_user
):
    make_tasks(user, 1)
    mine = trashed(user)
    theirs = trashed(other_user)
    response = alice_client.get("/tasks/trash/empty/")
    assert "cannot be undone" in response.content.decode()
    assert Task.unscoped.filter(pk=mine.pk).exists()

    response = alice_client.post("/tasks/trash/empty/")

    assert response.status_code == 302
    assert not Task.unscoped.filter(pk=mine.pk).exists()
    assert Task.unscoped.filter(pk=theirs.pk).exists()
    assert Task.objects.for_user(user).count() == 1


def test_restoring_another_users_or_live_ids_changes_nothing(
    alice_client, user, other_user, task
):
    theirs = trashed(other_user)
    before = Task.unscoped.get(pk=theirs.pk).deleted_at

    response = alice_client.post(
        "/tasks/restore/", {"ids": [theirs.pk, task.pk, "x", "9" * 30, "-1"]}
    )

    assert response.status_code == 302
    assert Task.unscoped.get(pk=theirs.pk).deleted_at == before
    assert Task.objects.trash_for(other_user).count() == 1


def test_another_users_trash_is_never_shown(alice_client, other_user):
    trashed(other_user, "Bob's secret")
    assert "Bob&#x27;s secret" not in alice_client.get("/tasks/trash/").content.decode()
    alice_client.post("/tasks/trash/empty/")
    assert Task.objects.trash_for(other_user).count() == 1


def test_trash_page_budgets(
    alice_client, user, django_assert_max_num_queries, django_assert_num_queries
):
    tasks = make_tasks(user, 60)
    Task.objects.for_user(user).filter(
        pk__in=[t.pk for t in tasks[:55]]
    ).move_to_trash()
    # The session with its user, the count for the paginator, the page.
    with django_assert_max_num_queries(3):
        assert alice_client.get("/tasks/trash/").status_code == 200
    # The session with its user, then one UPDATE ... RETURNING.
    with django_assert_num_queries(2):
        alice_client.post("/tasks/restore/", {"ids": [tasks[0].pk]})
    with django_assert_num_queries(2):
        alice_client.post(f"/tasks/{tasks[0].pk}/delete/")
    with django_assert_num_queries(2):
        alice_client.post("/tasks/trash/empty/")


# --- API --------------------------------------------------------------------------


@pytest.fixture
def api(user):
    _, raw = AccessToken.objects.issue(user, "tests")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_api_delete_is_204_and_the_task_goes_to_the_trash(api, user, task):
    assert api.delete(f"/api/tasks/{task.pk}").status_code == 204
    assert api.get(f"/api/tasks/{task.pk}").status_code == 404
    trash = api.get("/api/tasks/trash").json()
    assert [(t["id"], t["title"]) for t in trash] == [(task.pk, task.title)]
    assert trash[0]["deleted_at"]


def test_api_restore_answers_the_task_back_from_the_trash(
    api, user, django_assert_max_num_queries
):
    task = trashed(user, "Back again")
    api.get("/api/tasks/trash")  # the token's last use is stamped once a minute
    # The token with its user, then one UPDATE ... RETURNING.
    with django_assert_max_num_queries(2):
        response = api.post(f"/api/tasks/{task.pk}/restore")
    assert response.status_code == 200
    assert response.json()["title"] == "Back again"
    assert "deleted_at" not in response.json()
    assert list(Task.objects.for_user(user)) == [task]


def test_api_restore_of_a_live_or_another_users_task_is_404(api, task, other_user):
    theirs = trashed(other_user)
    assert api.post(f"/api/tasks/{task.pk}/restore").status_code == 404
    assert api.post(f"/api/tasks/{theirs.pk}/restore").status_code == 404
    assert api.post(f"/api/tasks/{'9' * 30}/restore").status_code in (404, 422)
    assert Task.objects.trash_for(other_user).count() == 1


def test_api_trash_pages_with_skip_and_limit_and_rejects_bad_ones(api, user):
    for n in range(3):
        trashed(user, f"T{n}", days_ago=3 - n)
    titles = [t["title"] for t in api.get("/api/tasks/trash?skip=1&limit=1").json()]
    assert titles == ["T1"]
    assert api.get("/api/tasks/trash?limit=0").status_code == 422
    assert api.get("/api/tasks/trash?skip=-1").status_code == 422


# --- purge_trash ----------------------------------------------------------------


def test_purge_trash_deletes_only_what_has_been_in_the_trash_30_days(user):
    live = Task.objects.for_user(user).create(title="Live")
    recent = trashed(user, "Recent", days_ago=29)
    old = trashed(user, "Old", days_ago=31)

    call_command("purge_trash", stdout=open(os.devnull, "w"))  # noqa: SIM115

    remaining = set(Task.unscoped.values_list("pk", flat=True))
    assert remaining == {live.pk, recent.pk}
    assert old.pk not in remaining


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent PostgreSQL writers"
)
@pytest.mark.django_db(transaction=True)
def test_purge_trash_runs_safely_from_several_places_at_once(user):
    make_tasks(user, 200)
    Task.objects.for_user(user).move_to_trash()
    Task.unscoped.update(deleted_at=timezone.now() - timedelta(days=40))

    def purge(_):
        call_command("purge_trash", stdout=open(os.devnull, "w"))  # noqa: SIM115

    in_threads(4, purge)
    assert not Task.unscoped.exists()
