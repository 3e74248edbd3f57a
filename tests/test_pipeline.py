"""fetch_together(): querysets evaluated together, answered as the ORM would."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import UserSession
from tasks.managers import UnscopedQueryError
from tasks.models import Task
from tests.conftest import make_tasks
from todoproject.neon.pipeline import fetch_together

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
