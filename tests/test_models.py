"""The Task model: its validation rules and the database constraints behind them."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from tasks.forms import TaskForm
from tasks.models import Task

pytestmark = pytest.mark.django_db

BAD_TITLES = {
    "empty": "",
    "whitespace": " \t\n ",
    "too_long": "x" * 201,
    "nul": "a\x00b",
}


def test_new_task_defaults(user):
    task = Task.objects.for_user(user).create(title="Write tests")
    assert task.completed is False
    assert task.description == ""
    assert task.created_at == task.updated_at
    assert str(task) == "Write tests"
    assert task.get_absolute_url() == f"/tasks/{task.pk}/"


def test_save_moves_updated_at_but_not_created_at(task):
    created, updated = task.created_at, task.updated_at
    task.title = "Renamed"
    task.save()
    task.refresh_from_db()
    assert task.created_at == created
    assert task.updated_at > updated


def test_save_with_update_fields_still_moves_updated_at(task):
    before = task.updated_at
    task.completed = True
    task.save(update_fields=["completed"])
    task.refresh_from_db()
    assert task.updated_at > before


@pytest.mark.parametrize("title", BAD_TITLES.values(), ids=BAD_TITLES)
def test_model_validation_refuses_bad_titles(user, title):
    with pytest.raises(ValidationError) as excinfo:
        Task(user=user, title=title).full_clean(exclude=["list"])
    assert "title" in excinfo.value.message_dict


@pytest.mark.parametrize("title", BAD_TITLES.values(), ids=BAD_TITLES)
def test_form_refuses_bad_titles(title):
    form = TaskForm({"title": title})
    assert not form.is_valid()
    assert "title" in form.errors


def test_form_trims_the_title():
    form = TaskForm({"title": "  Buy milk  "})
    assert form.is_valid()
    assert form.cleaned_data["title"] == "Buy milk"


def test_title_of_200_characters_is_accepted(user):
    Task(user=user, title="x" * 200).full_clean(exclude=["list"])
    assert TaskForm({"title": "x" * 200}).is_valid()


def test_model_validation_refuses_long_or_nul_descriptions(user):
    for description in ["x" * 2001, "a\x00b"]:
        with pytest.raises(ValidationError) as excinfo:
            Task(user=user, title="ok", description=description).full_clean(
                exclude=["list"]
            )
        assert "description" in excinfo.value.message_dict
        assert not TaskForm({"title": "ok", "description": description}).is_valid()
    Task(user=user, title="ok", description="x" * 2000).full_clean(exclude=["list"])


@pytest.mark.parametrize(
    "fields",
    [
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"title": "ok", "description": "x" * 2001},
    ],
    ids=["empty", "whitespace", "long_title", "long_description"],
)
def test_database_refuses_rows_that_skip_validation(user, fields):
    # bulk_create runs no model validation: only the database stands guard.
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        Task.objects.for_user(user).bulk_create([Task(**fields)])
    assert Task.objects.for_user(user).count() == 0


def test_postgresql_refuses_nul_characters_itself(user):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite can store NUL; model and form validation refuse it")
    with pytest.raises((DatabaseError, ValueError)), transaction.atomic():
        Task.objects.for_user(user).bulk_create([Task(title="a\x00b")])
