import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from tasks.models import Task
from tests.factories import PASSWORD


@pytest.fixture(scope="session", autouse=True)
def close_connection_pools(django_db_setup, django_db_blocker):
    """Close PostgreSQL pools before the test database is dropped.

    Connections that live-server threads returned to the pool would otherwise
    keep the database busy, and dropping it would fail.
    """
    yield
    with django_db_blocker.unblock():
        for connection in connections.all():
            connection.close()
            if hasattr(connection, "close_pool"):
                connection.close_pool()


@pytest.fixture(scope="session", autouse=True)
def detected_database_features(django_db_setup, django_db_blocker):
    """Let Django detect the database's features before any test counts
    queries: on SQLite the first JSON value costs a probe of its own (once a
    process), which would land in whichever query budget came first."""
    with django_db_blocker.unblock():
        for connection in connections.all():
            connection.features.supports_json_field  # noqa: B018


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
