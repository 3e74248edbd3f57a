"""The task list on a phone (390 px): every control a finger can hit, and
titles that keep most of the row."""

import pytest
from playwright.sync_api import expect

from tasks.models import Task
from tests.factories import make_tasks

from .conftest import ARTIFACTS, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TARGET = 44  # CSS px, WCAG 2.5.5
LONG_TITLE = (
    "Renew the passport before the summer trip, and book the appointment at "
    "the town hall early because the queue is long in spring"
)

# Every control of the list page, by what it is (a selector and its name).
CONTROLS = """() => {
  const seen = [];
  const name = (el) => (el.getAttribute("aria-label") || el.textContent).trim();
  for (const el of document.querySelectorAll(
      "header a, header button, main a, main button, main input[type=text]")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown
    if (el.classList.contains("skip-link")) continue;   // shown on focus only
    seen.push({name: name(el) || el.outerHTML.slice(0, 60),
               width: box.width, height: box.height});
  }
  return seen;
}"""


@pytest.fixture
def phone_page(new_page, live_server, user):
    tasks = Task.objects.for_user(user)
    make_tasks(user, 60)  # two pages: the pagination links show
    tasks.create(title="Buy milk", completed=True)
    tasks.create(title=LONG_TITLE, description="Forms are on the website.")

    def open_page(scheme: str = "light"):
        page = new_page(
            viewport=PHONE, is_mobile=True, has_touch=True, color_scheme=scheme
        )
        log_in(page, live_server.url, user.username)
        return page

    return open_page


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_control_on_the_list_is_a_44px_touch_target(phone_page, scheme):
    page = phone_page(scheme)
    expect(page.locator(".pagination a")).to_have_count(1)
    controls = page.evaluate(CONTROLS)

    names = " | ".join(control["name"] for control in controls)
    for expected in ["Log out", "Add", "Active", "Older", "Mark all as complete"]:
        assert expected in names
    assert any(control["name"].startswith("Edit “") for control in controls)
    assert any(control["name"].startswith("Delete “") for control in controls)
    assert any(control["name"].startswith("Mark “") for control in controls)

    small = [
        f"{c['name']}: {c['width']:.0f} x {c['height']:.0f}"
        for c in controls
        if c["width"] < TARGET - 0.5 or c["height"] < TARGET - 0.5
    ]
    assert not small, "smaller than 44 x 44 CSS px:\n" + "\n".join(small)

    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"phone-{scheme}.png", full_page=False)


def test_a_long_title_keeps_most_of_the_row(phone_page):
    page = phone_page()
    row = page.locator(".task", has_text="Renew the passport")
    row_box = row.bounding_box()
    title_box = row.locator(".title").bounding_box()
    assert title_box["width"] >= 0.6 * row_box["width"], (title_box, row_box)
    # About 300 px of text on a 390 px screen: a few lines, not twelve.
    lines = title_box["height"] / 24
    assert lines <= 5, f"the title wraps to {lines:.0f} lines"
    # Edit and Delete are still there, and still whole targets.
    for name in ["Edit", "Delete"]:
        box = row.get_by_role("link" if name == "Edit" else "button", name=name)
        size = box.bounding_box()
        assert size["width"] >= TARGET - 0.5
        assert size["height"] >= TARGET - 0.5
