"""Recovering an account in Chromium: sign up with an email, confirm it from
the mailed link, forget the password, reset it from the mailed link, log in.

Mail goes to Django's locmem outbox (``mailoutbox``), which the live server
thread shares with the test.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from .conftest import log_in, wait_for_htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKING = {"serious", "critical"}
PASSWORD = "first-passphrase-for-carol"
NEW_PASSWORD = "second-passphrase-for-carol"
EMAIL = "carol@example.com"


def link_in(mail, pattern: str) -> str:
    return re.search(rf"https?://[^/\s]+({pattern})", mail.body)[1]


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_forgotten_password_is_recovered_through_the_confirmed_email(
    js, new_page, live_server, mailoutbox
):
    page = new_page(js=js, base_url=live_server.url)

    # Sign up with an email: the account is ready, the address waits.
    page.goto("/accounts/signup/")
    expect(page.get_by_text("a forgotten password cannot be recovered")).to_be_visible()
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Email address (optional)").fill(EMAIL)
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(f"{live_server.url}/tasks/")
    expect(page.locator(".messages")).to_contain_text(f"We sent a link to {EMAIL}")
    (confirmation,) = mailoutbox
    assert confirmation.to == [EMAIL]
    assert get_user_model().objects.get(username="carol").email == ""

    # Open the mailed link and confirm.
    page.goto(link_in(confirmation, r"/accounts/email/confirm/[^/\s]+/"))
    expect(page.get_by_role("heading")).to_have_text("Confirm your email address")
    page.get_by_role("button", name="Confirm address").click()
    page.wait_for_url(f"{live_server.url}/accounts/")
    expect(page.locator(".messages")).to_contain_text(
        f"Your email address is now {EMAIL}."
    )
    assert get_user_model().objects.get(username="carol").email == EMAIL

    # Log out, and forget the password.
    wait_for_htmx(page)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_url(f"{live_server.url}/accounts/password_reset/")
    expect(page.get_by_text("only to an address confirmed")).to_be_visible()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Reset your password").click()
    page.wait_for_url(f"{live_server.url}/accounts/password_reset/done/")
    expect(page.get_by_text("Mail goes only to confirmed addresses")).to_be_visible()

    # Open the mailed reset link and choose a new password.
    reset = mailoutbox[-1]
    assert len(mailoutbox) == 2
    assert reset.to == [EMAIL]
    page.goto(link_in(reset, r"/accounts/reset/[^/\s]+/[^/\s]+/"))
    page.get_by_label(re.compile(r"^New password:?$")).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Choose a new password").click()
    page.wait_for_url(f"{live_server.url}/accounts/reset/done/")

    # The new password works.
    log_in(page, live_server.url, "carol", NEW_PASSWORD)


def test_the_recovery_pages_pass_axe(
    new_page, browsing, axe, live_server, user, mailoutbox
):
    page = new_page(bypass_csp=True, base_url=live_server.url)
    results: dict[str, list[dict]] = {}

    def check(label: str) -> None:
        results[label] = axe(page, label)

    page.goto("/accounts/signup/")
    check("signup")
    page.goto("/accounts/password_reset/")
    check("password reset")
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_role("button", name="Reset your password").click()
    page.wait_for_url(re.compile(r"/password_reset/done/"))
    check("password reset done")

    log_in(page, live_server.url, user.username)
    page.goto("/accounts/")
    check("account, no email")
    page.get_by_label("New email address").fill("not an address")
    page.get_by_role("button", name="Add address").click()
    expect(page.locator(".error")).to_be_visible()
    check("account, email with an error")
    page.get_by_label("New email address").fill("alice@example.com")
    page.get_by_role("button", name="Add address").click()
    expect(page.locator(".messages")).to_contain_text("We sent a link")
    check("account, link sent")

    link = link_in(mailoutbox[-1], r"/accounts/email/confirm/[^/\s]+/")
    page.goto(link)
    check("confirm email")
    invalid = link.replace("/confirm/", "/confirm/x")
    browsing.expect_http_error(invalid)  # refused with a 400 page, on purpose
    page.goto(invalid)
    check("confirm email, invalid link")

    page.goto("/accounts/password_change/")
    check("password change")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".error").first).to_be_visible()
    check("password change with errors")

    blocking = [
        label
        for label, violations in results.items()
        if any(v["impact"] in BLOCKING for v in violations)
    ]
    assert not blocking, f"serious or critical axe findings on {blocking}: {results}"
