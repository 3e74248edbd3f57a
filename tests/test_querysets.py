"""The scoped manager: the one door to tasks, and the verbs behind it."""

import pytest
from django.db import connection
from django.db.models import Count
from django.db.models.signals import post_delete, pre_delete

from tasks.list_page import read_task_page
from tasks.managers import UnscopedQueryError
from tasks.models import Task, TaskList
from tasks.views import Where, page_number
from tests.factories import in_threads, make_tasks

pytestmark = pytest.mark.django_db

# Every per-user model, with a text field to write: the refusals below run
# for each, as they come from the base they share (OwnedQuerySet).
OWNED_MODELS = {"Task": (Task, "title"), "TaskList": (TaskList, "name")}

UNSCOPED_EVALUATIONS = {
    "iteration": lambda qs, text: list(qs),
    "len": lambda qs, text: len(qs),
    "bool": lambda qs, text: bool(qs),
    "index": lambda qs, text: qs[0],
    "get": lambda qs, text: qs.get(pk=1),
    "count": lambda qs, text: qs.count(),
    "exists": lambda qs, text: qs.exists(),
    "first": lambda qs, text: qs.first(),
    "last": lambda qs, text: qs.last(),
    "latest": lambda qs, text: qs.latest("created_at"),
    "update": lambda qs, text: qs.update(**{text: "x"}),
    "delete": lambda qs, text: qs.delete(),
    "aggregate": lambda qs, text: qs.aggregate(n=Count("pk")),
    "values": lambda qs, text: list(qs.values(text)),
    "values_list": lambda qs, text: list(qs.values_list(text, flat=True)),
    "in_bulk": lambda qs, text: qs.in_bulk(),
    "in_bulk_ids": lambda qs, text: qs.in_bulk([1, 2]),
    "iterator": lambda qs, text: list(qs.iterator()),
    "filter_then_iterate": lambda qs, text: list(qs.filter(pk__gt=0)),
    "manual_owner_filter": lambda qs, text: list(qs.filter(user_id=1)),
    "get_or_create": lambda qs, text: qs.get_or_create(**{text: "x"}),
    "create": lambda qs, text: qs.create(**{text: "x"}),
    "bulk_create": lambda qs, text: qs.bulk_create([qs.model(**{text: "x"})]),
    "contains": lambda qs, text: qs.contains(qs.model(pk=1)),
    "explain": lambda qs, text: qs.explain(),
    "dates": lambda qs, text: list(qs.dates("created_at", "day")),
}
TASK_EVALUATIONS = {
    "counts": lambda qs: qs.counts(),
    "toggle": lambda qs: qs.toggle(1),
    "search": lambda qs: list(qs.search("milk")),
}


@pytest.mark.parametrize("model", OWNED_MODELS.values(), ids=OWNED_MODELS)
@pytest.mark.parametrize(
    "evaluate", UNSCOPED_EVALUATIONS.values(), ids=UNSCOPED_EVALUATIONS
)
def test_an_unscoped_query_on_any_owned_model_raises_instead_of_returning_rows(
    model, evaluate, task, other_task
):
    model_class, text = model
    with pytest.raises(UnscopedQueryError, match=model_class.__name__):
        evaluate(model_class.objects.all(), text)


@pytest.mark.parametrize("evaluate", TASK_EVALUATIONS.values(), ids=TASK_EVALUATIONS)
def test_unscoped_task_verbs_raise_instead_of_returning_rows(
    evaluate, task, other_task
):
    with pytest.raises(UnscopedQueryError):
        evaluate(Task.objects.all())


@pytest.mark.parametrize("model", [Task, TaskList])
def test_the_unscoped_manager_by_name_sees_every_user(model, task, other_task):
    assert {row.user_id for row in model.unscoped.all()} == {
        task.user_id,
        other_task.user_id,
    }


def test_related_managers_of_lists_fail_closed(user, task):
    with pytest.raises(UnscopedQueryError):
        list(user.task_lists.all())
    with pytest.raises(UnscopedQueryError):
        list(task.list.tasks.all())


def test_unscoped_manager_method_raises(task):
    with pytest.raises(UnscopedQueryError):
        Task.objects.count()
    with pytest.raises(UnscopedQueryError):
        Task.objects.get(pk=task.pk)


def test_related_manager_fails_closed(user, task):
    with pytest.raises(UnscopedQueryError):
        list(user.tasks.all())


def test_for_user_refuses_anonymous_users():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(UnscopedQueryError):
        Task.objects.for_user(AnonymousUser())
    with pytest.raises(UnscopedQueryError):
        Task.objects.for_user(None)


def test_for_user_returns_only_that_users_rows(user, other_user):
    make_tasks(user, 3)
    make_tasks(other_user, 2)
    assert Task.objects.for_user(user).count() == 3
    assert {t.user_id for t in Task.objects.for_user(user)} == {user.pk}
    assert set(Task.objects.for_user(other_user).values_list("user", flat=True)) == {
        other_user.pk
    }


def test_for_user_never_reaches_another_users_row(user, other_task):
    tasks = Task.objects.for_user(user)
    assert not tasks.filter(pk=other_task.pk).exists()
    with pytest.raises(Task.DoesNotExist):
        tasks.get(pk=other_task.pk)
    assert tasks.toggle(other_task.pk) == 0
    assert tasks.filter(pk=other_task.pk).update(title="stolen") == 0
    assert tasks.filter(pk=other_task.pk).delete()[0] == 0
    assert tasks.bulk_complete([other_task.pk]) == 0
    assert tasks.complete_all() == 0
    assert tasks.clear_completed() == []
    assert tasks.trash_one(other_task.pk) == []
    other_task.refresh_from_db()
    assert other_task.title == "Bob's task"
    assert other_task.completed is False


def test_create_through_the_scope_sets_the_owner(user, other_user):
    task = Task.objects.for_user(user).create(title="Mine", user=other_user)
    assert task.user == user


def test_unscoped_manager_sees_every_user(task, other_task):
    assert set(Task.unscoped.values_list("pk", flat=True)) == {task.pk, other_task.pk}


def test_toggle_is_one_statement_and_flips_completed(
    user, task, django_assert_num_queries
):
    before = task.updated_at
    with django_assert_num_queries(1):
        assert Task.objects.for_user(user).toggle(task.pk) == 1
    task.refresh_from_db()
    assert task.completed is True
    assert task.updated_at > before
    Task.objects.for_user(user).toggle(task.pk)
    task.refresh_from_db()
    assert task.completed is False


def test_active_and_completed_filters(user):
    make_tasks(user, 2)
    make_tasks(user, 3, completed=True)
    tasks = Task.objects.for_user(user)
    assert tasks.active().count() == 2
    assert tasks.completed().count() == 3
    assert tasks.counts() == {"all": 5, "active": 2, "completed": 3}


@pytest.mark.parametrize("status", ["all", "active", "completed"])
def test_a_page_comes_in_one_query_and_its_counters_with_the_lists_in_another(
    user, other_user, status, django_assert_num_queries
):
    make_tasks(user, 70)
    make_tasks(user, 60, completed=True)
    make_tasks(other_user, 5)
    expected = {"all": 130, "active": 70, "completed": 60}
    tasks = Task.objects.for_user(user)
    with django_assert_num_queries(2):
        view = read_task_page(user, Where(status=status, number=2), 50)
    assert view.counts == expected
    assert [(x.name, x.active_count) for x in view.lists] == [("Inbox", 70)]
    assert view.page.number == 2
    assert view.page.paginator.count == expected[status]
    assert list(view.page.object_list) == list(tasks.with_status(status)[50:100])


@pytest.mark.parametrize("number", [None, "", "x", "-3", "0", "9" * 30])
def test_a_page_takes_any_page_number_the_view_parses(user, number):
    make_tasks(user, 3)
    view = read_task_page(user, Where(number=page_number(number)), 50)
    assert view.counts["all"] == 3
    assert len(view.page.object_list) == 3


def test_counts_is_one_query(user, django_assert_num_queries):
    make_tasks(user, 5)
    with django_assert_num_queries(1):
        Task.objects.for_user(user).counts()


def test_toggle_all_completes_all_then_reactivates_all(user, other_task):
    make_tasks(user, 2)
    make_tasks(user, 1, completed=True)
    tasks = Task.objects.for_user(user)
    tasks.toggle_all()
    assert tasks.active().count() == 0
    tasks.toggle_all()
    assert tasks.completed().count() == 0
    other_task.refresh_from_db()
    assert other_task.completed is False


def test_complete_all_and_clear_completed(user):
    make_tasks(user, 3)
    tasks = Task.objects.for_user(user)
    assert tasks.complete_all() == 3
    assert len(tasks.clear_completed()) == 3
    assert tasks.count() == 0
    assert Task.objects.trash_for(user).count() == 3


def test_bulk_complete_counts_only_the_callers_rows(user, other_task):
    mine = make_tasks(user, 3)
    ids = [mine[0].pk, mine[1].pk, other_task.pk, 987654]
    assert Task.objects.for_user(user).bulk_complete(ids) == 2
    other_task.refresh_from_db()
    assert other_task.completed is False


def test_transfer_moves_every_task_of_one_user(user, other_user):
    make_tasks(user, 4)
    moved = Task.unscoped.filter(user=user).transfer_to(other_user)
    assert moved == 4
    assert Task.objects.for_user(user).count() == 0
    assert Task.objects.for_user(other_user).count() == 4


def test_update_if_unchanged_refuses_a_stale_version(user, task):
    tasks = Task.objects.for_user(user)
    stale = task.updated_at
    assert tasks.update_fields_if_unchanged(task.pk, stale, title="First") == 1
    assert tasks.update_fields_if_unchanged(task.pk, stale, title="Second") == 0
    task.refresh_from_db()
    assert task.title == "First"


def test_trash_one_is_one_statement_and_only_for_the_owner(
    user, task, other_task, django_assert_num_queries
):
    tasks = Task.objects.for_user(user)
    with django_assert_num_queries(1):
        assert tasks.trash_one(other_task.pk) == []
    with django_assert_num_queries(1):
        (trashed,) = tasks.trash_one(task.pk)
    assert (trashed.pk, trashed.title) == (task.pk, task.title)
    assert not tasks.exists()
    assert list(Task.objects.trash_for(user)) == [task]
    assert Task.objects.for_user(other_task.user).count() == 1


def test_listing_order_is_newest_first_then_highest_id(user):
    tasks = make_tasks(user, 3)
    same_time = tasks[0].created_at
    Task.unscoped.filter(pk__in=[t.pk for t in tasks]).update(created_at=same_time)
    listed = list(Task.objects.for_user(user).values_list("pk", flat=True))
    assert listed == sorted((t.pk for t in tasks), reverse=True)


def test_large_iterator_loop_works_without_server_side_cursors(user):
    # Under PgBouncer's transaction pooling a named (server-side) cursor would
    # be lost between fetches; the settings disable them for .iterator().
    make_tasks(user, 2500)
    titles = [t.title for t in Task.objects.for_user(user).iterator(chunk_size=100)]
    assert len(titles) == 2500


def test_many_repeated_identical_queries_work(user, task):
    # Prepared statements would collide across pooled server connections.
    for _ in range(200):
        assert Task.objects.for_user(user).filter(pk=task.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_toggles_compose_like_sequential_ones(user, task):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent writers")
    in_threads(2, lambda _: Task.objects.for_user(user).toggle(task.pk))
    task.refresh_from_db()
    assert task.completed is False


def test_delete_rows_may_skip_the_collector_tasks_have_no_dependents_or_signals():
    # delete_rows() issues a bare DELETE: it is right only while nothing
    # points at a task and nothing listens for a task's deletion.
    assert Task._meta.related_objects == ()
    assert not pre_delete.has_listeners(Task)
    assert not post_delete.has_listeners(Task)


def test_the_users_related_manager_is_not_a_door_either(user, task):
    with pytest.raises(UnscopedQueryError):
        list(user.tasks.all())
