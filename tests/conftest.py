import os

import django.test.client
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections

from tasks.models import Task
from tests.factories import PASSWORD
from tests.support import balancer

# Through the load balancer (tests/support/balancer.py): every test client's
# requests go to TEST_BALANCER_URL, on a database the instances share.
BALANCER_URL = os.environ.get("TEST_BALANCER_URL")

if BALANCER_URL:
    replica_url = os.environ.get("TEST_BALANCER_REPLICA_URL")
    balancer.BalancerHandler.configure(
        BALANCER_URL,
        os.environ.get("TEST_BALANCER_CA") or True,
        replica_url and balancer.Replica(os.environ["DATABASE_URL_TEST"], replica_url),
    )
    django.test.client.ClientHandler = balancer.BalancerHandler

    def pytest_collection_modifyitems(config, items):
        kept, left = [], []
        for item in items:
            if reason := balancer.in_process_only(item):
                balancer.left_out[reason] += 1
                left.append(item)
            else:
                kept.append(item)
        if left:
            config.hook.pytest_deselected(items=left)
            items[:] = kept
        for item in kept:
            # Committed, so the instances see it; flushed after each test.
            item.add_marker(pytest.mark.django_db(transaction=True), append=False)

    def pytest_terminal_summary(terminalreporter):
        for line in balancer.summary():
            terminalreporter.write_line(line)

    @pytest.fixture(scope="session")
    def instance_logs():
        default = f"{balancer.SCALE_OUT_DIR}/app*.log"
        return balancer.InstanceLogs(os.environ.get("TEST_BALANCER_LOGS", default))

    @pytest.fixture
    def mailoutbox():
        default = f"{balancer.SCALE_OUT_DIR}/mail"
        return balancer.Mailbox(os.environ.get("TEST_BALANCER_MAIL", default))

    @pytest.fixture
    def django_assert_num_queries(instance_logs):
        return balancer.query_budget(instance_logs, exact=True)

    @pytest.fixture
    def django_assert_max_num_queries(instance_logs):
        return balancer.query_budget(instance_logs, exact=False)

    @pytest.fixture(scope="session")
    def django_db_setup(django_db_blocker):
        """The instances' own database, migrated by .ci/scale-out.sh; emptied
        first, as each test leaves it for the next (the load run and the
        scale-out tests leave their users behind)."""
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)

    @pytest.fixture(scope="session", autouse=True)
    def both_instances_answered():
        yield
        answered = {name for name in balancer.served_by if name.startswith("app")}
        assert len(answered) >= 2, f"not both instances answered: {balancer.served_by}"
        if (replica := balancer.BalancerHandler.replica) is not None:
            # Each request that waited for the replica was one it would serve.
            served = replica.transactions() - replica.at_start
            assert served >= replica.waits > 0, f"the replica served {served}"


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
