"""tasks.list_page: the page read ahead of the session, used only by its owner."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import UserSession
from tasks.list_page import _fetch_together as fetch_together
from tasks.list_page import _SessionOwner
from tasks.managers import UnscopedQueryError
from tasks.models import Task
from tests.factories import make_tasks
from tests.pages import counters, menu, rows

pytestmark = pytest.mark.django_db


def test_results_are_what_each_queryset_gives_on_its_own(
    user, other_user, client, django_assert_num_queries
):
    client.force_login(user)
    make_tasks(user, 3, completed=True)
    make_tasks(other_user, 2)
    querysets = [
        UserSession.objects.all(),  # select_related("user")
        Task.objects.for_user(user).order_by("pk").only("title"),
        Task.objects.for_user(other_user).values_list("title", flat=True),
        get_user_model().objects.filter(pk__in=[]),  # no query at all
        get_user_model().objects.order_by("-pk"),
    ]
    expected = [list(queryset.all()) for queryset in querysets]

    with django_assert_num_queries(4):
        results = fetch_together(*querysets)

    assert results == expected
    (session,) = results[0]
    assert session.user == user  # loaded with the row, no query
    # The querysets themselves are evaluated: reading them again is free.
    with django_assert_num_queries(0):
        assert [list(queryset) for queryset in querysets] == expected


def test_one_queryset_is_simply_evaluated(user, django_assert_num_queries):
    make_tasks(user, 2)
    with django_assert_num_queries(1):
        (tasks,) = fetch_together(Task.objects.for_user(user))
    assert len(tasks) == 2


def test_an_unscoped_task_queryset_still_raises_instead_of_returning_rows(
    user, other_task
):
    with pytest.raises(UnscopedQueryError):
        fetch_together(get_user_model().objects.all(), Task.objects.all())


def test_a_session_owner_is_no_user_to_write_with(user, alice_client):
    session = alice_client.session
    with pytest.raises(ValueError):
        Task.objects.for_user(_SessionOwner(session)).create(title="Nobody's")
    assert not Task.unscoped.exists()


def _deactivate(user):
    user.is_active = False
    user.save()


def _change_password(user):
    user.set_password("a-new-password-entirely")
    user.save()


@pytest.mark.parametrize("refuse", [_deactivate, _change_password])
def test_rows_read_ahead_reach_no_one_whose_session_django_refuses(
    user, alice_client, refuse
):
    Task.objects.for_user(user).create(title="Read ahead, never shown")
    refuse(user)

    response = alice_client.get("/tasks/?status=all")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/tasks/%3Fstatus%3Dall"
    assert b"Read ahead" not in response.content


def test_the_list_page_reads_its_own_users_rows_and_counters(
    user, other_user, alice_client, django_assert_max_num_queries
):
    mine = make_tasks(user, 3, completed=True)
    make_tasks(other_user, 2)
    # The session with its user, the page, the lists with the counters.
    with django_assert_max_num_queries(3):
        response = alice_client.get("/tasks/")
    assert set(rows(response)) == {task.pk for task in mine}
    assert counters(response) == {"active": 0, "completed": 3}
    # Bob's Inbox, with his 2 active tasks, would be a second Inbox.
    assert menu(response) == [
        ("All tasks", 0),
        ("Today", 0),
        ("Upcoming", 0),
        ("Inbox", 0),
    ]


def test_a_query_budget_smaller_than_the_page_fails(
    alice_client, django_assert_max_num_queries
):
    # The budgets above can fail: in-process, and through the load balancer,
    # where the instances count the page's queries (tests/support/balancer.py).
    with (
        pytest.raises(pytest.fail.Exception, match="perform 2 queries or less but 3"),
        django_assert_max_num_queries(2),
    ):
        alice_client.get("/tasks/")
