"""axe-core on every kind of page: no serious or critical violations.

Minor and moderate findings do not fail the tests, but the assertion message
and the session's terminal summary list all of them. The pages are visited in
a few browser sessions rather than one test each: logging in and opening a
context cost more than running axe, and the message names each page anyway.
"""

import re

import pytest
from playwright.sync_api import expect

from tasks.models import Task

from .conftest import DESKTOP, PHONE, format_violation, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKING = {"serious", "critical"}


class AxeTour:
    """Runs axe on one page after another; fails at the end, listing all."""

    def __init__(self, page, axe):
        self.page = page
        self.axe = axe
        self.results: dict[str, list[dict]] = {}

    def check(self, label: str) -> None:
        self.results[label] = self.axe(self.page, label)

    def submit(self, button: str) -> None:
        """Send the form as it is and wait for the errors to show."""
        self.page.get_by_role("button", name=button).click()
        expect(self.page.locator(".error, .form-errors").first).to_be_visible()

    def assert_no_blocking_violations(self) -> None:
        blocking = [
            label
            for label, violations in self.results.items()
            if any(v["impact"] in BLOCKING for v in violations)
        ]
        report = "\n".join(
            f"{label}: {format_violation(v)}"
            for label, violations in self.results.items()
            for v in violations
        )
        assert not blocking, f"serious or critical on {blocking}:\n{report}"


@pytest.fixture
def tour(new_page, axe, live_server):
    """``tour(**context options)``: an AxeTour on a page that can take axe
    (no CSP: the site's policy rightly refuses an injected inline script)."""

    def make(**options) -> AxeTour:
        return AxeTour(
            new_page(bypass_csp=True, base_url=live_server.url, **options), axe
        )

    return make


@pytest.fixture
def task(user) -> Task:
    """A user with a done task, one with a description, and one more."""
    tasks = Task.objects.for_user(user)
    tasks.create(title="Buy milk", completed=True)
    tasks.create(title="Call mom", description="About the weekend.\nBring photos.")
    return tasks.create(title="Write report")


def test_login_and_signup_pages(tour):
    tour = tour()
    page = tour.page
    page.goto("/accounts/login/")
    tour.check("login")

    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("wrong password")
    tour.submit("Log in")
    tour.check("login with errors")

    page.goto("/accounts/signup/")
    tour.check("signup")

    page.get_by_label("Username").fill("not valid!")
    page.get_by_label(re.compile(r"^Password:?$")).fill("short")
    tour.submit("Sign up")
    tour.check("signup with errors")

    tour.assert_no_blocking_violations()


def test_task_and_account_pages(tour, live_server, user, task, browsing):
    tour = tour()
    page = tour.page
    log_in(page, live_server.url, user.username)
    tour.check("list")

    # In place (JavaScript on): a message with Undo, then the inline editor
    # and its conflict, then the add form's error and details.
    page.get_by_role("button", name="Delete “Call mom”").click()
    expect(page.get_by_role("status")).to_contain_text("to the trash.")
    tour.check("list with a message and Undo")
    page.get_by_role("link", name="Write report", exact=True).dblclick()
    expect(page.locator(f"#edit-{task.pk}")).to_be_focused()
    tour.check("list with the inline editor open")
    Task.objects.for_user(user).filter(pk=task.pk).update(title="Changed")
    page.keyboard.type("Mine")
    page.keyboard.press("Enter")
    expect(page.locator(f"#edit-{task.pk}-error")).to_be_visible()
    tour.check("list with an inline edit conflict")
    page.get_by_label("New task").fill("   ")
    page.get_by_label("New task").press("Enter")
    expect(page.locator("#new-title-error")).to_be_visible()
    page.get_by_text("Add details").click()
    tour.check("list with the add form's error and details open")

    page.goto("/tasks/trash/")
    tour.check("trash")

    page.goto("/tasks/?status=completed")
    tour.check("list, completed filter")

    page.goto("/tasks/new/")
    tour.check("new task")
    tour.submit("Add task")
    tour.check("new task with errors")

    page.goto(f"/tasks/{task.pk}/edit/")
    tour.check("edit")
    page.get_by_label("Title").fill("")
    tour.submit("Save")
    tour.check("edit with errors")

    page.goto(f"/tasks/{task.pk}/")
    tour.check("detail")
    page.goto(f"/tasks/{task.pk}/delete/")
    tour.check("confirm delete")
    page.goto("/accounts/")
    tour.check("account")
    page.goto("/accounts/tokens/")
    tour.check("tokens")

    browsing.expect_http_error("/tasks/999999/")
    page.goto("/tasks/999999/")
    tour.check("404")

    tour.assert_no_blocking_violations()


@pytest.mark.parametrize(
    "scheme, viewport",
    [("dark", DESKTOP), ("light", PHONE), ("dark", PHONE)],
    ids=["desktop-dark", "phone", "phone-dark"],
)
def test_list_page_in_dark_mode_and_on_a_phone(
    scheme, viewport, tour, live_server, user, task
):
    tour = tour(color_scheme=scheme, viewport=viewport)
    log_in(tour.page, live_server.url, user.username)
    tour.check(f"list ({scheme}, {viewport['width']}px)")
    tour.assert_no_blocking_violations()
