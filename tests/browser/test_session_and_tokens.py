"""With JavaScript on: a toggle after the session ended, the token page's
Copy button, and axe-core on the pages this work changed."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import UserSession
from tasks.models import Task

from .conftest import PHONE, format_violation, log_in, wait_for_htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKING = {"serious", "critical"}


def test_a_toggle_after_logging_out_in_another_tab_lands_on_the_list_after_login(
    new_page, live_server, user
):
    task = Task.objects.for_user(user).create(title="Water the plants")
    page = new_page()
    log_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/tasks/?status=active")
    wait_for_htmx(page)

    # Logging out in another tab ends the session on the server.
    UserSession.objects.filter(user=user).delete()
    page.get_by_role("button", name="Mark “Water the plants” as done").click()

    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    next_field = page.locator('input[name="next"]')
    assert next_field.input_value() == "/tasks/?status=active"
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url(f"{live_server.url}/tasks/?status=active")
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    expect(page.get_by_text("Not allowed")).to_have_count(0)
    task.refresh_from_db()
    assert task.completed is False  # the click was lost, and said nothing false
    expect(page.locator(f"#task-{task.pk}")).to_be_visible()


def test_the_copy_button_puts_the_new_token_on_the_clipboard(
    new_page, live_server, user
):
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    log_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/accounts/tokens/")
    page.get_by_label("Name").fill("backup script")
    page.get_by_role("button", name="Create token").click()
    wait_for_htmx(page)

    token = page.locator("#new-token").inner_text().strip()
    assert token
    button = page.get_by_role("button", name="Copy")
    expect(button).to_be_visible()
    button.click()

    expect(page.locator(".copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token


def test_the_copy_button_is_hidden_without_javascript(new_page, live_server, user):
    page = new_page(js=False)
    log_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/accounts/tokens/")
    page.get_by_label("Name").fill("backup script")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_be_visible()
    expect(page.get_by_role("button", name="Copy")).to_have_count(0)


def test_revoking_a_token_asks_first(new_page, live_server, user):
    page = new_page()
    log_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/accounts/tokens/")
    page.get_by_label("Name").fill("old laptop")
    page.get_by_role("button", name="Create token").click()
    wait_for_htmx(page)

    page.get_by_role("link", name="Revoke “old laptop”").click()
    expect(page.get_by_role("heading", name="Revoke token")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("cell", name="old laptop", exact=True)).to_be_visible()

    page.get_by_role("link", name="Revoke “old laptop”").click()
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Token revoked.")).to_be_visible()
    expect(page.get_by_role("cell", name="old laptop", exact=True)).to_have_count(0)


def test_discarding_on_the_conflict_page_returns_to_the_list_page(
    new_page, live_server, user
):
    tasks = Task.objects.for_user(user)
    task = tasks.create(title="Plan the party")
    page = new_page()
    log_in(page, live_server.url, user.username)
    # The edit page, as the list's Edit link opens it with JavaScript off
    # (with it on, the link edits the title in place).
    page.goto(f"{live_server.url}/tasks/{task.pk}/edit/?next=/tasks/%3Fstatus%3Dactive")
    page.get_by_label("Title").fill("Plan the big party")
    tasks.filter(pk=task.pk).update(title="Plan the garden party")  # another tab
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Saved version")).to_be_visible()
    page.get_by_role("button", name="Discard my changes").click()

    page.wait_for_url(f"{live_server.url}/tasks/?status=active")
    expect(page.get_by_text("Discarded your changes")).to_be_visible()
    task.refresh_from_db()
    assert task.title == "Plan the garden party"


def test_the_changed_pages_pass_axe(new_page, live_server, user, axe):
    tasks = Task.objects.for_user(user)
    task = tasks.create(title="Plan the party", description="Saturday")
    results: dict[str, list[dict]] = {}

    for scheme in ["light", "dark"]:
        page = new_page(bypass_csp=True, color_scheme=scheme)
        log_in(page, live_server.url, user.username)

        page.goto(f"{live_server.url}/accounts/tokens/")
        page.get_by_label("Name").fill(f"script {scheme}")
        page.get_by_role("button", name="Create token").click()
        expect(page.locator("#new-token")).to_be_visible()
        results[f"tokens with a new token ({scheme})"] = axe(page, "tokens")

        page.get_by_role("link", name=re.compile(r"^Revoke")).first.click()
        expect(page.get_by_role("heading", name="Revoke token")).to_be_visible()
        results[f"revoke confirm ({scheme})"] = axe(page, "revoke")

        page.goto(f"{live_server.url}/tasks/{task.pk}/edit/?next=/tasks/")
        page.get_by_label("Title").fill("Mine")
        tasks.filter(pk=task.pk).update(title=f"Theirs {scheme}")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name="Saved version")).to_be_visible()
        results[f"edit conflict ({scheme})"] = axe(page, "conflict")

        page.goto(f"{live_server.url}/tasks/{task.pk}/?next=/tasks/")
        results[f"detail ({scheme})"] = axe(page, "detail")

        phone = new_page(bypass_csp=True, color_scheme=scheme, viewport=PHONE)
        log_in(phone, live_server.url, user.username)
        results[f"list at 390 px ({scheme})"] = axe(phone, "list")

    report = "\n".join(
        f"{label}: {format_violation(v)}"
        for label, violations in results.items()
        for v in violations
    )
    blocking = [
        label
        for label, violations in results.items()
        if any(v["impact"] in BLOCKING for v in violations)
    ]
    assert not blocking, f"serious or critical on {blocking}:\n{report}"
