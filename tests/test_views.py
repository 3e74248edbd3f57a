"""The browser pages of the contract: every URL, its methods, and its budget."""

import html
import re
from datetime import timedelta
from urllib.parse import urljoin

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile, UserSession
from tasks.models import Task
from tests.factories import PASSWORD, TASK_URLS, make_tasks
from tests.pages import counters, errors, rows, signed_in_as, version_of

pytestmark = pytest.mark.django_db

PAGES = [
    "/tasks/",
    "/tasks/new/",
    "/accounts/",
    "/accounts/tokens/",
    "/accounts/export.json",
    "/accounts/export.csv",
    "/accounts/delete/",
]
POST_ONLY = ["/tasks/toggle-all/", "/tasks/clear-completed/", "/accounts/logout/"]


# --- Anonymous visitors ---------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/tasks/1/", "/tasks/1/edit/"])
def test_anonymous_get_redirects_to_login_with_next(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("cookie", ["none", "unknown", "expired"])
def test_list_page_for_a_session_that_signs_nobody_in_redirects_with_the_query(
    client, user, cookie
):
    # The list checks the login itself (its session and page come together),
    # so it answers exactly as the login middleware does for other pages.
    if cookie != "none":
        client.force_login(user)
        session = UserSession.objects.get()
        if cookie == "unknown":
            client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
        else:
            session.expire_date = timezone.now() - timedelta(seconds=1)
            session.save()
    response = client.get("/tasks/?status=active&page=2")
    assert response.status_code == 302
    assert response["Location"] == (
        "/accounts/login/?next=/tasks/%3Fstatus%3Dactive%26page%3D2"
    )


def test_anonymous_post_changes_nothing(client, task):
    response = client.post(f"/tasks/{task.pk}/toggle/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    task.refresh_from_db()
    assert task.completed is False


def test_root_redirects_to_the_task_list(alice_client):
    response = alice_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/tasks/"


def test_login_and_signup_pages_are_public(client):
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/accounts/signup/").status_code == 200


# --- Signup, login, logout ----------------------------------------------------


def test_signup_creates_the_account_logs_in_and_lands_on_tasks(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "carol", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )
    assert response.redirect_chain == [("/tasks/", 302)]
    assert signed_in_as(response) == "carol"
    assert "Welcome" in response.content.decode()


def test_signup_with_a_weak_or_mismatched_password_shows_errors_and_saves_nothing(
    client,
):
    response = client.post(
        "/accounts/signup/",
        {"username": "carol", "password1": "123", "password2": "1234"},
    )
    assert response.status_code == 200
    assert errors(response)["id_password2_error"]
    assert not get_user_model().objects.filter(username="carol").exists()


def test_login_redirects_to_next(client, user):
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD, "next": "/tasks/?status=active"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/tasks/?status=active"


def test_login_and_logout_each_leave_a_message(client, user):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, follow=True
    )
    assert "Welcome back, alice." in response.content.decode()
    response = client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain == [("/accounts/login/", 302)]
    assert "You have logged out." in response.content.decode()


def test_login_ignores_an_offsite_next(client, user):
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/tasks/"


def test_wrong_password_shows_an_error(client, user):
    response = client.post("/accounts/login/", {"username": "alice", "password": "x"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_logout_is_a_post_that_ends_the_session(alice_client):
    assert alice_client.get("/accounts/logout/").status_code == 405
    response = alice_client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
    assert alice_client.get("/tasks/").status_code == 302


def test_logout_revokes_the_session_server_side(client, user):
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    stolen = Client()
    stolen.cookies = client.cookies  # the same cookie, e.g. copied by an attacker
    client.post("/accounts/logout/")
    assert stolen.get("/tasks/").status_code == 302


# --- The list page ----------------------------------------------------------------


def test_list_shows_only_my_tasks_newest_first(alice_client, user, other_task):
    first = Task.objects.for_user(user).create(title="First")
    second = Task.objects.for_user(user).create(title="Second")
    response = alice_client.get("/tasks/")
    assert list(rows(response)) == [second.pk, first.pk]
    assert other_task.title not in html.unescape(response.content.decode())


@pytest.mark.parametrize(
    ("active", "text"), [(1, "1</strong> item left"), (3, "3</strong> items left")]
)
def test_counter_says_item_or_items_left(alice_client, user, active, text):
    make_tasks(user, active)
    make_tasks(user, 2, completed=True)
    assert text in alice_client.get("/tasks/").content.decode()


@pytest.mark.parametrize(
    ("status", "expected"),
    [("all", 5), ("active", 2), ("completed", 3), ("bogus", 5), ("", 5)],
)
def test_status_filter(alice_client, user, status, expected):
    make_tasks(user, 2)
    make_tasks(user, 3, completed=True)
    response = alice_client.get("/tasks/", {"status": status})
    assert response.status_code == 200
    assert len(rows(response)) == expected


def test_filter_links_mark_the_current_one(alice_client, task):
    body = alice_client.get("/tasks/?status=active").content.decode()
    assert '<a href="?status=active" aria-current="page">Active</a>' in body


def test_list_paginates_fifty_a_page(alice_client, user):
    make_tasks(user, 120)
    response = alice_client.get("/tasks/", {"page": 3})
    assert len(rows(response)) == 20
    assert "<span>Page 3 of 3</span>" in response.content.decode()


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999", "1e9", "9" * 30])
def test_bad_page_numbers_still_render_a_page(alice_client, user, page):
    make_tasks(user, 60)
    assert alice_client.get("/tasks/", {"page": page}).status_code == 200


def test_clear_completed_is_offered_only_when_something_is_completed(
    alice_client, user
):
    make_tasks(user, 1)
    assert "Clear completed" not in alice_client.get("/tasks/").content.decode()
    make_tasks(user, 1, completed=True)
    assert "Clear completed (1)" in alice_client.get("/tasks/").content.decode()


def test_list_links_to_api_tokens_and_every_input_has_a_label(alice_client, task):
    body = alice_client.get("/tasks/").content.decode()
    assert 'href="/accounts/tokens/"' in body
    assert '<label for="new-title">' in body


# --- Create -----------------------------------------------------------------------


def test_create_trims_saves_and_redirects_with_a_message(alice_client, user):
    response = alice_client.post(
        "/tasks/new/", {"title": "  Buy milk ", "description": "2 litres"}, follow=True
    )
    assert response.redirect_chain == [("/tasks/", 302)]
    task = Task.objects.for_user(user).get()
    assert (task.title, task.description) == ("Buy milk", "2 litres")
    assert "Added “Buy milk”." in response.content.decode()


def test_create_returns_to_a_safe_next(alice_client):
    response = alice_client.post(
        "/tasks/new/", {"title": "x", "next": "/tasks/?status=active"}
    )
    assert response["Location"] == "/tasks/?status=active"
    response = alice_client.post("/tasks/new/", {"title": "y", "next": "//evil.com/"})
    assert response["Location"] == "/tasks/"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "description": "x" * 2001}, "description"),
        ({"title": "nul\x00"}, "title"),
    ],
    ids=["empty", "blank", "long_title", "long_description", "nul"],
)
def test_create_with_bad_input_rerenders_errors_and_saves_nothing(
    alice_client, user, data, field
):
    response = alice_client.post("/tasks/new/", data)
    assert response.status_code == 200
    assert list(errors(response)) == [f"id_{field}_error"]
    assert Task.objects.for_user(user).count() == 0


def test_user_text_is_escaped(alice_client, user):
    Task.objects.for_user(user).create(title="<script>alert(1)</script>")
    body = alice_client.get("/tasks/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- Detail, edit ---------------------------------------------------------------


def test_detail_shows_the_task(alice_client, task):
    response = alice_client.get(f"/tasks/{task.pk}/")
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert "Alice's task</h1>" in body
    assert f'action="/tasks/{task.pk}/toggle/"' in body
    assert f'href="/tasks/{task.pk}/edit/"' in body


def test_edit_updates_and_redirects(alice_client, task):
    version = version_of(alice_client.get(f"/tasks/{task.pk}/edit/"))
    response = alice_client.post(
        f"/tasks/{task.pk}/edit/",
        {
            "title": "New title",
            "description": "d",
            "completed": "on",
            "version": version,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/tasks/"
    task.refresh_from_db()
    assert (task.title, task.description, task.completed) == ("New title", "d", True)


def test_edit_with_bad_input_rerenders_and_changes_nothing(alice_client, task):
    version = version_of(alice_client.get(f"/tasks/{task.pk}/edit/"))
    response = alice_client.post(
        f"/tasks/{task.pk}/edit/", {"title": " ", "version": version}
    )
    assert response.status_code == 200
    assert errors(response)["id_title_error"]
    task.refresh_from_db()
    assert task.title == "Alice's task"


def test_edit_of_a_task_changed_meanwhile_overwrites_nothing(alice_client, user, task):
    version = version_of(alice_client.get(f"/tasks/{task.pk}/edit/"))
    Task.objects.for_user(user).filter(pk=task.pk).update(title="Changed elsewhere")
    Task.objects.for_user(user).toggle(task.pk)  # moves updated_at
    response = alice_client.post(
        f"/tasks/{task.pk}/edit/", {"title": "Mine", "version": version}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert '<section class="conflict"' in body
    assert "changed somewhere else" in body
    assert "Changed elsewhere" in body  # the saved version, shown to compare
    task.refresh_from_db()
    assert task.title == "Changed elsewhere"
    # Saving again, on purpose, goes through.
    response = alice_client.post(
        f"/tasks/{task.pk}/edit/",
        {"title": "Mine", "version": version_of(response)},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.title == "Mine"


# --- Toggle, delete, toggle-all, clear-completed -----------------------------------


def test_toggle_flips_and_returns_to_next(alice_client, task):
    response = alice_client.post(
        f"/tasks/{task.pk}/toggle/", {"next": "/tasks/?status=active&page=2"}
    )
    assert response["Location"] == "/tasks/?status=active&page=2"
    task.refresh_from_db()
    assert task.completed is True


def test_toggle_ignores_an_offsite_next(alice_client, task):
    response = alice_client.post(
        f"/tasks/{task.pk}/toggle/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/tasks/"


def test_delete_asks_to_confirm_then_deletes(alice_client, user, task):
    response = alice_client.get(f"/tasks/{task.pk}/delete/")
    assert response.status_code == 200
    assert "to the trash" in response.content.decode()
    assert Task.objects.for_user(user).exists()
    response = alice_client.post(f"/tasks/{task.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/tasks/", 302)]
    assert "Moved “Alice&#x27;s task” to the trash." in response.content.decode()
    assert not Task.objects.for_user(user).exists()
    assert list(Task.objects.trash_for(user)) == [task]


def test_toggle_all_and_clear_completed(alice_client, user, other_task):
    make_tasks(user, 3)
    alice_client.post("/tasks/toggle-all/")
    assert Task.objects.for_user(user).active().count() == 0
    alice_client.post("/tasks/toggle-all/")
    assert Task.objects.for_user(user).completed().count() == 0
    alice_client.post("/tasks/toggle-all/")
    response = alice_client.post("/tasks/clear-completed/", follow=True)
    # UPDATE ... RETURNING gives no order (PostgreSQL's differs from SQLite's).
    assert re.search(
        r"Moved “Task \d”, “Task \d” and 1 more to the trash\.",
        response.content.decode(),
    )
    assert Task.objects.for_user(user).count() == 0
    assert Task.objects.for_user(other_task.user).count() == 1


# --- Another user's ids: 404, nothing changed ------------------------------------


@pytest.mark.parametrize(
    ("path", "method"),
    [(path, method) for path, methods in TASK_URLS.items() for method in methods],
)
def test_another_users_task_is_404_and_changes_nothing(
    alice_client, other_task, path, method
):
    url = path.format(pk=other_task.pk)
    data = {"title": "stolen", "description": "", "completed": "on"}
    if method == "POST":
        data["version"] = other_task.updated_at.isoformat()
    response = getattr(alice_client, method.lower())(url, data)
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    fresh = Task.objects.for_user(other_task.user).get(pk=other_task.pk)
    assert (fresh.title, fresh.completed, fresh.updated_at) == (
        "Bob's task",
        False,
        other_task.updated_at,
    )


@pytest.mark.parametrize("path", TASK_URLS)
def test_missing_task_is_404(alice_client, path):
    get_status = alice_client.get(path.format(pk=999999)).status_code
    assert get_status == (404 if "GET" in TASK_URLS[path] else 405)
    assert alice_client.post(path.format(pk=999999)).status_code == 404


def test_post_to_my_task_detail_is_405(alice_client, task):
    assert alice_client.post(f"/tasks/{task.pk}/").status_code == 405


def test_huge_task_id_is_404_not_a_server_error(alice_client):
    assert alice_client.get(f"/tasks/{'9' * 40}/").status_code == 404
    assert alice_client.post(f"/tasks/{'9' * 40}/toggle/").status_code == 404


# --- Methods and CSRF ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/tasks/{pk}/toggle/", *POST_ONLY])
def test_get_to_a_post_only_url_is_405_with_a_page(alice_client, task, path):
    response = alice_client.get(path.format(pk=task.pk))
    assert response.status_code == 405
    assert response["Allow"].startswith("POST")
    assert "Not allowed" in response.content.decode()
    task.refresh_from_db()
    assert task.completed is False


@pytest.mark.parametrize(
    "path",
    [
        "/tasks/new/",
        "/tasks/{pk}/edit/",
        "/tasks/{pk}/toggle/",
        "/tasks/{pk}/delete/",
        "/tasks/toggle-all/",
        "/tasks/clear-completed/",
        "/accounts/delete/",
        "/accounts/tokens/",
        "/accounts/logout/",
    ],
)
def test_post_without_csrf_token_is_403_and_changes_nothing(user, task, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(
        path.format(pk=task.pk), {"title": "x", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "Form expired" in response.content.decode()
    task.refresh_from_db()
    assert (task.title, task.completed) == ("Alice's task", False)
    assert Task.objects.for_user(user).count() == 1


# --- Query budgets ----------------------------------------------------------------
# With 60 tasks present, so that a per-row query (an N+1) would show.


@pytest.fixture
def sixty_tasks(user):
    make_tasks(user, 40)
    return make_tasks(user, 20, completed=True)


@pytest.mark.parametrize(
    "query",
    ["", "?status=active", "?status=completed", "?page=2", "?status=all&page=2"],
)
def test_list_page_budget_is_three_queries(
    alice_client, sixty_tasks, django_assert_max_num_queries, query
):
    # The session with its user; the page's rows; the lists with the counters
    # riding along. On PostgreSQL the three travel together: one round trip
    # (tests/test_performance.py).
    with django_assert_max_num_queries(3):
        response = alice_client.get("/tasks/" + query)
    assert response.status_code == 200


def test_list_query_count_does_not_grow_with_tasks(
    alice_client, user, django_assert_num_queries
):
    make_tasks(user, 5)
    with django_assert_num_queries(3):
        alice_client.get("/tasks/")
    make_tasks(user, 60)
    with django_assert_num_queries(3):
        alice_client.get("/tasks/")


def test_empty_list_and_pages_past_the_end_cost_one_more_query(
    alice_client, user, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        response = alice_client.get("/tasks/")
    # With no tasks at all the page shows no counter, and says so instead.
    assert counters(response) == {}
    assert "No tasks yet: add one above." in response.content.decode()
    make_tasks(user, 60)
    with django_assert_max_num_queries(4):
        response = alice_client.get("/tasks/", {"page": 7})
    # The last page, as get_page does.
    assert "<span>Page 2 of 2</span>" in response.content.decode()
    assert len(rows(response)) == 10


def test_write_budgets_are_two_queries(
    alice_client, sixty_tasks, django_assert_max_num_queries
):
    task = sixty_tasks[0]
    with django_assert_max_num_queries(2):
        assert alice_client.post(f"/tasks/{task.pk}/toggle/").status_code == 302
    with django_assert_max_num_queries(2):
        assert alice_client.post("/tasks/new/", {"title": "x"}).status_code == 302
    version = version_of(alice_client.get(f"/tasks/{task.pk}/edit/"))
    with django_assert_max_num_queries(2):
        response = alice_client.post(
            f"/tasks/{task.pk}/edit/", {"title": "y", "version": version}
        )
        assert response.status_code == 302
    with django_assert_max_num_queries(2):
        assert alice_client.post(f"/tasks/{task.pk}/delete/").status_code == 302


def test_other_page_budgets(alice_client, task, django_assert_max_num_queries):
    for path in [f"/tasks/{task.pk}/", "/tasks/new/"]:
        with django_assert_max_num_queries(2):
            assert alice_client.get(path).status_code == 200
    # The session, the task, the lists it can move to.
    with django_assert_max_num_queries(3):
        assert alice_client.get(f"/tasks/{task.pk}/edit/").status_code == 200
    with django_assert_max_num_queries(2):
        assert alice_client.post("/tasks/toggle-all/").status_code == 302
    with django_assert_max_num_queries(2):
        assert alice_client.post("/tasks/clear-completed/").status_code == 302


def test_edit_page_from_the_list_keeps_next_and_returns_there(alice_client, task):
    response = alice_client.get(
        f"/tasks/{task.pk}/edit/?next=/tasks/%3Fstatus%3Dactive"
    )
    assert response.status_code == 200
    assert 'name="next" value="/tasks/?status=active"' in response.content.decode()
    response = alice_client.post(
        f"/tasks/{task.pk}/edit/",
        {
            "title": "t",
            "version": version_of(response),
            "next": "/tasks/?status=active",
        },
    )
    assert response["Location"] == "/tasks/?status=active"


def test_wrong_method_on_the_api_is_a_json_405(alice_client):
    response = alice_client.put("/api/tasks")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method not allowed"}


def test_row_urls_written_by_the_jinja2_template_are_the_named_urls(alice_client, user):
    # task_rows.html writes "{{ pk }}/toggle/" relative to /tasks/ rather
    # than reversing each URL (fifty rows a page): pinned to urls.py here.
    (task,) = make_tasks(user, 1)
    html = alice_client.get("/tasks/?status=all").content.decode()
    row = html[html.index(f'id="task-{task.pk}"') :]
    row = row[: row.index("</li>")]
    links = re.findall(r'(?:action|href|hx-post)="([^"]+)"', row)
    resolved = {urljoin("/tasks/", link).split("?")[0] for link in links}
    assert resolved == {
        reverse("tasks:toggle", args=[task.pk]),
        reverse("tasks:detail", args=[task.pk]),
        reverse("tasks:update", args=[task.pk]),
        reverse("tasks:delete", args=[task.pk]),
    }


# --- After a session ends: logging in from an action's URL -------------------------

ACTIONS = [
    "/tasks/{pk}/toggle/",
    "/tasks/toggle-all/",
    "/tasks/clear-completed/",
    "/accounts/logout/",
    "/accounts/email/",
]


@pytest.mark.parametrize("path", ACTIONS)
def test_login_with_a_post_only_next_lands_on_the_task_list(client, task, path):
    next_url = path.format(pk=task.pk)
    page = client.get("/accounts/login/", {"next": next_url})
    # The form does not carry the action along either.
    assert f'name="next" value="{next_url}"' not in page.content.decode()

    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD, "next": next_url},
    )

    assert response.status_code == 302
    assert response["Location"] == "/tasks/"
    assert client.get(response["Location"]).status_code == 200
    task.refresh_from_db()
    assert task.completed is False


@pytest.mark.parametrize(
    "next_url",
    ["/tasks/new/", "/tasks/{pk}/", "/tasks/{pk}/edit/", "/accounts/tokens/"],
)
def test_login_with_a_page_as_next_still_goes_there(client, task, next_url):
    next_url = next_url.format(pk=task.pk)
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD, "next": next_url},
    )
    assert response["Location"] == next_url


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/tasks/", "//evil.example/", "/no/such/page/"]
)
def test_login_next_keeps_djangos_open_redirect_protection(client, user, next_url):
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD, "next": next_url},
    )
    # A missing page may stay the target (its 404 says so); another site never.
    assert response["Location"] in ("/tasks/", "/no/such/page/")
    assert "evil" not in response["Location"]


@pytest.mark.parametrize("action", ["toggle", "delete"])
def test_a_row_action_sent_after_the_session_ended_comes_back_to_its_list_page(
    client, user, task, action
):
    # Logged out in another tab; this tab still shows ?status=active&page=2.
    back = "/tasks/?status=active&page=2"
    response = client.post(f"/tasks/{task.pk}/{action}/", {"next": back})

    assert response.status_code == 302
    login_url = response["Location"]
    assert login_url.startswith("/accounts/login/?next=")
    assert f"/{action}/" not in login_url
    page = client.get(login_url)
    assert f'name="next" value="{html.escape(back)}"' in page.content.decode()
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD, "next": back}
    )
    assert response["Location"] == back
    task.refresh_from_db()
    assert task.completed is False  # the lost click did nothing
    assert Task.objects.for_user(user).filter(pk=task.pk).exists()


def test_an_action_sent_after_the_session_ended_with_an_offsite_next_lands_on_the_list(
    client, user, task
):
    response = client.post(
        f"/tasks/{task.pk}/toggle/", {"next": "https://evil.example/"}
    )
    assert "evil" not in response["Location"]
    response = client.post(
        response["Location"], {"username": "alice", "password": PASSWORD}
    )
    assert response["Location"] == "/tasks/"


# --- The stale-edit conflict ----------------------------------------------------------


def conflict_page(alice_client, user, task, next_url="/tasks/?status=active&page=2"):
    version = version_of(
        alice_client.get(f"/tasks/{task.pk}/edit/", {"next": next_url})
    )
    Task.objects.for_user(user).filter(pk=task.pk).update(title="Changed elsewhere")
    response = alice_client.post(
        f"/tasks/{task.pk}/edit/",
        {"title": "Mine", "version": version, "next": next_url},
    )
    assert '<section class="conflict"' in response.content.decode()
    return response


def test_the_conflict_page_places_the_saved_version_where_it_says(
    alice_client, user, task
):
    body = conflict_page(alice_client, user, task).content.decode()
    saved = body.index("Saved version")
    message = body.index("changed somewhere else")
    assert saved < message
    assert "shown above" in body
    assert "below" not in body


def test_the_conflict_page_shows_the_saved_version_as_information_not_an_error(
    alice_client, user, task
):
    body = conflict_page(alice_client, user, task).content.decode()
    box = body[body.index('class="conflict"') - 40 : body.index("Saved version")]
    assert "form-errors" not in box
    assert 'role="alert"' not in box
    # Only the message is an error; the saved version is not another one.
    assert body.count('role="alert"') == 1


def test_the_conflict_page_shows_when_the_saved_version_changed_with_its_zone(
    alice_client, user, task
):
    body = conflict_page(alice_client, user, task).content.decode()
    changed = body[body.index("<dt>Changed</dt>") :]
    assert re.match(
        r"<dt>Changed</dt><dd><time datetime=\"[^\"]+\">[^<]+ UTC</time>", changed
    )


def test_discarding_on_the_conflict_page_changes_nothing_and_goes_back(
    alice_client, user, task
):
    next_url = "/tasks/?status=active&page=2"
    response = conflict_page(alice_client, user, task, next_url)
    assert "Discard my changes" in response.content.decode()
    task.refresh_from_db()
    saved = (task.title, task.description, task.completed, task.updated_at)

    response = alice_client.post(
        f"/tasks/{task.pk}/edit/",
        {
            "title": "Mine",
            "completed": "on",
            "version": version_of(response),
            "next": next_url,
            "discard": "1",
        },
        follow=True,
    )

    assert response.redirect_chain == [(next_url, 302)]
    task.refresh_from_db()
    assert (task.title, task.description, task.completed, task.updated_at) == saved
    assert "Discarded your changes" in response.content.decode()


def test_discarding_ignores_an_offsite_next(alice_client, task):
    response = alice_client.post(
        f"/tasks/{task.pk}/edit/", {"discard": "1", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/tasks/"


def test_discarding_on_another_users_task_is_404(alice_client, other_task):
    response = alice_client.post(f"/tasks/{other_task.pk}/edit/", {"discard": "1"})
    assert response.status_code == 404
    assert "Bob" not in response.content.decode()


# --- Cancel and Back keep the filter and page --------------------------------------

NEXT = "/tasks/?status=completed&page=3"


def hrefs(response, text: str) -> list[str]:
    return [
        html.unescape(href)
        for href in re.findall(
            rf'<a [^>]*href="([^"]*)"[^>]*>{text}</a>', response.content.decode()
        )
    ]


@pytest.mark.parametrize(
    "path, link",
    [
        ("/tasks/new/", "Cancel"),
        ("/tasks/{pk}/edit/", "Cancel"),
        ("/tasks/{pk}/delete/", "Cancel"),
        ("/tasks/{pk}/", "Back to tasks"),
    ],
)
def test_cancel_and_back_keep_the_filter_and_page(alice_client, task, path, link):
    response = alice_client.get(path.format(pk=task.pk), {"next": NEXT})
    assert hrefs(response, link) == [NEXT]


@pytest.mark.parametrize(
    "path", ["/tasks/new/", "/tasks/{pk}/edit/", "/tasks/{pk}/delete/", "/tasks/{pk}/"]
)
@pytest.mark.parametrize(
    "next_url", ["", "https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_cancel_and_back_without_a_safe_next_go_to_the_list(
    alice_client, task, path, next_url
):
    response = alice_client.get(path.format(pk=task.pk), {"next": next_url})
    links = hrefs(response, "Cancel") + hrefs(response, "Back to tasks")
    assert links == ["/tasks/"]


def test_the_detail_page_passes_the_list_page_on_to_edit_and_delete(alice_client, task):
    response = alice_client.get(f"/tasks/{task.pk}/", {"next": NEXT})
    encoded = "?next=/tasks/%3Fstatus%3Dcompleted%26page%3D3"
    assert hrefs(response, "Edit") == [f"/tasks/{task.pk}/edit/{encoded}"]
    assert hrefs(response, "Delete") == [f"/tasks/{task.pk}/delete/{encoded}"]


def test_the_delete_confirm_page_returns_to_the_list_page_after_deleting(
    alice_client, user, task
):
    response = alice_client.get(f"/tasks/{task.pk}/delete/", {"next": NEXT})
    assert f'name="next" value="{html.escape(NEXT)}"' in response.content.decode()


def test_the_detail_page_shows_times_with_the_zone_abbreviation(
    alice_client, user, task
):
    # The user's zone (accounts.Profile), not the server's, is the one shown.
    Profile.objects.filter(user=user).update(time_zone="Europe/Paris")
    body = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    shown = re.findall(r"<time datetime=\"[^\"]+\">([^<]+)</time>", body)
    assert len(shown) == 2  # created, updated
    assert all(text.endswith((" CET", " CEST")) for text in shown), shown


# --- In place: the same views answer the list's htmx requests with fragments ------
# (contract, "The task list with JavaScript on"; the browser side is
# tests/browser/test_in_place.py)

IN_PLACE = {"HX-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}


def test_an_in_place_toggle_answers_the_row_counter_footer_and_message(
    alice_client, sixty_tasks, django_assert_max_num_queries
):
    task = sixty_tasks[0]
    # The session with its user, the UPDATE ... RETURNING, the counters.
    with django_assert_max_num_queries(3):
        response = alice_client.post(
            f"/tasks/{task.pk}/toggle/", {"next": "/tasks/?page=2"}, headers=IN_PLACE
        )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<li class="task" id="task-{task.pk}"')
    assert '<div id="list-head" hx-swap-oob="true">' in body
    assert "<strong>41</strong> items left" in body
    assert "Clear completed (19)" in body
    assert "Page 2 of 2" in body
    assert '<div id="messages" hx-swap-oob="innerHTML">' in body
    assert "Reopened “Task 0”." in body
    assert "<html" not in body


def test_a_row_that_leaves_the_filter_is_removed(alice_client, task):
    response = alice_client.post(
        f"/tasks/{task.pk}/toggle/", {"next": "/tasks/?status=active"}, headers=IN_PLACE
    )
    body = response.content.decode()
    assert f'id="task-{task.pk}"' not in body  # nothing in the row's place
    assert "Completed “Alice&#x27;s task”." in body
    assert "Nothing left to do." in body  # the list says it is empty


@pytest.mark.parametrize("action", ["toggle", "delete"])
def test_in_place_write_budgets_are_three_queries(
    alice_client, sixty_tasks, django_assert_max_num_queries, action
):
    with django_assert_max_num_queries(3):
        response = alice_client.post(
            f"/tasks/{sixty_tasks[0].pk}/{action}/", headers=IN_PLACE
        )
    assert response.status_code == 200


def test_in_place_create_edit_and_restore_budgets(
    alice_client, user, sixty_tasks, django_assert_max_num_queries
):
    # The session, the INSERT, the counters.
    with django_assert_max_num_queries(3):
        response = alice_client.post("/tasks/new/", {"title": "x"}, headers=IN_PLACE)
    assert 'hx-swap-oob="afterbegin:#task-list"' in response.content.decode()
    task = sixty_tasks[0]
    task.refresh_from_db()
    # The session, the UPDATE ... RETURNING: a title moves no counter.
    with django_assert_max_num_queries(2):
        response = alice_client.post(
            f"/tasks/{task.pk}/edit/",
            {"title": "y", "version": task.updated_at.isoformat()},
            headers=IN_PLACE,
        )
    assert "Saved “y”." in response.content.decode()
    alice_client.post(f"/tasks/{task.pk}/delete/")
    # The session, the UPDATE ... RETURNING, the list's page, the lists with
    # the counters.
    with django_assert_max_num_queries(4):
        response = alice_client.post(
            "/tasks/restore/", {"ids": [task.pk], "next": "/tasks/"}, headers=IN_PLACE
        )
    body = response.content.decode()
    assert body.lstrip().startswith('<ul class="tasks" id="task-list">')
    assert "Restored “y”." in body


def test_bulk_actions_in_place_rerender_the_list(
    alice_client, sixty_tasks, django_assert_max_num_queries
):
    # The session, the UPDATE, the page's rows, the lists with the counters.
    for path in ["/tasks/clear-completed/", "/tasks/toggle-all/"]:
        with django_assert_max_num_queries(4):
            response = alice_client.post(path, headers=IN_PLACE)
        assert response.content.decode().lstrip().startswith('<ul class="tasks"')


@pytest.mark.parametrize(
    "path", ["/tasks/{pk}/toggle/", "/tasks/{pk}/delete/", "/tasks/{pk}/edit/"]
)
def test_a_boosted_request_still_gets_the_redirect(alice_client, task, path):
    data = {"title": "t", "version": task.updated_at.isoformat()}
    response = alice_client.post(path.format(pk=task.pk), data, headers=BOOSTED)
    assert response.status_code == 302
    assert response["Location"] == "/tasks/"


@pytest.mark.parametrize(
    "path", ["/tasks/{pk}/toggle/", "/tasks/{pk}/delete/", "/tasks/{pk}/edit/"]
)
def test_in_place_another_users_task_is_404_with_fragments_and_changes_nothing(
    alice_client, other_task, path
):
    data = {"title": "stolen", "version": other_task.updated_at.isoformat()}
    response = alice_client.post(path.format(pk=other_task.pk), data, headers=IN_PLACE)
    assert response.status_code == 404
    body = response.content.decode()
    # The row goes (nothing in its place), a message says why: no error page.
    assert "deleted elsewhere" in body
    assert "Page not found" not in body
    assert "Bob" not in body
    fresh = Task.objects.for_user(other_task.user).get(pk=other_task.pk)
    assert (fresh.title, fresh.completed, fresh.updated_at) == (
        "Bob's task",
        False,
        other_task.updated_at,
    )
    assert fresh.deleted_at is None


def test_inline_edit_changes_the_title_only(alice_client, user):
    task = Task.objects.for_user(user).create(
        title="Old", description="notes", completed=True
    )
    response = alice_client.post(
        f"/tasks/{task.pk}/edit/",
        {"title": " New ", "version": task.updated_at.isoformat()},
        headers=IN_PLACE,
    )
    assert response.status_code == 200
    assert 'class="has-description"' in response.content.decode()
    task.refresh_from_db()
    assert (task.title, task.description, task.completed) == ("New", "notes", True)


def test_a_stale_inline_edit_overwrites_nothing_and_reopens_the_editor(
    alice_client, user, task
):
    version = task.updated_at.isoformat()
    Task.objects.for_user(user).filter(pk=task.pk).update(title="Theirs")
    for title in ["Mine", ""]:  # a save, and an emptied title (the trash)
        response = alice_client.post(
            f"/tasks/{task.pk}/edit/",
            {"title": title, "version": version},
            headers=IN_PLACE,
        )
        assert response.status_code == 200
        body = response.content.decode()
        assert "Changed somewhere else" in body
        assert "saved as “Theirs”" in body
        assert f'name="title" id="edit-{task.pk}" value="{title}"' in body
        task.refresh_from_db()
        assert (task.title, task.deleted_at) == ("Theirs", None)
    # The row carries the saved version: saving again is on purpose.
    fresh = re.search(r'name="version" value="([^"]+)"', body)[1]
    response = alice_client.post(
        f"/tasks/{task.pk}/edit/", {"title": "Mine", "version": fresh}, headers=IN_PLACE
    )
    task.refresh_from_db()
    assert task.title == "Mine"


def test_an_emptied_inline_title_moves_the_task_to_the_trash_with_undo(
    alice_client, user, task
):
    response = alice_client.post(
        f"/tasks/{task.pk}/edit/",
        {"title": "  ", "version": task.updated_at.isoformat(), "next": "/tasks/"},
        headers=IN_PLACE,
    )
    body = response.content.decode()
    assert "to the trash." in body
    assert 'hx-post="/tasks/restore/"' in body
    assert '<input type="hidden" name="next" value="/tasks/">' in body
    assert list(Task.objects.trash_for(user)) == [task]


def test_the_add_form_in_place_keeps_the_text_and_shows_the_error(alice_client, user):
    response = alice_client.post(
        "/tasks/new/",
        {"title": "   ", "description": "kept", "next": "/tasks/"},
        headers=IN_PLACE,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<form method="post" action="/tasks/new/"')
    assert 'id="new-title" value="   "' in body
    assert "Give the task a title. Nothing was saved." in body
    assert '<details class="add-details" open>' in body
    assert ">kept</textarea>" in body
    assert not Task.objects.for_user(user).exists()


@pytest.mark.in_process("reads the template context: which columns the rows loaded")
def test_rows_flag_a_description_without_loading_it(alice_client, user):
    Task.objects.for_user(user).create(title="Plain")
    Task.objects.for_user(user).create(title="Noted", description="x" * 2000)
    response = alice_client.get("/tasks/")
    plain, noted = reversed(response.context["page"].object_list)
    assert (plain.has_description, noted.has_description) == (False, True)
    assert "description" in noted.get_deferred_fields()
    assert response.content.decode().count("(has a description)") == 1


def test_the_message_region_is_on_every_page_even_empty(alice_client, client):
    for response in [alice_client.get("/tasks/"), client.get("/accounts/login/")]:
        assert '<div id="messages" class="toasts" role="status">' in (
            response.content.decode()
        )
    assert 'role="status"' in alice_client.get("/tasks/999999/").content.decode()


def test_an_in_place_request_after_the_session_ended_navigates_to_login(client, task):
    response = client.post(
        f"/tasks/{task.pk}/toggle/",
        {"next": "/tasks/?status=active"},
        headers={"HX-Request": "true"},
    )
    # Not the login page swapped into the row: htmx loads it as a page.
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/accounts/login/?next=/tasks/%3Fstatus%3Dactive"
    assert Task.objects.for_user(task.user).get(pk=task.pk).completed is False
