"""Lists: every user's Inbox, the pages, moving tasks, and the database's
rule that a task and its list have the same owner."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from tasks.models import Task, TaskList
from tests.factories import PASSWORD, make_tasks
from tests.pages import admin_rows, counters, list_counts, menu, rows, version_of

pytestmark = pytest.mark.django_db


def lists_of(user):
    return TaskList.objects.for_user(user)


def inbox_of(user) -> TaskList:
    return lists_of(user).inbox().get()


@pytest.fixture
def groceries(user) -> TaskList:
    return lists_of(user).create(name="Groceries")


@pytest.fixture
def bobs_list(other_user) -> TaskList:
    return lists_of(other_user).create(name="Bob's plans")


# --- The Inbox ------------------------------------------------------------------


def test_signing_up_gives_the_new_user_an_inbox(client):
    client.post(
        "/accounts/signup/",
        {"username": "carol", "password1": PASSWORD, "password2": PASSWORD},
    )
    carol = get_user_model().objects.get(username="carol")
    assert [(x.name, x.is_inbox) for x in lists_of(carol)] == [("Inbox", True)]


def test_every_way_of_making_a_user_gives_it_exactly_one_inbox(db):
    users = get_user_model().objects
    for user in [users.create_user("a"), users.create_superuser("b")]:
        assert lists_of(user).inbox().count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskList.unscoped.create(user=user, name="Second", is_inbox=True)


def test_a_task_added_without_a_list_goes_to_the_inbox(user):
    task = Task.objects.for_user(user).create(title="Anywhere")
    assert task.list_id == inbox_of(user).pk


def test_adding_to_another_users_list_inserts_nothing(user, bobs_list):
    with pytest.raises(TaskList.DoesNotExist):
        Task.objects.for_user(user).create(title="Sneaky", list_id=bobs_list.pk)
    assert not Task.unscoped.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_users_an_inbox_with_their_tasks():
    executor = MigrationExecutor(connection)
    executor.migrate([("tasks", "0002_trash")])
    old = executor.loader.project_state([("tasks", "0002_trash")]).apps
    User, OldTask = old.get_model("auth", "User"), old.get_model("tasks", "Task")
    alice, bob = (User.objects.create(username=n) for n in ("old-a", "old-b"))
    OldTask.objects.create(user=alice, title="Kept")
    OldTask.objects.create(user=bob, title="Also kept")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    for user_id, title in [(alice.pk, "Kept"), (bob.pk, "Also kept")]:
        (task,) = Task.unscoped.filter(user_id=user_id)
        assert task.title == title
        assert task.list.is_inbox and task.list.user_id == user_id


# --- The database's rule -----------------------------------------------------------


def test_the_database_refuses_a_task_in_another_users_list(task, bobs_list):
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.unscoped.filter(pk=task.pk).update(list_id=bobs_list.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.unscoped.create(user=task.user, list=bobs_list, title="Sneaky")
    task.refresh_from_db()
    assert task.list_id == inbox_of(task.user).pk


def test_the_database_refuses_giving_a_list_with_tasks_to_someone_else(
    task, other_user
):
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskList.unscoped.filter(pk=task.list_id).update(user=other_user)


def test_moving_to_another_users_list_through_the_scope_changes_nothing(
    user, task, bobs_list
):
    tasks = Task.objects.for_user(user)
    assert tasks.filter(pk=task.pk).update(list_id=bobs_list.pk) == 0
    assert tasks.update_returning(task.pk, list_id=bobs_list.pk) is None
    task.refresh_from_db()
    assert task.list_id == inbox_of(user).pk


def test_giving_tasks_to_another_user_puts_them_in_that_users_inbox(
    user, other_user, groceries
):
    make_tasks(user, 2, list=groceries)
    assert Task.unscoped.filter(user=user).transfer_to(other_user) == 2
    assert {t.list_id for t in Task.unscoped.filter(user=other_user)} == {
        inbox_of(other_user).pk
    }


# --- /lists/ ---------------------------------------------------------------------


def test_creating_a_list_opens_it(alice_client, user, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # the session, the INSERT
        response = alice_client.post("/lists/", {"name": "  Groceries  "})
    created = lists_of(user).get(name="Groceries")
    assert response["Location"] == f"/tasks/?list={created.pk}"


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "a\x00b", "INBOX", "inbox"])
def test_a_bad_or_taken_name_is_refused_next_to_the_field(alice_client, user, name):
    response = alice_client.post("/lists/", {"name": name})
    assert response.status_code == 400
    assert 'id="new-list-error"' in response.content.decode()
    assert lists_of(user).count() == 1


# In autocommit, as requests run: inside a test's transaction, the rename's
# UPDATE would also need a savepoint (tasks.managers.recoverable()).
@pytest.mark.django_db(transaction=True)
def test_renaming_a_list(alice_client, user, groceries, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # the session, the UPDATE
        response = alice_client.post(
            "/lists/", {"list": groceries.pk, "name": "Shopping"}
        )
    assert response.status_code == 302
    groceries.refresh_from_db()
    assert groceries.name == "Shopping"


def test_renaming_to_a_taken_name_says_so_at_that_list(alice_client, groceries):
    response = alice_client.post("/lists/", {"list": groceries.pk, "name": "inbox"})
    assert response.status_code == 400
    body = response.content.decode()
    assert f'id="name-{groceries.pk}-error"' in body
    assert "You already have a list with this name." in body
    groceries.refresh_from_db()
    assert groceries.name == "Groceries"


def test_the_lists_page_shows_each_list_with_its_active_count(
    alice_client, user, groceries
):
    make_tasks(user, 2, list=groceries)
    make_tasks(user, 1, list=groceries, completed=True)
    response = alice_client.get("/lists/")
    assert list_counts(response) == [("Inbox", 0), ("Groceries", 2)]


# --- Deleting a list ---------------------------------------------------------


@pytest.mark.in_process("counts its own queries")
def test_deleting_a_list_trashes_its_tasks_and_undo_brings_both_back(
    alice_client, user, groceries
):
    milk, eggs = make_tasks(user, 2, list=groceries)
    confirm = alice_client.get(f"/lists/{groceries.pk}/delete/").content.decode()
    assert "Delete list</button>" in confirm

    with CaptureQueriesContext(connection) as captured:
        alice_client.post(f"/lists/{groceries.pk}/delete/")
    # The session, then one statement on PostgreSQL: the tasks' UPDATE and
    # the list's DELETE in one WITH; SQLite runs the two in a transaction
    # (its savepoints inside the test's transaction are not counted).
    statements = [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == (2 if connection.vendor == "postgresql" else 3)

    assert not lists_of(user).filter(pk=groceries.pk).exists()
    assert not Task.objects.for_user(user).exists()
    page = alice_client.get("/tasks/").content.decode()
    assert "Deleted the list “Groceries” and moved its 2 tasks to the trash." in page
    assert 'name="list_name" value="Groceries"' in page

    alice_client.post(
        "/tasks/restore/", {"ids": [milk.pk, eggs.pk], "list_name": "Groceries"}
    )
    restored = lists_of(user).get(name="Groceries")
    assert set(Task.objects.for_user(user).values_list("list", flat=True)) == {
        restored.pk
    }


def test_tasks_already_in_the_trash_stay_there_when_their_list_goes(
    alice_client, user, groceries
):
    (trashed,) = make_tasks(user, 1, list=groceries)
    Task.objects.for_user(user).trash_one(trashed.pk)
    alice_client.post(f"/lists/{groceries.pk}/delete/")
    (still,) = Task.objects.trash_for(user)
    assert still.list_id == inbox_of(user).pk


def test_the_inbox_cannot_be_deleted(alice_client, user, task):
    inbox = inbox_of(user)
    page = alice_client.get(f"/lists/{inbox.pk}/delete/").content.decode()
    assert "cannot be deleted" in page
    assert "Delete list</button>" not in page
    assert alice_client.post(f"/lists/{inbox.pk}/delete/").status_code == 404
    assert lists_of(user).filter(pk=inbox.pk).exists()
    assert Task.objects.for_user(user).get().pk == task.pk  # not trashed


# --- Another user's list is a 404 everywhere, and nothing changes -------------


def _nothing_changed(bobs_list, other_task):
    bobs_list.refresh_from_db()
    assert bobs_list.name == "Bob's plans"
    assert Task.unscoped.filter(list=bobs_list).count() == 0
    other_task.refresh_from_db()
    assert other_task.deleted_at is None


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/lists/{pk}/delete/", None),
        ("post", "/lists/{pk}/delete/", {}),
        ("post", "/lists/", {"list": "{pk}", "name": "Mine now"}),
        ("get", "/tasks/?list={pk}", None),
        ("get", "/tasks/?list={pk}&q=plans&status=active", None),
        ("post", "/tasks/new/", {"title": "Into Bob's", "list": "{pk}"}),
    ],
)
def test_another_users_list_is_a_404_on_every_url(
    alice_client, bobs_list, other_task, method, path, data
):
    pk = bobs_list.pk
    data = {k: v.format(pk=pk) for k, v in data.items()} if data is not None else None
    response = getattr(alice_client, method)(path.format(pk=pk), data)
    assert response.status_code == 404
    _nothing_changed(bobs_list, other_task)
    assert not Task.unscoped.filter(title="Into Bob's").exists()


def test_a_task_cannot_be_moved_into_another_users_list(
    alice_client, task, bobs_list, other_task
):
    version = version_of(alice_client.get(f"/tasks/{task.pk}/edit/"))
    response = alice_client.post(
        f"/tasks/{task.pk}/edit/",
        {"title": "Moved?", "list": bobs_list.pk, "version": version},
    )
    assert response.status_code == 404
    task.refresh_from_db()
    assert (task.title, task.list_id) == ("Alice's task", inbox_of(task.user).pk)
    _nothing_changed(bobs_list, other_task)


@pytest.mark.parametrize("value", ["x", "-1", "1.5", "9" * 30, "1\x00"])
def test_a_list_that_cannot_be_an_id_is_a_404(alice_client, value):
    assert alice_client.get("/tasks/", {"list": value}).status_code == 404


# --- The task list and lists ---------------------------------------------------


def test_the_task_list_shows_one_list_and_the_menu_of_all(
    alice_client, user, groceries
):
    make_tasks(user, 2, list=groceries)
    make_tasks(user, 3)
    response = alice_client.get(f"/tasks/?list={groceries.pk}")
    assert len(rows(response)) == 2
    # No "Clear completed" button: none of the list's tasks is completed.
    assert counters(response) == {"active": 2}
    body = response.content.decode()
    assert '<h1 id="tasks-heading">Groceries</h1>' in body
    assert f'href="/tasks/?list={groceries.pk}" aria-current="page"' in body
    assert menu(response) == [
        ("All tasks", 5),
        ("Today", 0),
        ("Upcoming", 0),
        ("Inbox", 3),
        ("Groceries", 2),
    ]


def test_a_task_added_on_a_lists_page_goes_to_that_list(
    alice_client, user, groceries, django_assert_max_num_queries
):
    page = alice_client.get(f"/tasks/?list={groceries.pk}").content.decode()
    assert f'<input type="hidden" name="list" value="{groceries.pk}">' in page
    with django_assert_max_num_queries(2):  # the session, one INSERT ... SELECT
        alice_client.post("/tasks/new/", {"title": "Milk", "list": groceries.pk})
    assert Task.objects.for_user(user).get(title="Milk").list_id == groceries.pk


def test_moving_a_task_from_its_edit_page(
    alice_client, user, task, groceries, django_assert_max_num_queries
):
    page = alice_client.get(f"/tasks/{task.pk}/edit/")
    assert f'<option value="{groceries.pk}">Groceries</option>' in page.content.decode()
    data = {"title": task.title, "list": groceries.pk, "version": version_of(page)}
    with django_assert_max_num_queries(2):  # the session, the UPDATE
        response = alice_client.post(f"/tasks/{task.pk}/edit/", data)
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.list_id == groceries.pk


@pytest.mark.parametrize(
    "query",
    ["?list={pk}", "?list={pk}&status=active", "?q=milk", "?list={pk}&q=milk&page=2"],
)
def test_list_and_search_pages_cost_one_query_more_than_before_at_most(
    alice_client, user, groceries, query, django_assert_max_num_queries
):
    make_tasks(user, 60, list=groceries, description="milk")
    # The session, the rows, the lists with the counters (one round trip on
    # PostgreSQL: tests/test_performance.py).
    with django_assert_max_num_queries(3):
        response = alice_client.get("/tasks/" + query.format(pk=groceries.pk))
    assert response.status_code == 200
    assert rows(response)


def test_filter_and_page_links_keep_the_list_and_the_search(
    alice_client, user, groceries
):
    make_tasks(user, 60, list=groceries, description="milk")
    body = alice_client.get(f"/tasks/?list={groceries.pk}&q=milk").content.decode()
    assert f'href="?list={groceries.pk}&amp;q=milk&amp;status=active"' in body
    assert f'href="?list={groceries.pk}&amp;q=milk&amp;page=2"' in body
    assert f'href="?list={groceries.pk}">Clear search</a>' in body


def test_the_admin_lists_task_lists_with_owner_and_counts(admin_client, user, task):
    response = admin_client.get("/admin/tasks/tasklist/")
    assert response.status_code == 200
    (row,) = [x for x in admin_rows(response) if x["user"] == "alice"]
    assert (row["name"], row["task_count"], row["active_count"]) == ("Inbox", "1", "1")


def test_the_menu_lists_the_inbox_first_then_by_name_ignoring_case(alice_client, user):
    for name in ["zebra", "Apples", "mangoes"]:
        lists_of(user).create(name=name)
    response = alice_client.get("/tasks/")
    names = [name for name, _ in menu(response)]
    assert names == [
        "All tasks",
        "Today",
        "Upcoming",
        "Inbox",
        "Apples",
        "mangoes",
        "zebra",
    ]


def test_an_in_place_toggle_updates_the_menus_counts_in_the_same_query(
    alice_client, user, groceries, django_assert_max_num_queries
):
    (milk,) = make_tasks(user, 1, list=groceries)
    # The session, the UPDATE ... RETURNING, the menu with the counters.
    with django_assert_max_num_queries(3):
        response = alice_client.post(
            f"/tasks/{milk.pk}/toggle/",
            {"next": f"/tasks/?list={groceries.pk}"},
            headers={"HX-Request": "true"},
        )
    body = response.content.decode()
    # Only the menu's links are swapped, so a menu opened on a phone stays open.
    assert '<nav aria-label="Lists" id="lists-nav" hx-swap-oob="true">' in body
    assert "<details" not in body
    # All tasks, Inbox, Groceries: nothing left to do anywhere.
    assert body.count('>0<span class="visually-hidden"> active</span>') == 3
    assert "<strong>0</strong> items left" in body


@pytest.mark.parametrize("path", ["/tasks/toggle-all/", "/tasks/clear-completed/"])
def test_the_bulk_buttons_act_on_the_list_and_search_shown(
    alice_client, user, groceries, path, django_assert_max_num_queries
):
    tasks = Task.objects.for_user(user)
    tasks.create(title="Bread", list=groceries, completed=True)
    tasks.create(title="Milk", list=groceries)
    tasks.create(title="Milk chocolate", list=groceries, completed=True)
    tasks.create(title="Report", completed=True)  # in the Inbox
    before = set(tasks.exclude(list=groceries).values_list("title", "completed"))
    next_page = f"/tasks/?list={groceries.pk}&q=milk"
    with django_assert_max_num_queries(2):
        alice_client.post(path, {"next": next_page})
    assert set(tasks.exclude(list=groceries).values_list("title", "completed")) == (
        before
    )
    assert tasks.get(title="Bread").completed  # not in the search
    if path == "/tasks/toggle-all/":
        assert tasks.get(title="Milk").completed
    else:
        assert not tasks.filter(title="Milk chocolate").exists()
