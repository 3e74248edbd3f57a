"""Lists through the JSON API (/api/lists, and list_id and q on /api/tasks),
and the queryset verbs behind them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AccessToken
from tasks.managers import NameTaken, UnscopedQueryError
from tasks.models import Task, TaskList
from tests.factories import make_tasks
from tests.test_api import HUGE_ID, bearer_client, error_locs, patch, post, snapshot

pytestmark = pytest.mark.django_db

LIST_FIELDS = {"id", "name", "is_inbox", "active_count", "created_at"}


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


@pytest.fixture
def inbox(user) -> TaskList:
    return lists_of(user).inbox().get()


@pytest.fixture
def api(user):
    return bearer_client(user)


def list_snapshot(task_list: TaskList) -> dict:
    return TaskList.unscoped.filter(pk=task_list.pk).values().get()


# --- /api/lists -----------------------------------------------------------------------


def test_lists_are_the_callers_inbox_first_then_by_name_with_active_counts(
    api, user, inbox, other_list
):
    zebra = lists_of(user).create(name="zebra")
    apples = lists_of(user).create(name="Apples")
    tasks_of(user).create(title="1", list_id=apples.pk)
    tasks_of(user).create(title="2", list_id=apples.pk)
    tasks_of(user).toggle(tasks_of(user).create(title="3", list_id=apples.pk).pk)
    tasks_of(user).create(title="4")

    response = api.get("/api/lists")

    assert response.status_code == 200
    data = response.json()
    assert all(set(item) == LIST_FIELDS for item in data)
    assert [(item["id"], item["name"], item["active_count"]) for item in data] == [
        (inbox.pk, "Inbox", 1),
        (apples.pk, "Apples", 2),
        (zebra.pk, "zebra", 0),
    ]
    assert [item["is_inbox"] for item in data] == [True, False, False]


def test_create_trims_the_name_and_answers_201_with_the_list(api, user):
    response = post(api, "/api/lists", {"name": "  Groceries \n"})

    assert response.status_code == 201
    data = response.json()
    assert set(data) == LIST_FIELDS
    assert (data["name"], data["is_inbox"], data["active_count"]) == (
        "Groceries",
        False,
        0,
    )
    assert lists_of(user).get(pk=data["id"]).name == "Groceries"


@pytest.mark.parametrize("name", ["groceries", "GROCERIES", "  Groceries  "])
def test_a_name_the_caller_has_ignoring_case_is_422_naming_it(
    api, user, groceries, name
):
    response = post(api, "/api/lists", {"name": name})

    assert error_locs(response) == [["body", "payload", "name"]]
    assert lists_of(user).filter(name__iexact="groceries").count() == 1
    # The request's transaction is still usable after the refused INSERT.
    assert api.get("/api/lists").status_code == 200


def test_another_users_list_name_is_free_to_use(api, other_list):
    assert post(api, "/api/lists", {"name": other_list.name}).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": None},
        {"name": "a" * 101},
        {"name": "a\x00b"},
        {"name": "\ud800"},
        {"name": 5},
    ],
    ids=["missing", "empty", "blank", "null", "too-long", "nul", "surrogate", "int"],
)
def test_create_with_an_invalid_name_is_422_naming_it_and_saves_nothing(
    api, user, body
):
    before = lists_of(user).count()

    response = post(api, "/api/lists", body)

    assert error_locs(response)[0][:3] == ["body", "payload", "name"]
    assert lists_of(user).count() == before


def test_a_name_of_100_characters_is_accepted(api):
    assert post(api, "/api/lists", {"name": "a" * 100}).status_code == 201


def test_get_returns_the_list_with_its_active_count(api, user, groceries):
    make_tasks(user, 2, list=groceries)

    response = api.get(f"/api/lists/{groceries.pk}")

    assert response.status_code == 200
    assert response.json()["name"] == "Groceries"
    assert response.json()["active_count"] == 2


def test_rename_answers_with_the_renamed_list(api, user, groceries):
    make_tasks(user, 3, list=groceries)

    response = patch(api, f"/api/lists/{groceries.pk}", {"name": " Shopping "})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["active_count"]) == (
        "Shopping",
        3,
    )
    assert lists_of(user).get(pk=groceries.pk).name == "Shopping"


def test_rename_may_change_only_the_case_of_the_name(api, groceries):
    response = patch(api, f"/api/lists/{groceries.pk}", {"name": "GROCERIES"})

    assert response.json()["name"] == "GROCERIES"


def test_rename_to_another_of_the_callers_names_is_422_and_changes_nothing(
    api, user, groceries
):
    work = lists_of(user).create(name="Work")
    before = list_snapshot(work)

    response = patch(api, f"/api/lists/{work.pk}", {"name": "gRoceries"})

    assert error_locs(response) == [["body", "payload", "name"]]
    assert list_snapshot(work) == before


@pytest.mark.parametrize("body", [{"name": ""}, {"name": None}, {"name": "a" * 101}])
def test_rename_with_an_invalid_name_is_422_and_changes_nothing(api, groceries, body):
    before = list_snapshot(groceries)

    response = patch(api, f"/api/lists/{groceries.pk}", body)

    assert error_locs(response)[0][:3] == ["body", "payload", "name"]
    assert list_snapshot(groceries) == before


def test_an_empty_patch_returns_the_list_unchanged(api, groceries):
    response = patch(api, f"/api/lists/{groceries.pk}", {})

    assert response.status_code == 200
    assert response.json()["name"] == "Groceries"


def test_delete_moves_the_lists_tasks_to_the_trash_and_answers_204(
    api, user, inbox, groceries
):
    milk, eggs = make_tasks(user, 2, list=groceries)
    tasks_of(user).trash_one(eggs.pk)  # already in the trash: stays there
    kept = tasks_of(user).create(title="Elsewhere")

    response = api.delete(f"/api/lists/{groceries.pk}")

    assert response.status_code == 204
    assert not TaskList.unscoped.filter(pk=groceries.pk).exists()
    assert [task.pk for task in tasks_of(user)] == [kept.pk]
    trashed = Task.objects.trash_for(user)
    assert {task.pk for task in trashed} == {milk.pk, eggs.pk}
    # Restored, they are in the Inbox.
    restored = post(api, f"/api/tasks/{milk.pk}/restore").json()
    assert restored["list_id"] == inbox.pk


def test_the_inbox_cannot_be_deleted_409_and_its_tasks_stay(api, user, inbox):
    task = tasks_of(user).create(title="Stays")

    response = api.delete(f"/api/lists/{inbox.pk}")

    assert response.status_code == 409
    assert response.json() == {"detail": "The Inbox cannot be deleted."}
    assert tasks_of(user).get(pk=task.pk).list_id == inbox.pk
    assert lists_of(user).filter(pk=inbox.pk).exists()


def test_deleting_a_missing_list_is_404(api):
    for list_id in (0, -1, 999999, HUGE_ID):
        response = api.delete(f"/api/lists/{list_id}")
        assert response.status_code == 404, list_id
        assert response.json() == {"detail": "List not found"}


@pytest.mark.parametrize("list_id", [0, -1, 999999, HUGE_ID])
def test_get_and_patch_of_a_missing_list_are_404(api, list_id):
    assert api.get(f"/api/lists/{list_id}").status_code == 404
    response = patch(api, f"/api/lists/{list_id}", {"name": "x"})
    assert response.status_code == 404
    assert response.json() == {"detail": "List not found"}


def test_a_non_integer_list_id_is_422_naming_it(api):
    assert error_locs(api.get("/api/lists/abc")) == [["path", "list_id"]]


# --- Another user's list: 404, and nothing changes ------------------------------------

LIST_CALLS = {
    "get": lambda c, pk: c.get(f"/api/lists/{pk}"),
    "rename": lambda c, pk: patch(c, f"/api/lists/{pk}", {"name": "Hijacked"}),
    "rename-to-own-name": lambda c, pk: patch(c, f"/api/lists/{pk}", {"name": "Inbox"}),
    "empty-patch": lambda c, pk: patch(c, f"/api/lists/{pk}", {}),
    "delete": lambda c, pk: c.delete(f"/api/lists/{pk}"),
    "list-its-tasks": lambda c, pk: c.get("/api/tasks", {"list_id": pk}),
    "search-its-tasks": lambda c, pk: c.get("/api/tasks", {"list_id": pk, "q": "x"}),
}


@pytest.mark.parametrize("call", LIST_CALLS.values(), ids=LIST_CALLS.keys())
def test_another_users_list_is_404_on_every_call_and_changes_nothing(
    api, other_user, other_list, call
):
    their_task = tasks_of(other_user).create(title="Bob's", list_id=other_list.pk)
    before = list_snapshot(other_list), snapshot(their_task)

    response = call(api, other_list.pk)

    assert response.status_code == 404
    assert response.json() == {"detail": "List not found"}
    assert (list_snapshot(other_list), snapshot(their_task)) == before


def test_another_users_inbox_is_404_not_409(api, other_user):
    their_inbox = lists_of(other_user).inbox().get()

    response = api.delete(f"/api/lists/{their_inbox.pk}")

    assert response.status_code == 404


def test_a_task_is_never_created_in_another_users_list(api, user, other_list):
    response = post(api, "/api/tasks", {"title": "Sneaky", "list_id": other_list.pk})

    assert response.status_code == 404
    assert response.json() == {"detail": "List not found"}
    assert not Task.unscoped.filter(title="Sneaky").exists()


@pytest.mark.parametrize("list_id", [0, -5, 999999, HUGE_ID])
def test_a_task_is_never_created_in_a_list_that_does_not_exist(api, list_id):
    response = post(api, "/api/tasks", {"title": "Nowhere", "list_id": list_id})

    assert response.status_code == 404
    assert not Task.unscoped.filter(title="Nowhere").exists()


def test_a_task_is_never_moved_into_another_users_list(api, user, task, other_list):
    before = snapshot(task)

    response = patch(
        api, f"/api/tasks/{task.pk}", {"list_id": other_list.pk, "title": "Moved"}
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "List not found"}
    assert snapshot(task) == before


@pytest.mark.parametrize("list_id", [0, 999999, HUGE_ID])
def test_a_move_into_a_list_that_does_not_exist_is_404_and_changes_nothing(
    api, task, list_id
):
    before = snapshot(task)

    response = patch(api, f"/api/tasks/{task.pk}", {"list_id": list_id})

    assert response.status_code == 404
    assert snapshot(task) == before


def test_moving_another_users_task_is_404_task_not_found(api, groceries, other_task):
    before = snapshot(other_task)

    response = patch(api, f"/api/tasks/{other_task.pk}", {"list_id": groceries.pk})

    assert response.json() == {"detail": "Task not found"}
    assert snapshot(other_task) == before


# --- list_id on tasks -----------------------------------------------------------------


def test_a_new_task_goes_to_the_inbox_unless_a_list_is_given(api, inbox, groceries):
    assert post(api, "/api/tasks", {"title": "a"}).json()["list_id"] == inbox.pk
    plain = post(api, "/api/tasks", {"title": "b", "list_id": None}).json()
    assert plain["list_id"] == inbox.pk

    response = post(api, "/api/tasks", {"title": "c", "list_id": groceries.pk})

    assert response.status_code == 201
    assert response.json()["list_id"] == groceries.pk
    assert Task.unscoped.get(pk=response.json()["id"]).list_id == groceries.pk


def test_patch_list_id_moves_the_task(api, user, task, groceries):
    response = patch(api, f"/api/tasks/{task.pk}", {"list_id": groceries.pk})

    assert response.status_code == 200
    assert response.json()["list_id"] == groceries.pk
    assert response.json()["title"] == task.title
    assert tasks_of(user).get(pk=task.pk).list_id == groceries.pk


@pytest.mark.parametrize("value", [None, "1", 1.5, True])
def test_patch_list_id_must_be_an_integer(api, task, value):
    before = snapshot(task)

    response = patch(api, f"/api/tasks/{task.pk}", {"list_id": value})

    assert error_locs(response)[0][:3] == ["body", "payload", "list_id"]
    assert snapshot(task) == before


def test_the_list_id_filter_gives_that_lists_tasks_only(api, user, groceries):
    in_list = make_tasks(user, 2, list=groceries)
    make_tasks(user, 3)

    response = api.get("/api/tasks", {"list_id": groceries.pk})

    assert response.status_code == 200
    assert {task["id"] for task in response.json()} == {task.pk for task in in_list}


def test_an_empty_list_of_the_callers_gives_an_empty_page_not_404(api, groceries):
    response = api.get("/api/tasks", {"list_id": groceries.pk, "q": "nothing"})

    assert response.status_code == 200
    assert response.json() == []


def test_the_list_id_filter_combines_with_completed_skip_and_limit(
    api, user, groceries
):
    tasks = make_tasks(user, 4, list=groceries)
    tasks_of(user).toggle(tasks[0].pk)
    make_tasks(user, 2)

    response = api.get(
        "/api/tasks",
        {"list_id": groceries.pk, "completed": "false", "skip": 1, "limit": 1},
    )

    assert len(response.json()) == 1
    assert response.json()[0]["id"] in {task.pk for task in tasks[1:]}


@pytest.mark.parametrize("list_id", ["abc", "1.5", ""])
def test_a_non_integer_list_id_filter_is_422_naming_it(api, list_id):
    assert error_locs(api.get("/api/tasks", {"list_id": list_id})) == [
        ["query", "list_id"]
    ]


# --- Search ---------------------------------------------------------------------------


def test_search_finds_part_of_a_word_ignoring_case(api, user):
    buttermilk = tasks_of(user).create(title="Buttermilk")
    shout = tasks_of(user).create(title="MILK")
    tasks_of(user).create(title="Bread")

    response = api.get("/api/tasks", {"q": "milk"})

    assert response.status_code == 200
    assert {task["id"] for task in response.json()} == {buttermilk.pk, shout.pk}


def test_search_puts_title_matches_first_then_newest(api, user):
    described = tasks_of(user).create(title="Shop", description="milk and eggs")
    titled = tasks_of(user).create(title="Milk")
    Task.unscoped.filter(pk=titled.pk).update(
        created_at=timezone.now() - timedelta(days=1)
    )

    response = api.get("/api/tasks", {"q": "milk"})

    assert [task["id"] for task in response.json()] == [titled.pk, described.pk]


def test_search_combines_with_the_list_and_completed_filters(api, user, groceries):
    wanted = tasks_of(user).create(title="Milk", list_id=groceries.pk)
    tasks_of(user).create(title="Milk elsewhere")
    done = tasks_of(user).create(title="Milk done", list_id=groceries.pk)
    tasks_of(user).toggle(done.pk)

    response = api.get(
        "/api/tasks", {"q": "milk", "list_id": groceries.pk, "completed": "false"}
    )

    assert [task["id"] for task in response.json()] == [wanted.pk]


def test_search_never_finds_another_users_or_trashed_tasks(api, user, other_task):
    trashed = tasks_of(user).create(title="Bob's task too")
    tasks_of(user).trash_one(trashed.pk)

    assert api.get("/api/tasks", {"q": "task"}).json() == []


def test_an_empty_or_blank_q_is_the_plain_list(api, user):
    tasks = make_tasks(user, 3)
    newest_first = [task.pk for task in reversed(tasks)]

    for q in ("", "   "):
        assert [t["id"] for t in api.get("/api/tasks", {"q": q}).json()] == (
            newest_first
        )


HOSTILE_Q = [
    "%", "_", "\\", "'", '"', "%_%", "\\%", "' OR 1=1 --", "a", "ab", "\x00",
    "milk\x00", "x" * 200, "a b c d e f g h i j k l m n", "😀", "(", ":*", "!",
    "&|", "<mark>", "\uff4d\uff49\uff4c\uff4b",
]  # fmt: skip


@pytest.mark.parametrize("q", HOSTILE_Q)
def test_hostile_q_values_are_answered_never_a_server_error(api, user, q):
    tasks_of(user).create(title="100% done_ok \\ 'quoted' \"double\"")

    response = api.get("/api/tasks", {"q": q})

    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_wildcards_in_q_match_themselves_only(api, user):
    percent = tasks_of(user).create(title="100% done")
    underscore = tasks_of(user).create(title="snake_case")
    tasks_of(user).create(title="plain")

    assert [t["id"] for t in api.get("/api/tasks", {"q": "0%"}).json()] == [percent.pk]
    assert [t["id"] for t in api.get("/api/tasks", {"q": "e_c"}).json()] == [
        underscore.pk
    ]


@pytest.mark.in_process("gunicorn answers 414 to a request line over 4,094 bytes")
def test_a_q_longer_than_200_characters_is_422_naming_it(api):
    for q in ("x" * 201, "x" * 10_000):
        assert error_locs(api.get("/api/tasks", {"q": q})) == [["query", "q"]]


# --- The queryset verbs ---------------------------------------------------------------


def test_deleting_a_list_moves_trashed_tasks_out_too(user, groceries):
    live = tasks_of(user).create(title="Milk", list_id=groceries.pk)
    trashed = tasks_of(user).create(title="Eggs", list_id=groceries.pk)
    tasks_of(user).trash_one(trashed.pk)

    name, moved = tasks_of(user).delete_list(groceries.pk)

    assert name == "Groceries"
    assert [task.pk for task in moved] == [live.pk]
    assert not Task.unscoped.filter(list_id=groceries.pk).exists()
    assert not TaskList.unscoped.filter(pk=groceries.pk).exists()


def test_deleting_the_inbox_moves_nothing_and_deletes_nothing(user):
    task = tasks_of(user).create(title="Stays")
    inbox = lists_of(user).inbox().get()

    assert tasks_of(user).delete_list(inbox.pk) == (None, [])

    assert tasks_of(user).get(pk=task.pk).list_id == inbox.pk
    assert lists_of(user).filter(pk=inbox.pk).exists()


def test_rename_returns_the_list_as_saved_with_its_active_count(user, groceries):
    tasks_of(user).create(title="Milk", list_id=groceries.pk)
    done = tasks_of(user).create(title="Eggs", list_id=groceries.pk)
    tasks_of(user).toggle(done.pk)
    tasks_of(user).trash_one(
        tasks_of(user).create(title="Gone", list_id=groceries.pk).pk
    )

    renamed = lists_of(user).rename(groceries.pk, "Shopping")

    assert (renamed.pk, renamed.name, renamed.active_count) == (
        groceries.pk,
        "Shopping",
        1,
    )
    assert renamed.created_at == groceries.created_at
    assert renamed.is_inbox is False
    assert lists_of(user).get(pk=groceries.pk).name == "Shopping"


def test_rename_does_not_reach_another_users_list(user, other_list):
    assert lists_of(user).rename(other_list.pk, "Mine") is None
    assert lists_of(user).rename(2**70, "Mine") is None
    assert TaskList.unscoped.get(pk=other_list.pk).name == "Bob's list"


def test_rename_to_a_taken_name_raises_name_taken_and_changes_nothing(user, groceries):
    with pytest.raises(NameTaken):
        lists_of(user).rename(groceries.pk, "INBOX")

    # The savepoint kept the test's transaction usable.
    assert lists_of(user).get(pk=groceries.pk).name == "Groceries"


def test_rename_needs_a_for_user_queryset(groceries):
    with pytest.raises(UnscopedQueryError):
        TaskList.objects.rename(groceries.pk, "x")
    with pytest.raises(UnscopedQueryError):
        TaskList.unscoped.rename(groceries.pk, "x")


# --- Query budgets --------------------------------------------------------------------
# The token with its user is one query; each call then sends one statement,
# but for a list's DELETE: its tasks move first (3 in all).


@pytest.fixture
def fresh_api(api, user):
    """A token client whose token was just used, so no last_used write."""
    AccessToken.objects.for_user(user).update(last_used_at=timezone.now())
    return api


@pytest.fixture
def filled(user, groceries):
    """A few lists with tasks, so that nothing is cheap by being empty."""
    for name in ("Work", "Home", "Later"):
        make_tasks(user, 5, list=lists_of(user).create(name=name))
    tasks_of(user).bulk_create(
        Task(title=f"Buttermilk {n}", list=groceries) for n in range(5)
    )
    make_tasks(user, 5)


def test_the_lists_are_two_queries_whatever_their_number(
    fresh_api, filled, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        response = fresh_api.get("/api/lists")

    assert len(response.json()) == 5


def test_a_list_is_two_queries(fresh_api, groceries, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        assert fresh_api.get(f"/api/lists/{groceries.pk}").status_code == 200


def test_a_search_in_a_list_is_two_queries(
    fresh_api, filled, groceries, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        response = fresh_api.get("/api/tasks", {"q": "milk", "list_id": groceries.pk})

    assert len(response.json()) == 5


@pytest.mark.parametrize("into_list", [False, True], ids=["inbox", "list"])
def test_creating_a_task_is_two_queries_with_or_without_a_list(
    fresh_api, groceries, into_list, django_assert_max_num_queries
):
    body = {"title": "x", "list_id": groceries.pk} if into_list else {"title": "x"}

    with django_assert_max_num_queries(2):  # one INSERT ... SELECT finds the list
        assert post(fresh_api, "/api/tasks", body).status_code == 201


def test_moving_a_task_is_two_queries(
    fresh_api, task, groceries, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):  # one UPDATE ... WHERE EXISTS (list)
        response = patch(fresh_api, f"/api/tasks/{task.pk}", {"list_id": groceries.pk})

    assert response.json()["list_id"] == groceries.pk


# The writes that answer an IntegrityError are measured as requests run, in
# autocommit: inside a test's transaction they add a savepoint around the
# statement (SAVEPOINT, RELEASE), which requests never send.
writes_as_requests_run = pytest.mark.django_db(transaction=True)


@writes_as_requests_run
def test_creating_a_list_is_two_queries_also_for_a_duplicate(
    fresh_api, groceries, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        assert post(fresh_api, "/api/lists", {"name": "Work"}).status_code == 201
    with django_assert_max_num_queries(2):
        assert post(fresh_api, "/api/lists", {"name": "work"}).status_code == 422


@writes_as_requests_run
def test_renaming_a_list_is_two_queries_also_for_a_duplicate(
    fresh_api, user, groceries, django_assert_max_num_queries
):
    make_tasks(user, 3, list=groceries)
    lists_of(user).create(name="Work")

    with django_assert_max_num_queries(2):  # one UPDATE ... RETURNING
        response = patch(fresh_api, f"/api/lists/{groceries.pk}", {"name": "Food"})
    assert response.json()["active_count"] == 3
    with django_assert_max_num_queries(2):
        response = patch(fresh_api, f"/api/lists/{groceries.pk}", {"name": "WORK"})
    assert response.status_code == 422


@writes_as_requests_run
def test_deleting_a_list_is_two_queries_on_postgresql(
    fresh_api, user, groceries, django_assert_max_num_queries
):
    make_tasks(user, 5, list=groceries)

    # The token, then one statement: the tasks' UPDATE and the list's DELETE
    # in one WITH. SQLite runs the two in a transaction (BEGIN counted).
    budget = 2 if connection.vendor == "postgresql" else 5
    with django_assert_max_num_queries(budget):
        assert fresh_api.delete(f"/api/lists/{groceries.pk}").status_code == 204
