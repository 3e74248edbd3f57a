"""Helpers that build test data; fixtures built on them live in conftest.py."""

from tasks.models import Task

PASSWORD = "correct-horse-battery-staple"


def make_tasks(user, count: int, **fields) -> list[Task]:
    return Task.objects.for_user(user).bulk_create(
        Task(title=f"Task {n}", **fields) for n in range(count)
    )
