"""Property-based tests of the JSON API against its own OpenAPI schema.

Schemathesis generates requests from /api/openapi.json, valid and invalid,
sends them through the WSGI application with a personal access token, and
checks every answer: never a 5xx, a documented status code, a body that
matches the documented schema, invalid input rejected, valid input accepted.
"""

import re

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from accounts.models import AccessToken
from tasks.forms import TaskForm, TaskListForm
from tasks.models import Task, TaskList
from tasks.schemas import DESCRIPTION_PATTERN, LIST_NAME_PATTERN, SPACE, TITLE_PATTERN
from tests.factories import make_tasks
from todoproject.wsgi import application

# Schemathesis calls the WSGI application as a server would, and at the end
# of each request Django closes connections it thinks stale; on PostgreSQL
# that would end a test wrapped in a transaction. So these tests commit, and
# the tables are emptied afterwards.
pytestmark = pytest.mark.django_db(transaction=True)

# Schemathesis calls the application as http://localhost/. Fetching the
# schema needs no database, so it can happen at collection.
HOST = "localhost"
with override_settings(ALLOWED_HOSTS=[HOST]):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)

# Fourteen operations, 60 examples each, plus the explicit and coverage
# phases: about a thousand requests in all, in well under a minute.
EXAMPLES_PER_OPERATION = 60


@pytest.fixture(autouse=True)
def allowed_host(settings):
    settings.ALLOWED_HOSTS = [HOST]


@pytest.fixture
def token(user) -> str:
    _, raw = AccessToken.objects.issue(user, "schemathesis")
    return raw


@pytest.fixture
def task_ids(user, other_user) -> list[int]:
    # Another user's task is there too: none of its ids may ever answer 200.
    make_tasks(other_user, 2)
    return [task.pk for task in make_tasks(user, 5)]


def aim_at_existing_tasks(case, user, task_ids: list[int]) -> None:
    """Point small generated ids at real tasks, so that the 200 answers are
    exercised too and not only 404s; negative, huge and non-integer ids are
    left as generated."""
    task_id = case.path_parameters.get("task_id") if case.path_parameters else None
    if not isinstance(task_id, int) or not 0 <= task_id < 1000:
        return
    tasks = Task.objects.for_user(user)
    if not tasks.exists():  # DELETE cases use them up
        task_ids[:] = [task.pk for task in make_tasks(user, 5)]
    case.path_parameters["task_id"] = task_ids[task_id % len(task_ids)]


@pytest.fixture
def list_ids(user, other_user) -> list[int]:
    # Another user's list is there too: none of its ids may ever answer 200.
    TaskList.objects.for_user(other_user).create(name="Bob's list")
    return _lists_of(user)


def _lists_of(user) -> list[int]:
    """The user's lists: the Inbox (DELETE answers 409) and a few others."""
    lists = TaskList.objects.for_user(user)
    for n in range(3 - lists.filter(is_inbox=False).count()):
        lists.create(name=f"Aimed at {n} {lists.count()}")
    return list(lists.values_list("pk", flat=True))


def aim_at_existing_lists(case, user, list_ids: list[int]) -> None:
    """As aim_at_existing_tasks, for list ids: in the path, in the body (a
    task's list) and in the query, so that moves, creates into a list and
    the list filter answer 200 too."""

    def aimed(list_id):
        if not isinstance(list_id, int) or isinstance(list_id, bool):
            return list_id
        if not 0 <= list_id < 1000:
            return list_id
        if not TaskList.objects.for_user(user).filter(pk__in=list_ids).exists():
            list_ids[:] = _lists_of(user)  # DELETE cases use them up
        return list_ids[list_id % len(list_ids)]

    for parameters in (case.path_parameters, case.query, case.body):
        if isinstance(parameters, dict) and "list_id" in parameters:
            parameters["list_id"] = aimed(parameters["list_id"])


def _is_a_taken_name(response) -> bool:
    """A list name the user already has: refused for the state it meets,
    which no schema can say, so valid input may meet it."""
    if response.status_code != 422:
        return False
    return response.json()["detail"] == [
        {
            "type": "unique",
            "loc": ["body", "payload", "name"],
            "msg": "You already have a list with this name.",
        }
    ]


def _is_a_time_for_a_task_without_a_date(case, response) -> bool:
    """A PATCH of a due time alone, for a task that has no due date: refused
    for the stored task, which no schema can say (the aimed tasks have none)."""
    if response.status_code != 422 or case.method.upper() != "PATCH":
        return False
    return response.json()["detail"] == [
        {
            "type": "invalid",
            "loc": ["body", "payload", "due_time"],
            "msg": "Give the date this time is on.",
        }
    ]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api_conforms_to_its_schema(case, user, token, task_ids, list_ids):
    aim_at_existing_tasks(case, user, task_ids)
    aim_at_existing_lists(case, user, list_ids)
    # Schemathesis now and then sends a Host header of its own ("HOST: 1").
    # Which hosts are served is ALLOWED_HOSTS' business, answered with a 400
    # before any API code runs (tests/test_security.py), not the API schema's.
    if case.headers:
        case.headers = {k: v for k, v in case.headers.items() if k.lower() != "host"}

    headers = _credentials(case, token)
    response = case.call(headers=headers)
    case.validate_response(
        response,
        headers=headers,
        excluded_checks=[positive_data_acceptance]
        if _is_a_taken_name(response)
        or _is_a_time_for_a_task_without_a_date(case, response)
        else [],
        transport_kwargs={"headers": headers},
    )


def _credentials(case, token: str) -> dict:
    """The user's token, unless the case's own headers are the invalid part.

    Replacing a header schemathesis made invalid on purpose would send a
    valid request that it still expects to be rejected.
    """
    invalid_headers = case.meta is not None and any(
        location == ParameterLocation.HEADER and component.mode.is_negative
        for location, component in case.meta.components.items()
    )
    return {} if invalid_headers else {"Authorization": f"Bearer {token}"}


def test_the_schemas_text_patterns_trim_exactly_what_the_form_trims():
    # JSON Schema patterns are ECMA-262, whose \s is not Python's: the white
    # space is spelled out, and must be the set str.strip() removes.
    assert r"\s" not in TITLE_PATTERN and r"\s" not in DESCRIPTION_PATTERN
    space = re.compile(f"[{SPACE}]")
    assert {chr(c) for c in range(0x110000) if space.fullmatch(chr(c))} == {
        chr(c) for c in range(0x110000) if chr(c).isspace()
    }
    samples = [
        "a", " a ", "\f\x85\t\t\v", "\x85", "\x1c", "\ufeff", "\u3000x\u3000",
        "a" * 200, "a" * 201, " " + "a" * 200 + "\n", "a\x00b", "",
    ]  # fmt: skip
    for text in samples:
        form = TaskForm({"title": text, "description": text})
        assert bool(re.fullmatch(TITLE_PATTERN, text)) == ("title" not in form.errors)
        assert bool(re.fullmatch(DESCRIPTION_PATTERN, text)) == (
            "description" not in form.errors
        ), repr(text)
    for text in [*samples, "a" * 100, "a" * 101, "\t" + "a" * 100 + " "]:
        form = TaskListForm({"name": text})
        assert bool(re.fullmatch(LIST_NAME_PATTERN, text)) == (
            "name" not in form.errors
        ), repr(text)
