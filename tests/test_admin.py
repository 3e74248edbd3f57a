"""The Django admin: staff see every user's tasks and run the bulk actions."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tasks.models import Task
from tests.factories import make_tasks

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tasks/task/"


@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_superuser("root", password="x" * 12)
    client.force_login(staff)
    return client


def test_staff_lists_every_users_tasks_with_owner(staff_client, task, other_task):
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Alice&#x27;s task" in body and "Bob&#x27;s task" in body
    assert "alice" in body and "bob" in body


def test_staff_filters_by_completed_and_owner(staff_client, user, other_user):
    make_tasks(user, 2, completed=True)
    make_tasks(other_user, 3)
    response = staff_client.get(CHANGELIST, {"completed__exact": "1"})
    assert response.context["cl"].result_count == 2
    response = staff_client.get(CHANGELIST, {"user__id__exact": other_user.pk})
    assert response.context["cl"].result_count == 3


def test_staff_searches_by_title(staff_client, task, other_task):
    response = staff_client.get(CHANGELIST, {"q": "Bob"})
    assert list(response.context["cl"].result_list) == [other_task]


def test_staff_edits_a_task_and_updated_at_moves(staff_client, task):
    before = task.updated_at
    response = staff_client.post(
        f"{CHANGELIST}{task.pk}/change/",
        {
            "user": task.user_id,
            "list": task.list_id,
            "recur_from": "due",
            "title": "Edited",
            "description": "",
            "completed": "on",
        },
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.completed) == ("Edited", True)
    assert task.updated_at > before


def _staff_with(client, *codenames):
    staff = get_user_model().objects.create_user(
        "staff", password="x" * 12, is_staff=True
    )
    staff.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="tasks", codename__in=codenames
        )
    )
    client.force_login(staff)
    return staff


@pytest.fixture
def viewer_client(client):
    """Staff allowed to look at tasks (tasks.view_task) and nothing more."""
    _staff_with(client, "view_task")
    return client


@pytest.fixture
def editor_client(client):
    """Staff with tasks.change_task (and view), but not a superuser."""
    _staff_with(client, "view_task", "change_task")
    return client


def _action(client, action, tasks, **extra):
    data = {"action": action, "_selected_action": [t.pk for t in tasks], **extra}
    return client.post(CHANGELIST, data)


def test_mark_complete_and_incomplete_actions(staff_client, user, other_user):
    tasks = make_tasks(user, 2) + make_tasks(other_user, 1)
    _action(staff_client, "mark_complete", tasks)
    assert Task.unscoped.filter(completed=True).count() == 3
    _action(staff_client, "mark_incomplete", tasks[:1])
    assert Task.unscoped.filter(completed=False).count() == 1


def test_transfer_action_asks_for_the_new_owner_then_moves(
    staff_client, user, other_user
):
    tasks = make_tasks(user, 2)
    response = _action(staff_client, "transfer", tasks)
    assert response.status_code == 200
    assert b"New owner" in response.content
    response = _action(
        staff_client, "transfer", tasks, apply="1", new_owner=other_user.pk
    )
    assert response.status_code == 302
    assert Task.objects.for_user(other_user).count() == 2
    assert Task.objects.for_user(user).count() == 0


def test_plain_user_cannot_reach_the_admin(alice_client, task):
    response = alice_client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- Bulk actions need the change permission --------------------------------------


def test_view_only_staff_sees_tasks_but_is_offered_no_bulk_action(
    viewer_client, task, other_task
):
    response = viewer_client.get(CHANGELIST)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    body = response.content.decode()
    for action in ("mark_complete", "mark_incomplete", "transfer"):
        assert f'value="{action}"' not in body


def test_view_only_staff_cannot_transfer_or_see_the_usernames(
    viewer_client, user, other_user
):
    tasks = make_tasks(user, 2)
    staff_only = get_user_model().objects.create_user("carol-the-admin")

    asked = _action(viewer_client, "transfer", tasks)
    applied = _action(
        viewer_client, "transfer", tasks, apply="1", new_owner=other_user.pk
    )

    for response in (asked, applied):
        assert b"New owner" not in response.content
        assert staff_only.username.encode() not in response.content
    assert Task.objects.for_user(user).count() == 2
    assert Task.objects.for_user(other_user).count() == 0


def test_view_only_staff_cannot_mark_tasks_complete_or_incomplete(
    viewer_client, user, other_user
):
    active = make_tasks(other_user, 2)
    done = make_tasks(other_user, 1, completed=True)
    before = {t.pk: t.updated_at for t in Task.unscoped.all()}

    _action(viewer_client, "mark_complete", active)
    _action(viewer_client, "mark_incomplete", done)

    assert Task.unscoped.filter(completed=True).count() == 1
    assert {t.pk: t.updated_at for t in Task.unscoped.all()} == before


def test_staff_with_the_change_permission_runs_every_action(
    editor_client, user, other_user
):
    tasks = make_tasks(user, 2)
    body = editor_client.get(CHANGELIST).content.decode()
    for action in ("mark_complete", "mark_incomplete", "transfer"):
        assert f'value="{action}"' in body

    _action(editor_client, "mark_complete", tasks)
    assert Task.objects.for_user(user).completed().count() == 2
    _action(editor_client, "mark_incomplete", tasks[:1])
    assert Task.objects.for_user(user).completed().count() == 1
    asked = _action(editor_client, "transfer", tasks)
    assert b"New owner" in asked.content
    _action(editor_client, "transfer", tasks, apply="1", new_owner=other_user.pk)
    assert Task.objects.for_user(other_user).count() == 2
