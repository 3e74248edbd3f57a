"""The add form works from the keyboard alone, and focus is always visible."""

import pytest
from playwright.sync_api import expect

from .conftest import log_in, wait_for_htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
        id: el.id, tag: el.tagName.toLowerCase(),
        name: el.getAttribute("aria-label") || el.textContent.trim() || el.name,
        outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
        inViewport: box.right > 0 && box.bottom > 0
            && box.left < innerWidth && box.top < innerHeight,
        isBody: el === document.body,
    };
}"""


def _start_from_the_top(page) -> None:
    # Focus the body itself, which moves the browser's sequential focus
    # starting point to the top, as if the page had just been opened.
    page.evaluate(
        """() => {
            document.body.tabIndex = -1;
            document.body.focus();
            document.body.removeAttribute("tabindex");
        }"""
    )
    assert page.evaluate(FOCUSED)["isBody"], page.evaluate(FOCUSED)


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_add_form_works_with_the_keyboard_alone(js, new_page, live_server, user):
    page = new_page(js=js)
    log_in(page, live_server.url, user.username)

    # The input has focus as soon as the list loads (autofocus).
    expect(page.get_by_label("New task")).to_be_focused()

    # From the top of the page, Tab reaches it too: first the skip link,
    # which then shows on screen, then the header, then the input.
    _start_from_the_top(page)
    page.keyboard.press("Tab")
    skip = page.evaluate(FOCUSED)
    assert skip["name"] == "Skip to content"
    assert skip["inViewport"], "the skip link stays off screen when focused"
    for _ in range(10):
        if page.evaluate(FOCUSED)["id"] == "new-title":
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("ten Tabs from the top did not reach the new-task input")

    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Enter")
    expect(page.locator("#task-list .task .title")).to_have_text(
        ["Typed without a mouse"]
    )
    expect(page.locator(".messages")).to_contain_text("Added “Typed without a mouse”.")

    # Focus is back in the input (htmx honours autofocus in swapped content;
    # a full page load does anyway): the next task can be typed straight away.
    wait_for_htmx(page)
    expect(page.get_by_label("New task")).to_be_focused()
    page.keyboard.type("And another")
    page.keyboard.press("Enter")
    expect(page.locator("#task-list .task .title")).to_have_text(
        ["And another", "Typed without a mouse"]
    )
    # htmx moves focus to the autofocus input once the swap settles; wait for
    # it, or it would take focus from the toggle between focus() and Space.
    wait_for_htmx(page)
    expect(page.get_by_label("New task")).to_be_focused()

    # Space on the focused toggle button marks the task done.
    toggle = page.get_by_role("button", name="Mark “And another” as done")
    toggle.focus()
    page.keyboard.press("Space")
    expect(page.locator("#active-count")).to_have_text("1 item left")


def test_every_focusable_control_shows_a_visible_focus_ring(
    new_page, live_server, user
):
    page = new_page()
    log_in(page, live_server.url, user.username)
    page.get_by_label("New task").fill("A task")
    page.keyboard.press("Enter")
    expect(page.locator("#task-list .task")).to_have_count(1)
    # htmx moves focus to the autofocus input once the swap settles; wait for
    # it, or it would steal focus back in the middle of the walk.
    wait_for_htmx(page)
    expect(page.get_by_label("New task")).to_be_focused()

    # Walk the whole Tab order of the list page once, from the top.
    _start_from_the_top(page)
    seen, invisible = [], []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["isBody"] or (seen and focused == seen[0]):
            break
        seen.append(focused)
        if focused["outlineStyle"] == "none" or focused["outlineWidth"] <= 0:
            invisible.append(f"{focused['tag']} “{focused['name']}”")
    names = [item["name"] for item in seen]
    # Every control of the page is reachable, buttons included.
    for control in (
        "Skip to content",
        "Log out",
        "Add",
        "Mark “A task” as done",
        "Edit “A task”",
        "Delete “A task”",
        "Mark all as complete",
    ):
        assert control in names, f"{control!r} is not in the Tab order: {names}"
    assert not invisible, f"focused without a visible outline: {invisible}"
