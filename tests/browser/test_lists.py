"""Lists and search as a new user meets them (issue #15; contract, "Lists and
search"): make a list, fill it, move a task out of it, search, delete the
list and take it back with Undo. With JavaScript on every step after the
first page is an htmx swap (boosted links and forms, hx-post controls); with
it off every step is a full page load. Then the lists menu on a phone (a
menu that opens on a tap) and on a desktop (a sidebar), and axe-core on the
new pages.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from tasks.models import Task, TaskList

from .conftest import DESKTOP, PHONE, log_in, save_screenshot, wait_for_htmx
from .test_accessibility import AxeTour

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A title as a user may type it: it must show as these characters, never as
# markup, even where a search marks a word inside it.
TAGGED = "<mark>Milk</mark> & <b>honey</b>"
# A match inside a word, with a space after it that must still show.
BUTTERMILK = "Buttermilk for pancakes"


class Lists:
    """One user's browser tab, and how every action is expected to happen:
    in place with JavaScript (the page's ``window.__marker`` survives), by a
    new page load without it."""

    def __init__(self, page: Page, base_url: str, js: bool):
        self.page = page
        self.base_url = base_url
        self.js = js

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)
        wait_for_htmx(self.page)
        self.mark()

    def mark(self) -> None:
        self.page.evaluate("window.__marker = 1")

    def act(self, action, *, then_path: str | re.Pattern, message: str = "") -> None:
        if not self.js:
            self.mark()
        action()
        if message:
            expect(self.page.get_by_role("status")).to_contain_text(message)
        if isinstance(then_path, str):
            then_path = re.compile(re.escape(self.base_url + then_path) + "$")
        expect(self.page).to_have_url(then_path)
        wait_for_htmx(self.page)
        same = self.page.evaluate("window.__marker") == 1
        if self.js:
            assert same, "a full page load, not an htmx swap"
        else:
            assert not same, "the action did not load a page"
            self.mark()

    # --- what the page shows --------------------------------------------------

    @property
    def menu(self):
        return self.page.get_by_role("navigation", name="Lists")

    def expect_menu(self, *entries: tuple[str, int]) -> None:
        """The menu's lists, in order, each with its count of active tasks
        (the due views, Today and Upcoming, left out)."""
        links = self.menu.locator("li a").filter(has_not_text=" due")
        expect(links).to_have_text(
            [f"{name} {count} active" for name, count in entries]
        )

    def expect_titles(self, *titles: str) -> None:
        items = self.page.locator("#task-list .task .title")
        if titles:
            expect(items).to_have_text(list(titles))
        else:
            expect(items).to_have_count(0)

    def open_list(self, name: str, list_id: int) -> None:
        self.act(
            self.menu.get_by_role(
                "link", name=re.compile(rf"^{re.escape(name)} ")
            ).click,
            then_path=f"/tasks/?list={list_id}",
        )
        expect(self.page.get_by_role("heading", level=1)).to_have_text(name)

    # --- actions ----------------------------------------------------------------

    def add(self, title: str, *, path: str) -> None:
        def action():
            self.page.get_by_label("New task").fill(title)
            self.page.get_by_role("button", name="Add", exact=True).click()

        self.act(action, then_path=path, message=f"Added “{title}”.")

    def search(self, words: str, *, path: str) -> None:
        def action():
            self.page.get_by_role("searchbox", name=re.compile("^Search")).fill(words)
            self.page.get_by_role("button", name="Search", exact=True).click()

        self.act(action, then_path=path)


def _list_named(user, name: str) -> TaskList:
    return TaskList.objects.for_user(user).get(name=name)


def _titles_in(user, name: str) -> list[str]:
    tasks = Task.objects.for_user(user).filter(list__name=name)
    return sorted(tasks.values_list("title", flat=True))


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_a_list_from_creation_to_undone_deletion(js, new_page, live_server, user):
    page = new_page(js=js)
    log_in(page, live_server.url, user.username)
    flow = Lists(page, live_server.url, js)
    inbox = _list_named(user, "Inbox")
    flow.goto("/lists/")

    # --- Create a list: it opens, empty, and the menu has it. -------------------
    def create():
        page.get_by_label("New list").fill("Groceries")
        page.get_by_role("button", name="Create").click()

    flow.act(
        create,
        then_path=re.compile(r"/tasks/\?list=\d+$"),
        message="Created the list “Groceries”.",
    )
    groceries = _list_named(user, "Groceries")
    here = f"/tasks/?list={groceries.pk}"
    expect(page).to_have_url(live_server.url + here)
    expect(page.get_by_role("heading", level=1)).to_have_text("Groceries")
    expect(page.locator("#task-list")).to_contain_text("No tasks yet")
    flow.expect_menu(("All tasks", 0), ("Inbox", 0), ("Groceries", 0))
    expect(
        flow.menu.get_by_role("link", name=re.compile("^Groceries"))
    ).to_have_attribute("aria-current", "page")

    # --- Add tasks to it: they show here, the counts follow. -------------------
    expect(page.get_by_label("New task in Groceries")).to_be_visible()
    flow.add(BUTTERMILK, path=here)
    flow.expect_menu(("All tasks", 1), ("Inbox", 0), ("Groceries", 1))
    flow.add("Bread", path=here)
    flow.add(TAGGED, path=here)
    flow.expect_titles(TAGGED, "Bread", BUTTERMILK)
    expect(page.locator("#active-count")).to_have_text("3 items left")
    flow.expect_menu(("All tasks", 3), ("Inbox", 0), ("Groceries", 3))
    assert _titles_in(user, "Groceries") == sorted([TAGGED, "Bread", BUTTERMILK])

    # The Inbox does not show them.
    flow.open_list("Inbox", inbox.pk)
    expect(page.locator("#task-list")).to_contain_text("No tasks yet")
    flow.open_list("Groceries", groceries.pk)
    flow.expect_titles(TAGGED, "Bread", BUTTERMILK)

    # --- Move one to the Inbox from its edit page. ----------------------------
    flow.act(
        page.get_by_role("link", name="Bread", exact=True).click,
        then_path=re.compile(r"/tasks/\d+/$"),
    )
    flow.act(
        page.get_by_role("link", name="Edit", exact=True).click,
        then_path=re.compile(r"/tasks/\d+/edit/(\?next=.*)?$"),
    )
    where = page.get_by_label("List")
    expect(where.locator("option:checked")).to_have_text("Groceries")

    def move():
        where.select_option(label="Inbox")
        page.get_by_role("button", name="Save").click()

    flow.act(move, then_path=re.compile(r"/tasks/.*"), message="Saved “Bread”.")
    assert _titles_in(user, "Inbox") == ["Bread"]
    flow.open_list("Groceries", groceries.pk)
    flow.expect_titles(TAGGED, BUTTERMILK)
    flow.expect_menu(("All tasks", 3), ("Inbox", 1), ("Groceries", 2))
    flow.open_list("Inbox", inbox.pk)
    flow.expect_titles("Bread")
    flow.open_list("Groceries", groceries.pk)

    # --- Search in the list: matches marked, typed markup stays text. ----------
    flow.search("milk", path=f"{here}&q=milk")
    expect(page.locator("#search-summary")).to_contain_text("2 tasks match “milk”.")
    flow.expect_titles(TAGGED, BUTTERMILK)
    titles = page.locator("#task-list .task .title")
    # The title's own "<mark>" is text; the only <mark> elements are the
    # search's, one around each match.
    expect(titles.locator("mark")).to_have_text(["Milk", "milk"])
    expect(titles.first.locator("b")).to_have_count(0)
    assert titles.first.evaluate("el => el.textContent") == TAGGED
    assert "Butter<mark>milk</mark> for" in titles.nth(1).evaluate("el => el.innerHTML")
    # As rendered (innerText follows the layout): the marks take no space
    # away from the words around them.
    assert titles.evaluate_all("els => els.map(el => el.innerText)") == [
        TAGGED,
        BUTTERMILK,
    ]
    expect(page.get_by_role("searchbox", name="Search in Groceries")).to_have_value(
        "milk"
    )

    # Nothing found: said so, and Clear search brings the list back.
    flow.search("pineapple", path=f"{here}&q=pineapple")
    expect(page.locator("#task-list")).to_contain_text("No tasks match “pineapple”.")
    expect(page.locator("#search-summary")).not_to_contain_text("match")
    flow.act(
        page.get_by_role("link", name="Clear search").click,
        then_path=re.compile(re.escape(live_server.url + here) + r"(&status=all)?$"),
    )
    flow.expect_titles(TAGGED, BUTTERMILK)
    expect(page.locator("#search-summary")).to_have_count(0)

    # --- Delete the list, then Undo from the message. --------------------------
    flow.act(
        flow.menu.get_by_role("link", name="Manage lists").click,
        then_path="/lists/",
    )
    flow.act(
        page.get_by_role("link", name="Delete “Groceries”").click,
        then_path=f"/lists/{groceries.pk}/delete/",
    )
    expect(page.locator("main")).to_contain_text(
        "Its tasks (2 active) move to the trash"
    )
    flow.act(
        page.get_by_role("button", name="Delete list").click,
        then_path="/tasks/",
        message="Deleted the list “Groceries” and moved its 2 tasks to the trash.",
    )
    flow.expect_menu(("All tasks", 1), ("Inbox", 1))
    flow.expect_titles("Bread")
    assert not TaskList.objects.for_user(user).filter(name="Groceries").exists()

    flow.act(
        page.get_by_role("status").get_by_role("button", name="Undo").click,
        then_path="/tasks/",
        message="Restored",
    )
    flow.expect_menu(("All tasks", 3), ("Inbox", 1), ("Groceries", 2))
    back = _list_named(user, "Groceries")
    assert _titles_in(user, "Groceries") == sorted([TAGGED, BUTTERMILK])
    flow.open_list("Groceries", back.pk)
    flow.expect_titles(TAGGED, BUTTERMILK)


def test_the_bulk_buttons_act_on_the_list_shown(new_page, live_server, user):
    groceries = TaskList.objects.for_user(user).create(name="Groceries")
    tasks = Task.objects.for_user(user)
    tasks.create(title="Bread", list=groceries, completed=True)
    tasks.create(title="Milk", list=groceries)
    tasks.create(title="Report", completed=True)  # the Inbox
    tasks.create(title="Call the bank")  # the Inbox
    page = new_page()
    log_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/tasks/?list={groceries.pk}")
    wait_for_htmx(page)

    # The button counts this list's completed tasks, and clears those.
    page.get_by_role("button", name="Clear completed (1)").click()
    expect(page.get_by_role("status")).to_contain_text("to the trash.")
    page.get_by_role("button", name="Mark all as complete").click()
    expect(page.get_by_role("status")).to_contain_text("Updated")
    wait_for_htmx(page)
    assert sorted(tasks.values_list("title", "completed")) == [
        ("Call the bank", False),
        ("Milk", True),
        ("Report", True),
    ]


# --- The menu: a menu on a phone, a sidebar on a desktop ----------------------


@pytest.fixture
def groceries(user) -> TaskList:
    task_list = TaskList.objects.for_user(user).create(name="Groceries")
    tasks = Task.objects.for_user(user)
    tasks.create(title=BUTTERMILK, list=task_list)
    tasks.create(title="Bread", list=task_list)
    tasks.create(title="Call the bank")  # the Inbox
    return task_list


def test_on_a_phone_the_lists_menu_opens_on_a_tap(
    new_page, live_server, user, groceries
):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(page, live_server.url, user.username)
    menu = page.locator(".lists-menu")
    link = page.get_by_role("link", name="Groceries 2 active")

    # Closed: one line saying where we are, above the list.
    summary = menu.locator("summary")
    expect(summary).to_have_text("Lists: All tasks")
    expect(link).to_be_hidden()
    menu_box = summary.bounding_box()
    card_box = page.locator("section.card").bounding_box()
    assert menu_box["y"] + menu_box["height"] <= card_box["y"], "not above the list"
    assert menu_box["height"] <= 60, f"the closed menu is {menu_box['height']}px tall"

    # Something says it opens: the browser's marker or the site's chevron.
    sign = summary.evaluate(
        """el => getComputedStyle(el).display === "list-item"
                 || getComputedStyle(el, "::after").width !== "auto"
                    && parseFloat(getComputedStyle(el, "::after").width) > 0"""
    )
    assert sign, "the closed menu shows no sign that it opens"

    summary.tap()
    expect(link).to_be_visible()
    link.tap()
    expect(page).to_have_url(f"{live_server.url}/tasks/?list={groceries.pk}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Groceries")
    expect(page.locator("#task-list .task .title")).to_have_text(["Bread", BUTTERMILK])
    # The new page's menu is closed again and says which list this is.
    expect(summary).to_have_text("Lists: Groceries")
    expect(link).to_be_hidden()

    summary.tap()
    page.get_by_role("link", name="Manage lists").tap()
    expect(page).to_have_url(f"{live_server.url}/lists/")
    expect(page.get_by_role("heading", name="Lists")).to_be_visible()


def test_on_a_desktop_the_lists_menu_is_a_sidebar(
    new_page, live_server, user, groceries
):
    page = new_page(viewport=DESKTOP)
    log_in(page, live_server.url, user.username)
    menu = page.get_by_role("navigation", name="Lists")
    link = menu.get_by_role("link", name="Groceries 2 active")
    # Shown without a click, beside the list rather than above it.
    expect(link).to_be_visible()
    expect(menu.get_by_role("link", name="Inbox 1 active")).to_be_visible()
    expect(menu.get_by_role("link", name="All tasks 3 active")).to_be_visible()
    side = page.locator(".lists-menu").bounding_box()
    card = page.locator("section.card").bounding_box()
    assert side["x"] + side["width"] <= card["x"], "the menu is not beside the list"
    assert abs(side["y"] - card["y"]) < 2, "the menu and the list do not line up"

    link.click()
    expect(page).to_have_url(f"{live_server.url}/tasks/?list={groceries.pk}")
    expect(page.locator("#task-list .task .title")).to_have_text(["Bread", BUTTERMILK])
    expect(menu.get_by_role("link", name="Groceries 2 active")).to_have_attribute(
        "aria-current", "page"
    )
    expect(menu.get_by_role("link", name="Inbox 1 active")).to_be_visible()


def test_screenshot_of_a_list_with_a_search(new_page, live_server, user, groceries):
    tasks = Task.objects.for_user(user)
    tasks.filter(title="Bread").update(completed=True)
    tasks.create(title="Oat milk, two cartons", list=groceries)
    TaskList.objects.for_user(user).create(name="Work")
    page = new_page(viewport=DESKTOP)
    log_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/tasks/?list={groceries.pk}&q=milk")
    wait_for_htmx(page)
    expect(page.locator("#task-list mark")).to_have_count(2)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the window"
    save_screenshot(page, "lists-desktop")


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_renaming_a_list_and_a_taken_name(js, new_page, browsing, live_server, user):
    groceries = TaskList.objects.for_user(user).create(name="Groceries")
    work = TaskList.objects.for_user(user).create(name="Work")
    page = new_page(js=js)
    log_in(page, live_server.url, user.username)
    flow = Lists(page, live_server.url, js)
    flow.goto("/lists/")

    def rename(row, name):
        def action():
            page.locator(f"#list-{row.pk}").get_by_role("textbox").fill(name)
            page.locator(f"#list-{row.pk}").get_by_role("button", name="Rename").click()

        return action

    flow.act(
        rename(groceries, "Shopping"),
        then_path="/lists/",
        message="Renamed the list to “Shopping”.",
    )
    names = page.locator(".list-row h2 a")
    expect(names).to_have_text(["Inbox", "Shopping", "Work"])

    # Another list's name, in other letters: refused at that list's field,
    # which has the focus, with what was typed kept, and nothing renamed.
    browsing.expect_http_error("/lists/")
    flow.act(rename(work, "SHOPPING"), then_path="/lists/")
    field = page.get_by_label("Name of “Work”")
    expect(field).to_have_value("SHOPPING")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(page.locator(f"#name-{work.pk}-error")).to_have_text(
        "You already have a list with this name. Not renamed."
    )
    expect(names).to_have_text(["Inbox", "Shopping", "Work"])
    assert TaskList.objects.for_user(user).get(pk=work.pk).name == "Work"
    assert TaskList.objects.for_user(user).get(pk=groceries.pk).name == "Shopping"


# --- axe-core ------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_lists_pages_have_no_serious_axe_violations(
    viewport, new_page, axe, browsing, live_server, user, groceries
):
    page = new_page(bypass_csp=True, base_url=live_server.url, viewport=viewport)
    tour = AxeTour(page, axe)
    width = viewport["width"]
    log_in(page, live_server.url, user.username)

    page.goto("/lists/")
    tour.check(f"lists ({width}px)")
    browsing.expect_http_error("/lists/")  # the form's error is a 400
    page.get_by_label("New list").fill("Groceries")  # already taken
    tour.submit("Create")
    tour.check(f"lists with an error ({width}px)")

    page.goto(f"/lists/{groceries.pk}/delete/")
    expect(page.get_by_role("button", name="Delete list")).to_be_visible()
    tour.check(f"delete list ({width}px)")

    page.goto(f"/tasks/?list={groceries.pk}")
    tour.check(f"list selected ({width}px)")
    if viewport is PHONE:
        page.locator(".lists-menu summary").click()
        tour.check(f"list selected, menu open ({width}px)")

    page.goto(f"/tasks/?list={groceries.pk}&q=milk")
    expect(page.locator("#task-list mark")).to_have_count(1)
    tour.check(f"search with results ({width}px)")

    page.goto(f"/tasks/?list={groceries.pk}&q=pineapple")
    expect(page.locator("#task-list")).to_contain_text("No tasks match")
    tour.check(f"search without results ({width}px)")

    tour.assert_no_blocking_violations()
