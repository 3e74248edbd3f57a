"""The whole workflow of a user, in a real browser, with JavaScript on (htmx
swaps the page in place) and off (every action is a full page load)."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from tasks.models import Task

from .conftest import DESKTOP, PHONE, log_in, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-unusual-passphrase"


class Workflow:
    """The list page seen by one user, and the checks every action shares."""

    def __init__(self, page: Page, base_url: str, js: bool):
        self.page = page
        self.base_url = base_url
        self.js = js

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)
        self.mark()

    def mark(self) -> None:
        # A new document forgets this; an htmx swap keeps it.
        self.page.evaluate("window.__marker = 1")

    def same_document(self) -> bool:
        return self.page.evaluate("window.__marker") == 1

    def act(
        self, action, *, then_path: str | re.Pattern, message: str | None = None
    ) -> None:
        """Do ``action``, then check where we landed and how: in place with
        JavaScript (no new page load, htmx pushed the URL), by a full page load
        without it."""
        if not self.js:
            self.mark()
        action()
        if message is not None:
            expect(self.page.locator(".messages")).to_contain_text(message)
        if isinstance(then_path, str):
            expect(self.page).to_have_url(self.base_url + then_path)
        else:
            expect(self.page).to_have_url(then_path)
        if self.js:
            # The marker set when the first page loaded is still there.
            assert self.same_document(), "a full page load, not an htmx swap"
        else:
            assert not self.same_document(), "the action did not load a page"

    # --- the list page ------------------------------------------------------

    def expect_titles(self, *titles: str) -> None:
        items = self.page.locator("#task-list .task .title")
        if titles:
            expect(items).to_have_text(list(titles))
        else:
            expect(items).to_have_count(0)

    def expect_counter(self, text: str) -> None:
        expect(self.page.locator("#active-count")).to_have_text(text)

    def expect_done(self, title: str, done: bool) -> None:
        row = self.page.locator("#task-list .task").filter(has_text=title)
        if done:
            expect(row).to_have_class(re.compile(r"\bdone\b"))
        else:
            expect(row).not_to_have_class(re.compile(r"\bdone\b"))

    def add(self, title: str, *, path: str = "/tasks/") -> None:
        def action():
            self.page.get_by_label("New task").fill(title)
            self.page.get_by_role("button", name="Add", exact=True).click()

        self.act(action, then_path=path, message=f"Added “{title}”.")

    def toggle(self, title: str, *, to_done: bool, path: str = "/tasks/") -> None:
        label = f"Mark “{title}” as done" if to_done else f"Mark “{title}” as not done"
        self.act(
            self.page.get_by_role("button", name=label).click,
            then_path=path,
            message=f"{'Completed' if to_done else 'Reopened'} “{title}”.",
        )

    def filter(self, name: str) -> None:
        filters = self.page.get_by_role("navigation", name="Filter tasks")
        self.act(
            filters.get_by_role("link", name=name).click,
            then_path=f"/tasks/?status={name.lower()}",
        )
        expect(filters.get_by_role("link", name=name)).to_have_attribute(
            "aria-current", "page"
        )


def _screenshots(new_page, workflow: Workflow) -> None:
    """The list at phone and desktop widths, light and dark, in fresh tabs of
    the same session (the workflow's own page keeps its state)."""
    state = workflow.page.context.storage_state()
    # One task with a description, so the pictures show its marker.
    dana = get_user_model().objects.get(username="dana")
    Task.objects.for_user(dana).filter(title="Call mom").update(description="Sunday")
    phone = {"viewport": PHONE, "is_mobile": True, "device_scale_factor": 2}
    shots = [
        ("list-phone", "light", phone),
        ("list-phone-dark", "dark", phone),
        ("list-desktop", "light", {"viewport": DESKTOP}),
        ("list-desktop-dark", "dark", {"viewport": DESKTOP}),
    ]
    for name, scheme, options in shots:
        page = new_page(color_scheme=scheme, storage_state=state, **options)
        page.goto(workflow.base_url + "/tasks/")
        expect(page.locator("#task-list .task")).to_have_count(3)
        # Nothing may stick out sideways: a phone would scroll horizontally.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth"
            " - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name}: the page is {overflow}px wider than the screen"
        save_screenshot(page, name)
        page.context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_whole_workflow_from_signup_to_logout(
    js, new_page, live_server, django_user_model
):
    page = new_page(js=js)
    flow = Workflow(page, live_server.url, js)

    flow.goto("/accounts/signup/")
    if js:
        assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    # The stylesheet loaded: the card has its rounded corners.
    expect(page.locator(".card")).to_have_css("border-top-left-radius", "12px")

    def sign_up():
        page.get_by_label("Username").fill("dana")
        page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
        page.get_by_label("Password confirmation").fill(PASSWORD)
        page.get_by_role("button", name="Sign up").click()

    flow.act(sign_up, then_path="/tasks/", message="Welcome, dana!")
    expect(page.locator("#task-list")).to_contain_text("No tasks yet")
    expect(page.locator("#active-count")).to_have_count(0)

    flow.add("Buy milk")
    flow.expect_counter("1 item left")
    flow.add("Call mom")
    flow.add("Write report")
    flow.expect_titles("Write report", "Call mom", "Buy milk")  # newest first
    flow.expect_counter("3 items left")

    flow.toggle("Buy milk", to_done=True)
    flow.expect_done("Buy milk", True)
    flow.expect_done("Call mom", False)
    flow.expect_counter("2 items left")
    expect(
        page.get_by_role("button", name="Mark “Buy milk” as not done")
    ).to_have_attribute("aria-pressed", "true")
    if js:
        _screenshots(new_page, flow)

    flow.filter("Active")
    flow.expect_titles("Write report", "Call mom")
    flow.expect_counter("2 items left")
    # Toggling from a filtered view keeps the filter (the form's `next`).
    flow.toggle("Call mom", to_done=True, path="/tasks/?status=active")
    flow.expect_titles("Write report")
    flow.expect_counter("1 item left")

    flow.filter("Completed")
    flow.expect_titles("Call mom", "Buy milk")
    flow.expect_counter("1 item left")

    flow.filter("All")
    flow.expect_titles("Write report", "Call mom", "Buy milk")

    # The browser's Back button shows the previous filter again, list and
    # counter included (htmx restores history from the server: its cache is
    # off).
    page.go_back()
    expect(page).to_have_url(live_server.url + "/tasks/?status=completed")
    flow.expect_titles("Call mom", "Buy milk")
    flow.expect_counter("1 item left")
    page.go_forward()
    expect(page).to_have_url(live_server.url + "/tasks/?status=all")
    flow.expect_titles("Write report", "Call mom", "Buy milk")
    if js:
        assert flow.same_document(), "Back and Forward reloaded the page"
    flow.mark()

    # Edit, through the task's own page (the list's Edit link is
    # test_edit_link_on_the_list_returns_to_the_filter, below).
    flow.act(
        page.get_by_role("link", name="Write report", exact=True).click,
        then_path=re.compile(r"/tasks/\d+/$"),
    )
    expect(page.get_by_role("heading", name="Write report")).to_be_visible()
    flow.act(
        page.get_by_role("link", name="Edit", exact=True).click,
        then_path=re.compile(r"/tasks/\d+/edit/$"),
    )
    expect(page.get_by_role("heading", name="Edit task")).to_be_visible()
    title = page.get_by_label("Title")
    expect(title).to_have_value("Write report")

    def save():
        title.fill("Write the report")
        page.get_by_role("button", name="Save").click()

    flow.act(save, then_path="/tasks/", message="Saved “Write the report”.")
    flow.expect_titles("Write the report", "Call mom", "Buy milk")
    flow.expect_counter("1 item left")

    flow.act(
        page.get_by_role("button", name="Delete “Call mom”").click,
        then_path="/tasks/",
        message="Moved “Call mom” to the trash.",
    )
    flow.expect_titles("Write the report", "Buy milk")
    flow.expect_counter("1 item left")

    flow.act(
        page.get_by_role("button", name="Clear completed (1)").click,
        then_path="/tasks/",
        message="Moved “Buy milk” to the trash.",
    )
    flow.expect_titles("Write the report")
    flow.expect_counter("1 item left")
    expect(
        page.get_by_role("button", name=re.compile("Clear completed"))
    ).to_have_count(0)

    user = django_user_model.objects.get(username="dana")
    assert list(Task.objects.for_user(user).values_list("title", "completed")) == [
        ("Write the report", False)
    ]

    flow.act(
        page.get_by_role("button", name="Log out").click,
        then_path="/accounts/login/",
    )
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)

    # Logged out for real: the list sends us to the login page.
    page.goto(live_server.url + "/tasks/")
    expect(page).to_have_url(live_server.url + "/accounts/login/?next=/tasks/")


def test_edit_link_on_the_list_returns_to_the_filter(new_page, live_server, user):
    # Without JavaScript; with it, Edit opens the inline editor instead
    # (test_in_place.py).
    js = False
    Task.objects.for_user(user).create(title="Write report")
    page = new_page(js=js)
    log_in(page, live_server.url, user.username)
    flow = Workflow(page, live_server.url, js)
    flow.goto("/tasks/?status=active")

    # Fail fast on the error status, rather than after waiting for a page
    # that (with htmx) never replaces the list.
    with page.expect_response(re.compile(r"/edit/\?next=")) as response:
        page.get_by_role("link", name="Edit “Write report”").click()
    assert response.value.status == 200
    expect(page).to_have_url(
        re.compile(r"/tasks/\d+/edit/\?next=/tasks/%3Fstatus%3Dactive$")
    )
    title = page.get_by_label("Title")
    expect(title).to_have_value("Write report")

    def save():
        title.fill("Write the report")
        page.get_by_role("button", name="Save").click()

    flow.act(save, then_path="/tasks/?status=active", message="Saved")
    flow.expect_titles("Write the report")
