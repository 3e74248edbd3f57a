"""Login throttling (django-axes with accounts.throttling's rules) through this
project's real views.

Every test logs in with ``client.post("/accounts/login/", ...)``, the path a
browser takes, so that axes sees the request (its backend needs it) and its
middleware turns a lockout into the response. The rules, from the contract:
10 failures of a username from any addresses lock the username; 100 from one
address lock the address; a success or a signup clears only its own
username's failures; wrong current passwords on password change and account
deletion are failed logins too."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from accounts import throttling
from tests.factories import PASSWORD
from tests.pages import csrf_token

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 10
ADDRESS_LIMIT = 100
COOL_OFF = timedelta(minutes=15)
LOCKED_OUT = "Too many failed logins"
WRONG_LOGIN = "Please enter a correct username and password"


def browser(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


def log_in(client: Client, username: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def fail(client: Client, username: str, times: int) -> list[int]:
    return [log_in(client, username, "wrong").status_code for _ in range(times)]


def spray(client: Client, failures: int, prefix: str = "guess") -> list[int]:
    """``failures`` wrong passwords from one client, spread over enough
    usernames that none of them reaches its own limit."""
    return [
        log_in(client, f"{prefix}{n % 20}", "wrong").status_code
        for n in range(failures)
    ]


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def age_attempts(by: timedelta) -> None:
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= by
        attempt.save()


def test_axes_is_on_in_the_tests_and_configured_as_the_contract_says():
    assert django_settings.AXES_ENABLED is True
    assert django_settings.AXES_FAILURE_LIMIT == LIMIT
    assert django_settings.LOGIN_ADDRESS_FAILURE_LIMIT == ADDRESS_LIMIT
    assert django_settings.AXES_HANDLER == "accounts.throttling.LoginThrottle"
    assert timedelta(hours=django_settings.AXES_COOLOFF_TIME) == COOL_OFF
    # A list of single parameters means "username OR address", each counted
    # on its own; [["username", "ip_address"]] would mean the pair.
    assert django_settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert django_settings.AXES_HTTP_RESPONSE_CODE == 429
    assert django_settings.AXES_LOCKOUT_TEMPLATE == "registration/locked_out.html"


def test_limit_and_cool_off_come_from_the_environment():
    code = (
        "import json\nfrom django.conf import settings\n"
        "print(json.dumps([settings.AXES_FAILURE_LIMIT,"
        " settings.LOGIN_ADDRESS_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME]))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "todoproject.settings",
        "DEBUG": "true",
        "LOGIN_FAILURE_LIMIT": "3",
        "LOGIN_ADDRESS_FAILURE_LIMIT": "40",
        "LOGIN_COOLOFF_MINUTES": "30",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [3, 40, 0.5]


def test_nine_failures_still_show_the_ordinary_login_error(user):
    client = browser("10.0.0.1")
    for _ in range(LIMIT - 1):
        response = log_in(client, "alice", "wrong")
        assert response.status_code == 200
        assert WRONG_LOGIN in response.content.decode()
    assert log_in(client, "alice").status_code == 302


def test_after_ten_failures_even_the_right_password_is_refused(user):
    client = browser("10.0.0.1")
    statuses = fail(client, "alice", LIMIT)
    assert statuses[: LIMIT - 1] == [200] * (LIMIT - 1)

    response = log_in(client, "alice", PASSWORD)

    assert response.status_code == 429
    body = response.content.decode()
    assert LOCKED_OUT in body
    assert "try again" in body
    assert not is_signed_in(client)
    assert client.get("/tasks/").status_code == 302


def test_the_lockout_follows_the_username_to_another_address(user):
    fail(browser("10.0.0.1"), "alice", LIMIT)
    response = log_in(browser("10.0.0.2"), "alice")
    assert response.status_code == 429


def test_a_locked_out_unknown_username_looks_exactly_like_a_known_one(user):
    known = browser("10.0.0.1")
    unknown = browser("10.0.0.2")
    fail(known, "alice", LIMIT)
    fail(unknown, "nobody", LIMIT)

    known_response = log_in(known, "alice")
    unknown_response = log_in(unknown, "nobody")

    assert known_response.status_code == unknown_response.status_code == 429
    assert known_response.content == unknown_response.content


def test_failures_for_a_known_and_an_unknown_username_look_the_same(user):
    known = log_in(browser("10.0.0.1"), "alice", "wrong")
    unknown = log_in(browser("10.0.0.2"), "nobody", "wrong")
    assert known.status_code == unknown.status_code == 200

    def without_csrf(response) -> str:
        return response.content.decode().replace(csrf_token(response), "")

    assert without_csrf(known).replace("alice", "nobody") == without_csrf(unknown)


def test_a_hundred_failures_from_one_address_lock_that_address_for_everyone(user):
    attacker = browser("10.0.0.66")
    statuses = spray(attacker, ADDRESS_LIMIT - 1)
    assert statuses == [200] * (ADDRESS_LIMIT - 1)
    # Below the address's limit, the right password still gets in there.
    assert log_in(attacker, "alice").status_code == 302
    attacker.post("/accounts/logout/")

    assert spray(attacker, 1, prefix="more") == [429]

    response = log_in(attacker, "alice", PASSWORD)
    assert response.status_code == 429
    assert LOCKED_OUT in response.content.decode()
    assert not is_signed_in(attacker)
    # Alice herself, elsewhere, is not locked out by someone else's guessing.
    elsewhere = browser("10.0.0.1")
    assert log_in(elsewhere, "alice").status_code == 302
    assert is_signed_in(elsewhere)


def test_someone_elses_lockout_at_the_same_address_does_not_lock_out_alice(user):
    # Found from 127.0.0.1: after 10 failures for "eve", "alice" was refused.
    shared = browser("127.0.0.1")
    fail(shared, "eve", LIMIT)
    assert log_in(shared, "eve", "wrong").status_code == 429

    response = log_in(shared, "alice")

    assert response.status_code == 302
    assert is_signed_in(shared)


def test_logging_in_to_ones_own_account_does_not_reset_the_victims_failures(
    user, other_user
):
    # The attack of issue #14: 9 wrong passwords for the victim, then a login
    # to one's own account from the same address, which reset every failure
    # of that address, over and over.
    attacker = browser("10.0.0.66")
    guesses = []
    for _ in range(4):
        guesses += fail(attacker, "alice", LIMIT - 1)
        assert log_in(attacker, "bob").status_code == 302
        attacker.post("/accounts/logout/")

    assert guesses[: LIMIT - 1] == [200] * (LIMIT - 1)
    assert set(guesses[LIMIT - 1 :]) == {429}
    assert log_in(attacker, "alice").status_code == 429
    assert log_in(browser("10.0.0.1"), "alice").status_code == 429


def test_signing_up_does_not_reset_the_victims_failures(user):
    attacker = browser("10.0.0.66")
    guesses = []
    for n in range(4):
        guesses += fail(attacker, "alice", LIMIT - 1)
        response = attacker.post(
            "/accounts/signup/",
            {"username": f"mallory{n}", "password1": PASSWORD, "password2": PASSWORD},
        )
        assert response.status_code == 302
        assert is_signed_in(attacker)
        attacker.post("/accounts/logout/")

    assert guesses[: LIMIT - 1] == [200] * (LIMIT - 1)
    assert set(guesses[LIMIT - 1 :]) == {429}
    assert log_in(attacker, "alice").status_code == 429


def test_a_success_clears_its_own_usernames_failures_and_no_one_elses(user, other_user):
    shared = browser("10.0.0.1")
    fail(browser("10.0.0.2"), "alice", 4)
    fail(shared, "alice", 5)
    fail(shared, "bob", LIMIT - 1)

    assert log_in(shared, "alice").status_code == 302

    # Alice's failures from both addresses are gone; bob's, from the same
    # address as her success, are all still there.
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"bob"}
    assert log_in(browser("10.0.0.3"), "bob", "wrong").status_code == 429
    assert log_in(browser("10.0.0.3"), "alice", "wrong").status_code == 200


def test_a_successful_login_resets_the_failure_count(user):
    client = browser("10.0.0.1")
    fail(client, "alice", LIMIT - 1)
    assert log_in(client, "alice").status_code == 302
    client.post("/accounts/logout/")

    statuses = fail(client, "alice", LIMIT - 1)

    assert statuses == [200] * (LIMIT - 1)
    assert log_in(client, "alice").status_code == 302


def test_the_lockout_ends_after_the_cool_off_period(user):
    client = browser("10.0.0.1")
    fail(client, "alice", LIMIT)

    age_attempts(COOL_OFF + timedelta(minutes=1))

    response = log_in(client, "alice")
    assert response.status_code == 302
    assert is_signed_in(client)


def test_an_attempt_during_the_lockout_starts_the_cool_off_again(user):
    # Axes' default (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT): a script
    # that keeps guessing stays locked out; a person who waits gets back in.
    client = browser("10.0.0.1")
    fail(client, "alice", LIMIT)
    age_attempts(COOL_OFF - timedelta(minutes=1))
    assert log_in(client, "alice").status_code == 429

    age_attempts(timedelta(minutes=2))
    assert log_in(client, "alice").status_code == 429

    age_attempts(COOL_OFF + timedelta(minutes=1))
    assert log_in(client, "alice").status_code == 302


def test_a_lockout_does_not_end_an_existing_session(user):
    signed_in = browser("10.0.0.1")
    signed_in.force_login(user)
    fail(browser("10.0.0.1"), "alice", LIMIT)
    assert signed_in.get("/tasks/").status_code == 200


def test_a_successful_login_costs_a_few_queries(user, django_assert_max_num_queries):
    client = browser("10.0.0.1")
    client.get("/accounts/login/")
    # 13 = 9 statements and 4 savepoints (the session is saved in atomic
    # blocks, which become savepoints inside the test's transaction).
    # Axes: 1 lockout check (username and address counted together), a look
    # for expired attempts to clean up, the access log row, a look for the
    # username's failures to reset; Django: the user, its last_login, the
    # session (an existence check, the insert of the new key, the update that
    # stores the login).
    with django_assert_max_num_queries(13):
        response = log_in(client, "alice")
    assert response.status_code == 302


def test_a_locked_out_user_can_still_reset_the_password(user):
    client = browser("10.0.0.1")
    fail(client, "alice", LIMIT)
    response = log_in(client, "alice")
    assert 'href="/accounts/password_reset/"' in response.content.decode()
    assert client.get("/accounts/password_reset/").status_code == 200


def test_other_users_are_not_locked_out_by_alices_lockout(user, other_user):
    fail(browser("10.0.0.1"), "alice", LIMIT)
    client = browser("10.0.0.2")
    assert log_in(client, "bob").status_code == 302


def test_the_lockout_page_is_the_projects_template(user):
    client = browser("10.0.0.1")
    fail(client, "alice", LIMIT)
    response = log_in(client, "alice")
    # The title only registration/locked_out.html gives, in the site's frame.
    assert "<title>Too many attempts · Todo</title>" in response.content.decode()
    assert get_user_model().objects.get(username="alice").last_login is None


PROXY = ("HTTP_X_FORWARDED_PROTO", "https")


def behind_proxy(client_address: str, claimed: str = "") -> Client:
    """A browser behind the site's one proxy (10.0.0.2), which appends the
    address it saw to whatever X-Forwarded-For the client sent."""
    forwarded = f"{claimed}, {client_address}" if claimed else client_address
    return Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)


def test_behind_a_proxy_one_clients_failures_do_not_lock_out_the_others(user, settings):
    settings.SECURE_PROXY_SSL_HEADER = PROXY
    attacker = behind_proxy("203.0.113.9")
    spray(attacker, ADDRESS_LIMIT)
    assert log_in(attacker, "alice").status_code == 429
    # Everyone shares the proxy's REMOTE_ADDR; alice's own address is clean.
    assert log_in(behind_proxy("198.51.100.7"), "alice").status_code == 302


def test_behind_a_proxy_a_forged_forwarded_for_does_not_escape_the_lockout(
    user, settings
):
    settings.SECURE_PROXY_SSL_HEADER = PROXY
    for n in range(ADDRESS_LIMIT):
        claimed = f"192.0.2.{n}"
        log_in(behind_proxy("203.0.113.9", claimed=claimed), f"g{n % 20}", "x")
    # The attacker's real address (the one the proxy appended) is locked.
    response = log_in(behind_proxy("203.0.113.9", claimed="192.0.2.99"), "alice")
    assert response.status_code == 429


def test_without_a_proxy_forwarded_for_is_ignored(user):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(ADDRESS_LIMIT):
        attacker.post(
            "/accounts/login/",
            {"username": f"guess{n % 20}", "password": "x"},
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
    assert log_in(attacker, "alice").status_code == 429


def test_behind_a_proxy_an_address_named_by_a_client_is_not_locked_out(user, settings):
    settings.SECURE_PROXY_SSL_HEADER = PROXY
    for n in range(ADDRESS_LIMIT):
        log_in(behind_proxy("203.0.113.9", claimed="198.51.100.7"), f"g{n % 20}", "x")
    # Only the address the proxy appended was counted.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {
        "203.0.113.9"
    }
    assert log_in(behind_proxy("198.51.100.7"), "alice").status_code == 302


NOT_ADDRESSES = [
    "not-an-ip",
    "203.0.113.9" + "0" * 49,  # 60 characters
    "1" * 60,
    "2001:db8::1::2",
    "fe80::1%eth0",
    "",
    " , ",
]


@pytest.mark.parametrize("forwarded", NOT_ADDRESSES)
def test_behind_a_proxy_a_forwarded_for_that_is_not_an_address_counts_the_socket(
    user, settings, forwarded
):
    # A client that reached the app around the proxy, sending what it likes:
    # `not-an-ip` was a 500 on PostgreSQL, and on SQLite a fresh "address"
    # for every value, so the per-address lock never came.
    settings.SECURE_PROXY_SSL_HEADER = PROXY
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=forwarded)

    response = log_in(client, "alice", "wrong")

    assert response.status_code == 200
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [
        "203.0.113.9"
    ]
    assert log_in(client, "alice").status_code == 302


def test_behind_a_proxy_changing_a_bad_forwarded_for_does_not_escape_the_lock(
    user, settings
):
    settings.SECURE_PROXY_SSL_HEADER = PROXY
    for n in range(ADDRESS_LIMIT):
        garbage = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"x{n}")
        log_in(garbage, f"g{n % 20}", "wrong")
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="x-fresh")
    assert log_in(client, "alice").status_code == 429


def test_behind_a_proxy_the_same_client_counts_once_however_its_address_is_written(
    user, settings
):
    settings.SECURE_PROXY_SSL_HEADER = PROXY
    for written in ["2001:db8::1", "2001:DB8:0:0::1", "2001:0db8::0001"]:
        log_in(behind_proxy(written), "alice", "wrong")
    for written in ["192.0.2.1", "::ffff:192.0.2.1"]:
        log_in(behind_proxy(written), "alice", "wrong")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {
        "2001:db8::1",
        "192.0.2.1",
    }


# --- Current-password checks: password change and account deletion ------------

NEW_PASSWORD = "a-brand-new-passphrase-42"


def change_password(client: Client, old_password: str):
    return client.post(
        "/accounts/password_change/",
        {
            "old_password": old_password,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )


def signed_in(user, ip: str = "10.0.0.1") -> Client:
    client = browser(ip)
    client.force_login(user)
    return client


def test_fifteen_wrong_current_passwords_lock_the_password_change(user):
    # Found: 15 wrong old_password values, then the right one, succeeded.
    client = signed_in(user)
    statuses = [change_password(client, f"guess-{n}").status_code for n in range(15)]

    response = change_password(client, PASSWORD)

    assert statuses[: LIMIT - 1] == [200] * (LIMIT - 1)
    assert set(statuses[LIMIT - 1 :]) == {429}
    assert response.status_code == 429
    assert LOCKED_OUT in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not user.check_password(NEW_PASSWORD)
    # They were failed logins of alice: the login form is locked too.
    assert log_in(browser("10.0.0.2"), "alice").status_code == 429


def test_twelve_wrong_passwords_lock_the_account_deletion(user, task):
    # Found: account deletion took 12 wrong passwords, then the right one.
    client = signed_in(user)
    statuses = [
        client.post("/accounts/delete/", {"password": f"guess-{n}"}).status_code
        for n in range(12)
    ]

    response = client.post("/accounts/delete/", {"password": PASSWORD})

    assert statuses[: LIMIT - 1] == [200] * (LIMIT - 1)
    assert set(statuses[LIMIT - 1 :]) == {429}
    assert response.status_code == 429
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert client.get("/tasks/").status_code == 200


def test_failed_logins_lock_the_current_password_checks_too(user, task):
    client = signed_in(user)  # before the failures: a login clears them
    fail(browser("10.0.0.66"), "alice", LIMIT)

    assert change_password(client, PASSWORD).status_code == 429
    assert client.post("/accounts/delete/", {"password": PASSWORD}).status_code == 429

    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_failed_current_password_checks_and_logins_add_up(user):
    client = signed_in(user)
    for n in range(LIMIT // 2):
        change_password(client, f"guess-{n}")
        client.post("/accounts/delete/", {"password": f"guess-{n}"})
    assert log_in(browser("10.0.0.2"), "alice").status_code == 429


def test_the_right_current_password_below_the_limit_still_works(user):
    client = signed_in(user)
    for n in range(LIMIT - 1):
        assert change_password(client, f"guess-{n}").status_code == 200

    response = change_password(client, PASSWORD)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_failed_password_change_stores_no_password(user):
    change_password(signed_in(user), "not-it")
    (attempt,) = AccessAttempt.objects.all()
    assert NEW_PASSWORD not in attempt.post_data
    assert "not-it" not in attempt.post_data


# --- Password checks, one at a time per process --------------------------------


@pytest.mark.in_process("holds this process's password-check lock")
@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/accounts/login/", {"username": "alice", "password": PASSWORD}),
        (
            "/accounts/signup/",
            {"username": "carol", "password1": PASSWORD, "password2": PASSWORD},
        ),
    ],
)
def test_a_password_check_that_finds_another_running_is_told_to_retry(
    client, user, path, data
):
    assert throttling._password_check.acquire(blocking=False)
    try:
        busy = client.post(path, data)
    finally:
        throttling._password_check.release()

    assert busy.status_code == 429
    assert busy["Retry-After"] == "1"
    assert "try again" in busy.content.decode()
    assert get_user_model().objects.filter(username="carol").exists() is False
    # Nothing was counted against the user, and the next attempt goes through.
    assert client.post(path, data).status_code == 302


def test_password_checks_release_their_slot_even_when_they_fail(client, user):
    for _ in range(3):
        response = client.post(
            "/accounts/login/", {"username": "alice", "password": "wrong"}
        )
        assert response.status_code == 200
    assert throttling._password_check.acquire(blocking=False)
    throttling._password_check.release()
