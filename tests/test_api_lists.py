"""Lists through the JSON API (/api/lists, and list_id and q on /api/tasks),
and the queryset verbs behind them."""

import pytest

from tasks.managers import UnscopedQueryError
from tasks.models import Task, TaskList

pytestmark = pytest.mark.django_db


def lists_of(user):
    return TaskList.objects.for_user(user)


def tasks_of(user):
    return Task.objects.for_user(user)


@pytest.fixture
def groceries(user) -> TaskList:
    return lists_of(user).create(name="Groceries")


@pytest.fixture
def other_list(other_user) -> TaskList:
    return lists_of(other_user).create(name="Bob's list")


# --- The queryset verbs ---------------------------------------------------------------


def test_trash_list_also_moves_trashed_tasks_out_so_the_list_can_go(user, groceries):
    live = tasks_of(user).create(title="Milk", list_id=groceries.pk)
    trashed = tasks_of(user).create(title="Eggs", list_id=groceries.pk)
    tasks_of(user).trash_one(trashed.pk)

    moved = tasks_of(user).trash_list(groceries.pk)

    assert [task.pk for task in moved] == [live.pk]
    assert not Task.unscoped.filter(list_id=groceries.pk).exists()
    assert lists_of(user).delete_list(groceries.pk) is not None


def test_trash_list_never_moves_the_inboxs_tasks(user):
    task = tasks_of(user).create(title="Stays")
    inbox = lists_of(user).inbox().get()

    assert tasks_of(user).trash_list(inbox.pk) == []

    assert tasks_of(user).get(pk=task.pk).list_id == inbox.pk


def test_rename_returning_returns_the_list_as_saved_with_its_active_count(
    user, groceries
):
    tasks_of(user).create(title="Milk", list_id=groceries.pk)
    done = tasks_of(user).create(title="Eggs", list_id=groceries.pk)
    tasks_of(user).toggle(done.pk)
    tasks_of(user).trash_one(
        tasks_of(user).create(title="Gone", list_id=groceries.pk).pk
    )

    renamed = lists_of(user).rename_returning(groceries.pk, "Shopping")

    assert (renamed.pk, renamed.name, renamed.active_count) == (
        groceries.pk,
        "Shopping",
        1,
    )
    assert renamed.created_at == groceries.created_at
    assert renamed.is_inbox is False
    assert lists_of(user).get(pk=groceries.pk).name == "Shopping"


def test_rename_returning_does_not_reach_another_users_list(user, other_list):
    assert lists_of(user).rename_returning(other_list.pk, "Mine") is None
    assert lists_of(user).rename_returning(2**70, "Mine") is None
    assert TaskList.unscoped.get(pk=other_list.pk).name == "Bob's list"


def test_rename_returning_needs_a_for_user_queryset(groceries):
    with pytest.raises(UnscopedQueryError):
        TaskList.objects.rename_returning(groceries.pk, "x")
    with pytest.raises(UnscopedQueryError):
        TaskList.unscoped.rename_returning(groceries.pk, "x")
