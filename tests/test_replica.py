"""The read replica's rules, without a replica: which alias a read gets.

The router is asked here as Django asks it, inside the replica middleware.
Tests without a database mark also show that deciding costs no query
(pytest-django refuses any). The real replica (lag, fallback, counts at the
server) is in ``test_replica_live.py``.
"""

import json
import os
import subprocess
import sys
from unittest import mock

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from tasks.models import Task
from todoproject import replica
from todoproject.replica import PIN_COOKIE, ReplicaMiddleware, ReplicaRouter

router = ReplicaRouter()


def _read_alias(request, view=None) -> tuple[str, HttpResponse]:
    """The alias a read of a task gets in ``request``, and the response the
    middleware gave."""
    seen = []

    def get_response(request):
        if view is not None:
            view(request)
        seen.append(router.db_for_read(Task))
        return HttpResponse(status=getattr(request, "answer_status", 200))

    response = ReplicaMiddleware(get_response)(request)
    return seen[0], response


def _pin_from(response) -> str:
    return response.cookies[PIN_COOKIE].value


def _pinned_response():
    request = RequestFactory().post("/tasks/new/")
    return _read_alias(request)[1]


def test_a_get_reads_from_the_replica():
    assert _read_alias(RequestFactory().get("/tasks/"))[0] == "replica"


def test_reads_outside_a_request_go_to_the_primary():
    assert router.db_for_read(Task) == "default"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_request_that_may_write_reads_from_the_primary(method):
    request = getattr(RequestFactory(), method)("/api/tasks")
    assert _read_alias(request)[0] == "default"


def test_writes_go_to_the_primary():
    assert router.db_for_write(Task) == "default"
    request = RequestFactory().get("/tasks/")
    assert _read_alias(request, lambda r: router.db_for_write(Task))[0] == "replica"


def test_a_successful_unsafe_request_pins_the_browser_for_a_few_seconds(settings):
    response = _pinned_response()
    cookie = response.cookies[PIN_COOKIE]
    assert cookie["max-age"] == settings.REPLICA_PIN_SECONDS
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_a_refused_unsafe_request_does_not_pin():
    request = RequestFactory().post("/tasks/new/")
    request.answer_status = 403
    assert PIN_COOKIE not in _read_alias(request)[1].cookies


def test_a_get_that_writes_nothing_does_not_pin():
    assert PIN_COOKIE not in _read_alias(RequestFactory().get("/tasks/"))[1].cookies


def test_a_pinned_browser_reads_from_the_primary():
    request = RequestFactory().get("/tasks/")
    request.COOKIES[PIN_COOKIE] = _pin_from(_pinned_response())
    assert _read_alias(request)[0] == "default"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda value: value[:-1] + ("A" if value[-1] != "A" else "B"),
        lambda value: "1" + value,
        lambda value: "anything",
    ],
)
def test_a_tampered_pin_is_ignored(tamper):
    request = RequestFactory().get("/tasks/")
    request.COOKIES[PIN_COOKIE] = tamper(_pin_from(_pinned_response()))
    assert _read_alias(request)[0] == "replica"


def test_a_pin_past_its_age_is_ignored(settings):
    import time

    then = time.time() - settings.REPLICA_PIN_SECONDS - 1
    with mock.patch("django.core.signing.time.time", return_value=then):
        old = _pin_from(_pinned_response())
    request = RequestFactory().get("/tasks/")
    request.COOKIES[PIN_COOKIE] = old
    assert _read_alias(request)[0] == "replica"


def test_a_pin_signed_with_another_key_is_ignored(settings):
    pin = _pin_from(_pinned_response())
    settings.SECRET_KEY = "another-" + "k" * 50
    request = RequestFactory().get("/tasks/")
    request.COOKIES[PIN_COOKIE] = pin
    assert _read_alias(request)[0] == "replica"


def test_token_calls_and_the_admin_read_from_the_primary():
    token = RequestFactory().get("/api/tasks", HTTP_AUTHORIZATION="Bearer x")
    assert _read_alias(token)[0] == "default"
    assert _read_alias(RequestFactory().get("/admin/tasks/task/"))[0] == "default"


def test_a_view_marked_reads_primary_reads_from_the_primary():
    @replica.reads_primary
    def view(request):
        return None

    assert _read_alias(RequestFactory().get("/calendar/x.ics"), view)[0] == "default"


@pytest.mark.django_db(transaction=True)
def test_the_calendar_feed_reads_from_the_primary():
    # A replaced address must stop working at once, not after the lag.
    from django.http import Http404

    from accounts.calendar import feed

    def view(request):
        with pytest.raises(Http404):
            feed(request, token="unknown")

    request = RequestFactory().get("/calendar/unknown.ics")
    assert _read_alias(request, view)[0] == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_after_a_write_in_the_same_request_go_to_the_primary(user):
    seen = []

    def view(request):
        seen.append(router.db_for_read(Task))
        Task.objects.for_user(user).create(title="Written on a GET")
        seen.append(router.db_for_read(Task))

    _alias, response = _read_alias(RequestFactory().get("/tasks/"), view)
    assert seen == ["replica", "default"]
    assert PIN_COOKIE in response.cookies  # it wrote: pinned


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_go_to_the_primary():
    seen = []

    def view(request):
        seen.append(router.db_for_read(Task))
        with transaction.atomic():
            seen.append(router.db_for_read(Task))

    _read_alias(RequestFactory().get("/tasks/"), view)
    assert seen == ["replica", "default"]


def test_reads_go_to_the_primary_while_the_replica_is_down():
    replica._down.set()
    try:
        assert _read_alias(RequestFactory().get("/tasks/"))[0] == "default"
    finally:
        replica._down.clear()


def test_migrations_never_run_on_the_replica():
    assert router.allow_migrate("replica", "tasks") is False
    # The others are left to Django: `direct` is where migrate runs.
    assert router.allow_migrate("default", "tasks") is None
    assert router.allow_migrate("direct", "tasks") is None


def test_objects_from_the_primary_and_the_replica_may_be_related():
    a, b, c = Task(), Task(), Task()
    a._state.db, b._state.db, c._state.db = "default", "replica", "other"
    assert router.allow_relation(a, b) is True
    assert router.allow_relation(a, c) is None


# --- Settings: nothing at all without DATABASE_URL_REPLICA --------------------------

SHOW_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "aliases": sorted(settings.DATABASES),
    "routers": settings.DATABASE_ROUTERS,
    "middleware": [m for m in settings.MIDDLEWARE if "replica" in m],
    "replica": settings.DATABASES.get("replica"),
    "default": settings.DATABASES["default"],
}, default=str))
"""


def _settings_with(**env) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    result = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "todoproject.settings",
            "DEBUG": "true",
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_without_a_replica_url_there_is_no_alias_router_or_middleware():
    found = _settings_with(DATABASE_URL="postgresql://u@db.example/app")
    assert found["aliases"] == ["default"]
    assert found["routers"] == []
    assert found["middleware"] == []


def test_a_replica_url_adds_the_alias_with_the_primarys_pool_and_checks():
    found = _settings_with(
        DATABASE_URL="postgresql://u@primary.example/app?sslmode=require",
        DATABASE_URL_REPLICA="postgresql://u@replica.example/app?sslmode=require",
        DATABASE_POOL_SIZE="7",
    )
    assert found["aliases"] == ["default", "replica"]
    assert found["routers"] == ["todoproject.replica.ReplicaRouter"]
    assert found["middleware"] == ["todoproject.replica.ReplicaMiddleware"]
    primary, copy = found["default"], found["replica"]
    assert copy["ENGINE"] == "todoproject.replica"
    assert copy["HOST"] == "replica.example"
    assert copy["OPTIONS"] == primary["OPTIONS"]  # the same pool, TLS, timeouts
    assert copy["OPTIONS"]["pool"]["max_size"] == 7


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL_REPLICA": "nonsense"}, "DATABASE_URL_REPLICA is not a valid"),
        (
            {"DATABASE_URL_REPLICA": "postgresql://u@replica.example/app"},
            "DATABASE_URL_REPLICA needs PostgreSQL URLs",
        ),
    ],
)
def test_a_bad_replica_url_stops_start_up_naming_it(env, message):
    base = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env={**base, "DJANGO_SETTINGS_MODULE": "todoproject.settings", **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert message in result.stderr + result.stdout


def test_the_replica_alias_keeps_neons_checks():
    from todoproject.neon.checks import database_errors

    config = {
        "ENGINE": "todoproject.replica",
        "HOST": "ep-x-pooler.eu.aws.neon.tech",
        "OPTIONS": {},
    }
    assert {e.id for e in database_errors({"replica": config})} == {
        "neon.E001",
        "neon.E002",
    }
