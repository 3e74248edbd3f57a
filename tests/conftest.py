import pytest
from django.contrib.auth import get_user_model

from tasks.models import Task

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user("bob", password=PASSWORD)


@pytest.fixture
def alice_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def task(user):
    return Task.objects.for_user(user).create(title="Alice's task")


@pytest.fixture
def other_task(other_user):
    return Task.objects.for_user(other_user).create(
        title="Bob's task", description="private"
    )


def make_tasks(user, count: int, **fields) -> list[Task]:
    return Task.objects.for_user(user).bulk_create(
        Task(title=f"Task {n}", **fields) for n in range(count)
    )
