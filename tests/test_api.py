"""The JSON API under /api/: the contract's endpoints, shapes and status codes."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from accounts.models import AccessToken
from tasks.managers import UnscopedQueryError
from tasks.models import Task
from tests.factories import make_tasks

pytestmark = pytest.mark.django_db

HUGE_ID = 99999999999999999999
TASK_FIELDS = {
    "id", "title", "description", "completed", "created_at", "updated_at", "list_id",
    "due_date", "due_time", "recurrence", "recur_from",
}  # fmt: skip


def bearer_client(user, **kwargs) -> Client:
    _, raw = AccessToken.objects.issue(user, "tests")
    return Client(headers={"Authorization": f"Bearer {raw}"}, **kwargs)


@pytest.fixture
def api(user) -> Client:
    return bearer_client(user)


@pytest.fixture
def bob_api(other_user) -> Client:
    return bearer_client(other_user)


def post(client: Client, url: str, data=None):
    return client.post(url, data, content_type="application/json")


def patch(client: Client, url: str, data):
    return client.patch(url, data, content_type="application/json")


def snapshot(task: Task) -> dict:
    """Every stored field of a task, read back from the database."""
    row = Task.unscoped.filter(pk=task.pk).values().first()
    assert row is not None, "the task was deleted"
    return row


def error_locs(response) -> list[list]:
    assert response.status_code == 422
    return [error["loc"] for error in response.json()["detail"]]


# --- The reference spec's four examples -----------------------------------------------


def test_create_task(api):
    response = post(
        api, "/api/tasks", {"title": "Test task", "description": "Test description"}
    )

    assert response.status_code == 201
    data = response.json()
    assert data["title"] == "Test task"
    assert data["description"] == "Test description"
    assert data["completed"] is False
    assert "id" in data


def test_list_tasks_empty(api):
    response = api.get("/api/tasks")

    assert response.status_code == 200
    assert response.json() == []


def test_user_isolation(api, bob_api):
    task_id = post(api, "/api/tasks", {"title": "User A task"}).json()["id"]

    response = bob_api.get(f"/api/tasks/{task_id}")

    assert response.status_code == 404


def test_toggle_task(api):
    response = post(api, "/api/tasks", {"title": "Toggle test"})
    task_id = response.json()["id"]
    assert response.json()["completed"] is False

    response = post(api, f"/api/tasks/{task_id}/toggle")
    assert response.status_code == 200
    assert response.json()["completed"] is True

    response = post(api, f"/api/tasks/{task_id}/toggle")
    assert response.json()["completed"] is False


# --- The task object ------------------------------------------------------------------


def test_task_object_has_the_contract_fields_and_iso_8601_times(api, task):
    data = api.get(f"/api/tasks/{task.pk}").json()

    assert set(data) == TASK_FIELDS
    assert data["id"] == task.pk
    assert data["title"] == task.title
    created = datetime.fromisoformat(data["created_at"])
    assert created.tzinfo is not None
    assert abs(created - task.created_at) < timedelta(milliseconds=1)
    assert datetime.fromisoformat(data["updated_at"]) == created


def test_missing_description_is_an_empty_string_never_null(api, task):
    assert task.description == ""

    assert api.get(f"/api/tasks/{task.pk}").json()["description"] == ""
    assert api.get("/api/tasks").json()[0]["description"] == ""


# --- GET /api/tasks -------------------------------------------------------------------


def test_list_returns_only_the_callers_tasks_newest_first(api, user, other_task):
    older, newer = make_tasks(user, 2)
    Task.objects.for_user(user).filter(pk=older.pk).update(
        created_at=timezone.now() - timedelta(days=1)
    )

    response = api.get("/api/tasks")

    assert response.status_code == 200
    assert [t["id"] for t in response.json()] == [newer.pk, older.pk]


def test_list_breaks_created_at_ties_by_newest_id(api, user):
    tasks = make_tasks(user, 3, created_at=timezone.now())

    ids = [t["id"] for t in api.get("/api/tasks").json()]

    assert ids == sorted((t.pk for t in tasks), reverse=True)


def test_list_filters_by_completed(api, user):
    (done,) = make_tasks(user, 1, completed=True)
    (active,) = make_tasks(user, 1)

    completed = api.get("/api/tasks", {"completed": "true"}).json()
    not_completed = api.get("/api/tasks", {"completed": "false"}).json()

    assert [t["id"] for t in completed] == [done.pk]
    assert [t["id"] for t in not_completed] == [active.pk]


def test_list_pages_with_skip_and_limit(api, user):
    make_tasks(user, 5)
    every_id = [t["id"] for t in api.get("/api/tasks").json()]

    page = api.get("/api/tasks", {"skip": 1, "limit": 2}).json()

    assert [t["id"] for t in page] == every_id[1:3]


def test_list_returns_at_most_100_by_default(api, user):
    make_tasks(user, 101)

    assert len(api.get("/api/tasks").json()) == 100
    assert len(api.get("/api/tasks", {"limit": 100, "skip": 100}).json()) == 1


def test_list_skip_past_the_end_is_an_empty_list(api, user):
    make_tasks(user, 2)

    response = api.get("/api/tasks", {"skip": 2**63 - 1})

    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"skip": -1}, "skip"),
        ({"skip": "x"}, "skip"),
        ({"skip": 2**63}, "skip"),
        ({"skip": HUGE_ID}, "skip"),
        ({"completed": "yes"}, "completed"),
        ({"completed": "1"}, "completed"),
        ({"completed": "True"}, "completed"),
        ({"completed": ""}, "completed"),
    ],
)
def test_list_with_an_invalid_query_is_422_naming_the_parameter(api, query, field):
    response = api.get("/api/tasks", query)

    assert error_locs(response) == [["query", field]]


# --- POST /api/tasks ------------------------------------------------------------------


def test_create_trims_the_title_and_stores_it_for_the_caller(api, user):
    response = post(api, "/api/tasks", {"title": "  Buy milk  "})

    assert response.status_code == 201
    task = Task.objects.for_user(user).get()
    assert task.title == "Buy milk"
    assert task.description == ""
    assert response.json()["id"] == task.pk


def test_create_with_null_description_stores_an_empty_string(api, user):
    response = post(api, "/api/tasks", {"title": "T", "description": None})

    assert response.status_code == 201
    assert response.json()["description"] == ""
    assert Task.objects.for_user(user).get().description == ""


def test_create_accepts_the_longest_title_and_description(api):
    response = post(api, "/api/tasks", {"title": "t" * 200, "description": "d" * 2000})

    assert response.status_code == 201


def test_create_ignores_an_owner_in_the_body(api, user, other_user):
    response = post(api, "/api/tasks", {"title": "Mine", "user": other_user.pk})

    assert response.status_code == 201
    assert Task.objects.for_user(user).count() == 1
    assert Task.objects.for_user(other_user).count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"title": 5}, "title"),
        ({"title": None}, "title"),
        ({"title": ["x"]}, "title"),
        ({"title": "T", "description": "d" * 2001}, "description"),
        ({"title": "T", "description": "nul\x00"}, "description"),
        ({"title": "T", "description": 5}, "description"),
    ],
)
def test_create_with_invalid_input_is_422_naming_the_field_and_saves_nothing(
    api, user, body, field
):
    response = post(api, "/api/tasks", body)

    assert error_locs(response) == [["body", "payload", field]]
    assert not Task.objects.for_user(user).exists()


def test_create_with_a_lone_surrogate_is_422_not_a_database_error(api, user):
    response = api.post(
        "/api/tasks", '{"title": "\\ud800"}', content_type="application/json"
    )

    assert error_locs(response) == [["body", "payload", "title"]]
    assert not Task.objects.for_user(user).exists()


@pytest.mark.parametrize(
    "body", ['{"title": "x"', "not json", "", "[]", '"title"', "\xff", "[" * 100_000]
)
def test_create_with_a_body_that_is_not_a_json_object_is_422(api, user, body):
    response = api.post("/api/tasks", body, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"
    assert not Task.objects.for_user(user).exists()


def test_create_with_an_oversized_body_is_413_json(api, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = post(api, "/api/tasks", {"title": "T", "description": "d" * 2000})

    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large."}
    assert not Task.objects.for_user(user).exists()


# --- GET /api/tasks/<id> --------------------------------------------------------------


def test_get_returns_the_task(api, task):
    response = api.get(f"/api/tasks/{task.pk}")

    assert response.status_code == 200
    assert response.json()["title"] == "Alice's task"


@pytest.mark.parametrize("task_id", [0, -1, 12345, HUGE_ID, 2**63])
def test_get_of_a_missing_id_is_404(api, task_id):
    response = api.get(f"/api/tasks/{task_id}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Task not found"}


def test_get_of_a_non_integer_id_is_422_naming_it(api):
    assert error_locs(api.get("/api/tasks/abc")) == [["path", "task_id"]]


# --- PATCH /api/tasks/<id> ------------------------------------------------------------


def test_patch_changes_only_the_fields_sent_and_moves_updated_at(api, user):
    task = Task.objects.for_user(user).create(title="Old", description="Keep")

    response = patch(api, f"/api/tasks/{task.pk}", {"title": "  New  "})

    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.title, task.description, task.completed) == ("New", "Keep", False)
    assert task.updated_at > task.created_at
    assert response.json()["title"] == "New"
    assert datetime.fromisoformat(response.json()["updated_at"]) > task.created_at


def test_patch_can_complete_and_reopen_a_task(api, task):
    assert patch(api, f"/api/tasks/{task.pk}", {"completed": True}).json()["completed"]
    task.refresh_from_db()
    assert task.completed is True

    patch(api, f"/api/tasks/{task.pk}", {"completed": False})
    task.refresh_from_db()
    assert task.completed is False


def test_patch_with_null_description_clears_it(api, user):
    task = Task.objects.for_user(user).create(title="T", description="Old")

    response = patch(api, f"/api/tasks/{task.pk}", {"description": None})

    assert response.json()["description"] == ""
    task.refresh_from_db()
    assert task.description == ""


def test_patch_with_every_field_at_once(api, task):
    body = {"title": "A", "description": "B", "completed": True}

    data = patch(api, f"/api/tasks/{task.pk}", body).json()

    assert {k: data[k] for k in body} == body


def test_empty_patch_returns_the_task_unchanged(api, task):
    before = snapshot(task)

    response = patch(api, f"/api/tasks/{task.pk}", {})

    assert response.status_code == 200
    assert response.json()["id"] == task.pk
    assert snapshot(task) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "  "}, "title"),
        ({"title": None}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": "x\x00"}, "title"),
        ({"description": "d" * 2001}, "description"),
        ({"completed": "yes"}, "completed"),
        ({"completed": "true"}, "completed"),
        ({"completed": 1}, "completed"),
        ({"completed": None}, "completed"),
    ],
)
def test_patch_with_invalid_input_is_422_and_changes_nothing(api, task, body, field):
    before = snapshot(task)

    response = patch(api, f"/api/tasks/{task.pk}", {"title": "Valid", **body})

    assert error_locs(response) == [["body", "payload", field]]
    assert snapshot(task) == before


def test_patch_of_a_missing_task_is_404(api):
    response = patch(api, "/api/tasks/12345", {"title": "x"})

    assert response.status_code == 404
    assert response.json() == {"detail": "Task not found"}


# --- POST /api/tasks/<id>/toggle ------------------------------------------------------


def test_toggle_flips_completed_in_the_database_and_moves_updated_at(api, task):
    response = post(api, f"/api/tasks/{task.pk}/toggle")

    assert response.status_code == 200
    data = response.json()
    assert set(data) == TASK_FIELDS
    task.refresh_from_db()
    assert task.completed is True
    assert task.updated_at > task.created_at
    assert datetime.fromisoformat(data["updated_at"]) > task.created_at
    assert data["title"] == task.title


@pytest.mark.parametrize("task_id", [12345, HUGE_ID])
def test_toggle_of_a_missing_id_is_404(api, task_id):
    response = post(api, f"/api/tasks/{task_id}/toggle")

    assert response.status_code == 404
    assert response.json() == {"detail": "Task not found"}


def test_toggle_is_post_only(api, task):
    assert api.get(f"/api/tasks/{task.pk}/toggle").status_code == 405


# --- DELETE /api/tasks/<id> -----------------------------------------------------------


def test_delete_removes_the_task_and_answers_204(api, user, task):
    response = api.delete(f"/api/tasks/{task.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert not Task.objects.for_user(user).exists()


def test_deleting_twice_is_404_the_second_time(api, task):
    api.delete(f"/api/tasks/{task.pk}")

    response = api.delete(f"/api/tasks/{task.pk}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Task not found"}


# --- POST /api/tasks/bulk-complete ----------------------------------------------------


def test_bulk_complete_completes_the_callers_tasks_among_the_ids(api, user):
    first, second, _untouched = make_tasks(user, 3)

    response = post(
        api, "/api/tasks/bulk-complete", {"task_ids": [first.pk, second.pk, 12345]}
    )

    assert response.status_code == 200
    assert response.json() == {"updated": 2}
    completed = Task.objects.for_user(user).completed()
    assert set(completed.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_bulk_complete_counts_already_completed_tasks(api, user):
    (done,) = make_tasks(user, 1, completed=True)

    response = post(api, "/api/tasks/bulk-complete", {"task_ids": [done.pk, done.pk]})

    assert response.json() == {"updated": 1}


def test_bulk_complete_with_no_ids_updates_nothing(api, task):
    response = post(api, "/api/tasks/bulk-complete", {"task_ids": []})

    assert response.json() == {"updated": 0}


def test_bulk_complete_ignores_ids_no_task_can_have(api, task):
    ids = [task.pk, 0, -1, HUGE_ID, -HUGE_ID, 2**63]

    response = post(api, "/api/tasks/bulk-complete", {"task_ids": ids})

    assert response.json() == {"updated": 1}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"task_ids": None},
        {"task_ids": 1},
        {"task_ids": ["1"]},
        {"task_ids": [1.5]},
        {"task_ids": [True]},
        {"task_ids": list(range(1, 1002))},
    ],
)
def test_bulk_complete_with_invalid_ids_is_422_naming_the_field(api, task, body):
    response = post(api, "/api/tasks/bulk-complete", body)

    assert error_locs(response)[0][:3] == ["body", "payload", "task_ids"]
    task.refresh_from_db()
    assert task.completed is False


# --- Another user's tasks: 404, and nothing changes -----------------------------------

OBJECT_CALLS = {
    "get": lambda c, pk: c.get(f"/api/tasks/{pk}"),
    "patch": lambda c, pk: patch(
        c, f"/api/tasks/{pk}", {"title": "Hijacked", "completed": True}
    ),
    "patch_description": lambda c, pk: patch(
        c, f"/api/tasks/{pk}", {"description": None}
    ),
    "toggle": lambda c, pk: post(c, f"/api/tasks/{pk}/toggle"),
    "delete": lambda c, pk: c.delete(f"/api/tasks/{pk}"),
}


@pytest.mark.parametrize("call", OBJECT_CALLS.values(), ids=OBJECT_CALLS.keys())
def test_another_users_task_is_404_on_every_endpoint_and_changes_nothing(
    api, other_task, call
):
    before = snapshot(other_task)

    response = call(api, other_task.pk)

    assert response.status_code == 404
    assert response.json() == {"detail": "Task not found"}
    assert snapshot(other_task) == before


def test_bulk_complete_of_another_users_tasks_reports_0_and_changes_nothing(
    api, other_task
):
    before = snapshot(other_task)

    response = post(api, "/api/tasks/bulk-complete", {"task_ids": [other_task.pk]})

    assert response.json() == {"updated": 0}
    assert snapshot(other_task) == before


def test_the_list_never_shows_another_users_tasks(api, other_task):
    for query in ({}, {"completed": "false"}, {"completed": "true"}):
        assert api.get("/api/tasks", query).json() == []


# --- Authentication -------------------------------------------------------------------

EVERY_CALL = {
    "list": lambda c: c.get("/api/tasks"),
    "create": lambda c: post(c, "/api/tasks", {"title": "x"}),
    "get": lambda c: c.get("/api/tasks/1"),
    "patch": lambda c: patch(c, "/api/tasks/1", {"title": "x"}),
    "toggle": lambda c: post(c, "/api/tasks/1/toggle"),
    "delete": lambda c: c.delete("/api/tasks/1"),
    "bulk_complete": lambda c: post(c, "/api/tasks/bulk-complete", {"task_ids": [1]}),
}


@pytest.mark.parametrize("call", EVERY_CALL.values(), ids=EVERY_CALL.keys())
def test_anonymous_calls_get_401_json_not_a_login_redirect(call, task):
    before = snapshot(task)

    response = call(Client(enforce_csrf_checks=True))

    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert isinstance(response.json()["detail"], str)
    assert response["WWW-Authenticate"] == "Bearer"
    assert snapshot(task) == before


@pytest.mark.parametrize(
    "header",
    [
        "Bearer todo_not-a-real-token",
        "Bearer not-even-our-prefix",
        "Bearer ",
        "Bearer " + "todo_" + "x" * 500,
        pytest.param(
            "bearer todo_\x7f",
            marks=pytest.mark.in_process("HAProxy answers 400 to a DEL in a header"),
        ),
    ],
)
def test_an_unknown_token_is_401(task, header):
    response = Client(headers={"Authorization": header}).get("/api/tasks")

    assert response.status_code == 401
    assert "detail" in response.json()


def test_a_revoked_token_is_401(alice_client, user, task):
    token, raw = AccessToken.objects.issue(user, "laptop")
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/tasks").status_code == 200

    alice_client.post(f"/accounts/tokens/{token.pk}/revoke/")

    response = api.get("/api/tasks")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked token."}


def test_a_deactivated_users_token_is_401(api, user):
    user.is_active = False
    user.save()

    assert api.get("/api/tasks").status_code == 401


def test_a_bad_token_is_401_even_with_a_signed_in_session(alice_client, task):
    response = alice_client.get(
        "/api/tasks", headers={"Authorization": "Bearer todo_wrong"}
    )

    assert response.status_code == 401


def test_the_browser_session_authenticates_reads(alice_client, task):
    response = alice_client.get("/api/tasks")

    assert response.status_code == 200
    assert [t["id"] for t in response.json()] == [task.pk]


@pytest.fixture
def session_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_token(client: Client) -> str:
    client.get("/api/docs")  # any page that uses the token sets its cookie
    return client.cookies["csrftoken"].value


@pytest.mark.parametrize(
    "call",
    [v for k, v in EVERY_CALL.items() if k not in {"list", "get"}],
    ids=[k for k in EVERY_CALL if k not in {"list", "get"}],
)
def test_session_calls_that_change_data_need_the_csrf_token(session_client, task, call):
    before = snapshot(task)

    response = call(session_client)

    assert response.status_code == 403
    assert "detail" in response.json()
    assert snapshot(task) == before
    assert Task.unscoped.count() == 1


def test_a_session_call_with_the_csrf_token_succeeds(session_client, user):
    token = csrf_token(session_client)

    response = session_client.post(
        "/api/tasks",
        {"title": "From the browser"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 201
    assert Task.objects.for_user(user).get().title == "From the browser"


def test_token_calls_need_no_csrf_token(user):
    client = bearer_client(user, enforce_csrf_checks=True)

    response = post(client, "/api/tasks", {"title": "From a script"})

    assert response.status_code == 201
    assert Task.objects.for_user(user).count() == 1


def test_a_token_acts_as_its_owner_only(api, bob_api, task):
    assert bob_api.get("/api/tasks").json() == []
    assert [t["id"] for t in api.get("/api/tasks").json()] == [task.pk]


def test_token_use_is_recorded(api, user):
    token = AccessToken.objects.for_user(user).get()
    assert token.last_used_at is None

    api.get("/api/tasks")

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute(
    api, user, django_assert_num_queries
):
    tokens = AccessToken.objects.for_user(user)
    recent = timezone.now() - timedelta(seconds=30)
    tokens.update(last_used_at=recent)

    with django_assert_num_queries(2):  # the token, the tasks: no UPDATE
        api.get("/api/tasks")
    assert tokens.get().last_used_at == recent

    stale = timezone.now() - timedelta(minutes=2)
    tokens.update(last_used_at=stale)
    with django_assert_num_queries(3):  # the token, its touch, the tasks
        api.get("/api/tasks")
    assert tokens.get().last_used_at > stale


# --- Query budgets --------------------------------------------------------------------


@pytest.fixture
def fresh_api(api, user) -> Client:
    """A token client whose token was just used, so no last_used write."""
    AccessToken.objects.for_user(user).update(last_used_at=timezone.now())
    return api


@pytest.mark.parametrize("count", [3, 60])
def test_list_is_two_queries_whatever_the_number_of_tasks(
    fresh_api, user, count, django_assert_max_num_queries
):
    # The token with its user, then one page of tasks: no query per task.
    make_tasks(user, count)

    with django_assert_max_num_queries(2):
        response = fresh_api.get("/api/tasks")

    assert len(response.json()) == count


def test_a_session_cookie_beside_the_token_costs_no_query(
    fresh_api, user, django_assert_max_num_queries
):
    # A browser-and-script client sends both; the token decides, so the
    # session is never loaded (LoginRequiredMiddleware asks the view first).
    fresh_api.force_login(user)
    with django_assert_max_num_queries(2):
        assert fresh_api.get("/api/tasks").status_code == 200


def test_delete_is_two_queries(fresh_api, task, django_assert_max_num_queries):
    # The token with its user, then one DELETE.
    with django_assert_max_num_queries(2):
        assert fresh_api.delete(f"/api/tasks/{task.pk}").status_code == 204


def test_toggle_is_two_queries(fresh_api, task, django_assert_max_num_queries):
    # The token with its user, then one UPDATE ... RETURNING: no read-back.
    with django_assert_max_num_queries(2):
        response = post(fresh_api, f"/api/tasks/{task.pk}/toggle")

    assert response.json()["completed"] is True


@pytest.mark.parametrize(
    ("call", "budget"),
    [
        (lambda c, pk: c.get(f"/api/tasks/{pk}"), 2),
        (lambda c, pk: post(c, "/api/tasks", {"title": "x"}), 2),
        # The token with its user, then one UPDATE ... RETURNING.
        (lambda c, pk: patch(c, f"/api/tasks/{pk}", {"title": "y"}), 2),
        (lambda c, pk: patch(c, f"/api/tasks/{pk}", {"completed": True}), 2),
        (lambda c, pk: patch(c, f"/api/tasks/{pk}", {}), 2),
        (lambda c, pk: post(c, "/api/tasks/bulk-complete", {"task_ids": [pk]}), 2),
    ],
    ids=["get", "create", "patch", "patch-completed", "patch-nothing", "bulk_complete"],
)
def test_other_endpoints_stay_within_their_budgets(
    fresh_api, task, call, budget, django_assert_max_num_queries
):
    with django_assert_max_num_queries(budget):
        assert call(fresh_api, task.pk).status_code < 300


# --- The queryset verbs behind toggle and PATCH -------------------------------------


def test_update_returning_returns_the_task_as_saved_with_a_new_updated_at(user, task):
    saved = Task.objects.for_user(user).update_returning(
        task.pk, title="New", completed=True
    )

    assert (saved.title, saved.completed) == ("New", True)
    assert saved.updated_at > task.updated_at
    stored = snapshot(task)
    assert (stored["title"], stored["completed"], stored["updated_at"]) == (
        "New",
        True,
        saved.updated_at,
    )


def test_update_returning_does_not_reach_another_users_task(user, other_task):
    before = snapshot(other_task)
    assert (
        Task.objects.for_user(user).update_returning(other_task.pk, title="x") is None
    )
    assert snapshot(other_task) == before


def test_toggle_returning_needs_a_for_user_queryset(task):
    with pytest.raises(UnscopedQueryError):
        Task.objects.toggle_returning(task.pk)
    with pytest.raises(UnscopedQueryError):
        Task.unscoped.toggle_returning(task.pk)


def test_toggle_returning_returns_the_saved_row_with_python_types(user, task):
    toggled = Task.objects.for_user(user).toggle_returning(task.pk)

    assert toggled == task
    assert toggled.completed is True
    assert toggled.created_at == task.created_at
    assert toggled.updated_at > task.updated_at
    assert toggled.updated_at == snapshot(task)["updated_at"]


def test_toggle_returning_does_not_reach_another_users_task(user, other_task):
    assert Task.objects.for_user(user).toggle_returning(other_task.pk) is None
    assert Task.objects.for_user(user).toggle_returning(HUGE_ID) is None


# --- Schema and docs ------------------------------------------------------------------


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_describes_every_endpoint_of_the_contract(openapi):
    operations = {
        (method.upper(), path)
        for path, item in openapi["paths"].items()
        for method in item
    }

    assert operations == {
        ("GET", "/api/tasks"),
        ("POST", "/api/tasks"),
        ("GET", "/api/tasks/{task_id}"),
        ("PATCH", "/api/tasks/{task_id}"),
        ("POST", "/api/tasks/{task_id}/toggle"),
        ("DELETE", "/api/tasks/{task_id}"),
        ("POST", "/api/tasks/{task_id}/restore"),
        ("GET", "/api/tasks/trash"),
        ("POST", "/api/tasks/bulk-complete"),
        ("GET", "/api/lists"),
        ("POST", "/api/lists"),
        ("GET", "/api/lists/{list_id}"),
        ("PATCH", "/api/lists/{list_id}"),
        ("DELETE", "/api/lists/{list_id}"),
    }


def test_the_schema_documents_security_and_error_responses(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["TokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["TokenAuth"]["description"],
    }
    assert schemes["SessionAuth"]["in"] == "cookie"
    for path, item in openapi["paths"].items():
        for operation in item.values():
            assert {"TokenAuth": []} in operation["security"]
            assert {"401", "422"} <= set(operation["responses"]), path
            if "{task_id}" in path or "{list_id}" in path:
                assert "404" in operation["responses"], path


def test_the_schema_says_description_is_a_string_in_responses(openapi):
    task = openapi["components"]["schemas"]["TaskOut"]

    assert task["properties"]["description"]["type"] == "string"
    assert set(task["required"]) == TASK_FIELDS


@pytest.mark.in_process(
    "finds static files by their source names; collectstatic serves hashed ones"
)
def test_the_docs_page_is_public_and_served_without_a_cdn(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert urls
    for url in urls:
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), url


def test_the_docs_page_runs_no_inline_script_under_the_sites_csp(client):
    response = client.get("/api/docs")

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    # A JSON data block is not executed, so 'self' allows everything else.
    for attributes in re.findall(r"<script([^>]*)>", response.content.decode()):
        assert "src=" in attributes or 'type="application/json"' in attributes
    assert " style=" not in response.content.decode()
