"""The task list with JavaScript on: actions change the list in place and the
user keeps their place (contract, "The task list with JavaScript on").

Measured as a person notices it: the scroll position, which element has
keyboard focus, whether a row moves when a message shows up. The add form's
errors and details are also checked with JavaScript off.
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tasks.models import Task
from tests.factories import make_tasks

from .conftest import log_in, save_screenshot, wait_for_htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACTIVE = """() => {
    const el = document.activeElement;
    return {id: el.id, label: el.getAttribute("aria-label"), tag: el.tagName,
            row: el.closest("li.task") ? el.closest("li.task").id : null};
}"""


def open_list(new_page, live_server, user, path="/tasks/", **options):
    page = new_page(**options)
    log_in(page, live_server.url, user.username)
    if path != "/tasks/":
        page.goto(live_server.url + path)
        wait_for_htmx(page)
    # A full page load forgets this; an in-place swap keeps it.
    page.evaluate("window.__marker = 1")
    return page


def same_document(page) -> bool:
    return page.evaluate("window.__marker") == 1


def focused(page) -> dict:
    return page.evaluate(ACTIVE)


def toggle_label(title: str, done: bool = False) -> str:
    return f"Mark “{title}” as {'not done' if done else 'done'}"


def messages(page):
    return page.get_by_role("status")


@pytest.fixture
def fifty(user) -> list[Task]:
    # make_tasks gives one creation time to all: order them, newest first,
    # so "Task 49" is the first row and "Task 0" the last.
    tasks = make_tasks(user, 50)
    now = tasks[0].created_at
    for n, task in enumerate(tasks):
        Task.unscoped.filter(pk=task.pk).update(created_at=now + timedelta(seconds=n))
    return tasks


def row(page, title: str):
    return page.locator("#task-list li.task").filter(
        has=page.get_by_role("link", name=title, exact=True)
    )


# --- Toggle and delete keep the scroll position and the focus -------------------


def test_toggle_and_delete_far_down_keep_scroll_and_focus(
    new_page, live_server, user, fifty
):
    page = open_list(new_page, live_server, user)
    # The 45th row of 50 (Task 5), scrolled to the middle of the window.
    toggle = page.get_by_role("button", name=toggle_label("Task 5"))
    toggle.evaluate("el => el.scrollIntoView({block: 'center'})")
    before = page.evaluate("window.scrollY")
    assert before > 1000

    toggle.focus()
    page.keyboard.press("Enter")
    expect(messages(page)).to_contain_text("Completed “Task 5”.")
    wait_for_htmx(page)
    assert page.evaluate("window.scrollY") == before
    assert focused(page)["label"] == toggle_label("Task 5", done=True)
    expect(page.locator("#active-count")).to_have_text("49 items left")
    expect(page.get_by_role("button", name="Clear completed (1)")).to_be_visible()

    page.get_by_role("button", name="Delete “Task 5”").click()
    expect(messages(page)).to_contain_text("Moved “Task 5” to the trash.")
    wait_for_htmx(page)
    assert page.evaluate("window.scrollY") == before
    # The next row's toggle has the focus.
    assert focused(page)["label"] == toggle_label("Task 4")
    expect(row(page, "Task 5")).to_have_count(0)
    expect(page.locator("#active-count")).to_have_text("49 items left")
    clear = page.get_by_role("button", name=re.compile("Clear completed"))
    expect(clear).to_have_count(0)
    assert same_document(page)
    assert Task.objects.for_user(user).count() == 49


def test_focus_after_delete_goes_next_else_previous_else_to_the_input(
    new_page, live_server, user
):
    tasks = Task.objects.for_user(user)
    tasks.create(title="Older")
    tasks.create(title="Newer")
    page = open_list(new_page, live_server, user)

    page.get_by_role("button", name="Delete “Newer”").click()
    expect(row(page, "Newer")).to_have_count(0)
    wait_for_htmx(page)
    assert focused(page)["label"] == toggle_label("Older")  # the next row

    tasks.create(title="Newest")
    page.reload()
    wait_for_htmx(page)
    page.get_by_role("button", name="Delete “Older”").click()
    expect(row(page, "Older")).to_have_count(0)
    wait_for_htmx(page)
    assert focused(page)["label"] == toggle_label("Newest")  # the previous row

    page.get_by_role("button", name="Delete “Newest”").click()
    expect(page.locator("#task-list")).to_contain_text("No tasks yet")
    wait_for_htmx(page)
    assert focused(page)["id"] == "new-title"  # no rows left
    expect(page.locator("#active-count")).to_have_count(0)


def test_create_adds_the_row_on_top_and_empties_the_focused_input(
    new_page, live_server, user, fifty
):
    page = open_list(new_page, live_server, user)
    page.get_by_label("New task").fill("Fresh one")
    page.keyboard.press("Enter")
    expect(page.locator("#task-list .task .title").first).to_have_text("Fresh one")
    expect(messages(page)).to_contain_text("Added “Fresh one”.")
    wait_for_htmx(page)
    assert focused(page)["id"] == "new-title"
    expect(page.get_by_label("New task")).to_have_value("")
    expect(page.locator("#active-count")).to_have_text("51 items left")
    assert same_document(page)

    # On a filter that does not show it, the row does not appear.
    page.goto(live_server.url + "/tasks/?status=completed")
    wait_for_htmx(page)
    page.get_by_label("New task").fill("Not shown here")
    page.keyboard.press("Enter")
    expect(messages(page)).to_contain_text("Added “Not shown here”.")
    expect(page.locator("#task-list")).to_contain_text("Nothing completed yet")


def test_a_message_never_moves_the_list(new_page, live_server, user, fifty):
    page = open_list(new_page, live_server, user)
    first = row(page, "Task 49")
    top = first.evaluate("el => el.getBoundingClientRect().top")
    page.get_by_role("button", name=toggle_label("Task 48")).click()
    expect(messages(page)).to_contain_text("Completed “Task 48”.")
    wait_for_htmx(page)
    assert first.evaluate("el => el.getBoundingClientRect().top") == top
    # A plain page load with a message on it puts the list where it was too.
    page.reload()
    expect(messages(page)).to_be_empty()
    assert first.evaluate("el => el.getBoundingClientRect().top") == top


# --- Undo from the message ------------------------------------------------------


def test_undo_brings_back_a_deleted_task_and_a_cleared_batch(
    new_page, live_server, user
):
    tasks = Task.objects.for_user(user)
    tasks.create(title="Done one", completed=True)
    tasks.create(title="Done two", completed=True)
    tasks.create(title="Keep")
    page = open_list(new_page, live_server, user)

    page.get_by_role("button", name="Delete “Keep”").click()
    expect(messages(page)).to_contain_text("Moved “Keep” to the trash.")
    messages(page).get_by_role("button", name="Undo").click()
    expect(messages(page)).to_contain_text("Restored “Keep”.")
    expect(row(page, "Keep")).to_have_count(1)
    wait_for_htmx(page)
    assert focused(page)["label"] == toggle_label("Keep")
    expect(page.locator("#active-count")).to_have_text("1 item left")

    page.get_by_role("button", name="Clear completed (2)").click()
    expect(messages(page)).to_contain_text("to the trash.")
    expect(page.locator("#task-list .task")).to_have_count(1)
    messages(page).get_by_role("button", name="Undo").click()
    expect(messages(page)).to_contain_text("Restored")
    expect(page.locator("#task-list .task .title")).to_have_text(
        ["Keep", "Done two", "Done one"]
    )
    expect(page.get_by_role("button", name="Clear completed (2)")).to_be_visible()
    assert same_document(page)
    assert tasks.count() == 3


# --- Inline edit ----------------------------------------------------------------


def test_inline_edit_saves_on_enter_and_on_blur_and_escape_cancels(
    new_page, live_server, user
):
    task = Task.objects.for_user(user).create(
        title="Old title", description="Keep me", completed=True
    )
    page = open_list(new_page, live_server, user)
    editor = page.locator(f"#edit-{task.pk}")

    # Double-click: a focused input with the text selected.
    page.get_by_role("link", name="Old title", exact=True).dblclick()
    expect(editor).to_be_focused()
    selected = "el => el.value.slice(el.selectionStart, el.selectionEnd)"
    assert editor.evaluate(selected) == "Old title"
    page.keyboard.type("New title")
    page.keyboard.press("Enter")
    expect(messages(page)).to_contain_text("Saved “New title”.")
    expect(page.get_by_role("link", name="New title", exact=True)).to_be_visible()
    wait_for_htmx(page)
    assert focused(page)["row"] == f"task-{task.pk}"
    task.refresh_from_db()
    # Only the title changed.
    assert (task.title, task.description, task.completed) == (
        "New title",
        "Keep me",
        True,
    )
    assert page.url == live_server.url + "/tasks/"

    # Escape puts the title back and saves nothing.
    page.get_by_role("link", name="Edit “New title”").click()
    expect(editor).to_be_focused()
    page.keyboard.type("Thrown away")
    page.keyboard.press("Escape")
    expect(editor).to_have_count(0)
    expect(page.get_by_role("link", name="New title", exact=True)).to_be_focused()

    # Leaving the input saves.
    page.get_by_role("link", name="New title", exact=True).dblclick()
    page.keyboard.type("Saved on blur")
    page.get_by_label("New task").focus()
    expect(messages(page)).to_contain_text("Saved “Saved on blur”.")
    wait_for_htmx(page)
    # Focus stays where the user went.
    assert focused(page)["id"] == "new-title"
    task.refresh_from_db()
    assert task.title == "Saved on blur"
    assert same_document(page)


def test_rows_keep_edit_and_delete_on_their_line_with_a_marker_or_the_editor(
    new_page, live_server, user
):
    # On a desktop a row is one line: a description's marker or the open
    # inline editor (in place of the title, which hides) push nothing onto a
    # second line, and Edit and Delete stay where the other rows have them.
    tasks = Task.objects.for_user(user)
    tasks.create(title="Plain")
    tasks.create(title="With notes", description="Sunday")
    editing = tasks.create(title="Being edited")
    page = open_list(new_page, live_server, user)
    page.get_by_role("link", name="Being edited", exact=True).dblclick()
    expect(page.locator(f"#edit-{editing.pk}")).to_be_focused()
    expect(page.get_by_role("link", name="Being edited", exact=True)).to_be_hidden()

    boxes = page.locator("#task-list li.task").evaluate_all(
        """rows => rows.map(row => ({
            height: row.getBoundingClientRect().height,
            edit: row.querySelector("a.edit").getBoundingClientRect().x,
            del: row.querySelector("button.danger").getBoundingClientRect().x,
        }))"""
    )
    assert len({box["edit"] for box in boxes}) == 1, boxes
    assert len({box["del"] for box in boxes}) == 1, boxes
    assert max(box["height"] for box in boxes) < 70, boxes  # one line, not two


def test_an_emptied_title_moves_the_task_to_the_trash_with_undo(
    new_page, live_server, user
):
    Task.objects.for_user(user).create(title="Doomed")
    page = open_list(new_page, live_server, user)
    page.get_by_role("link", name="Doomed", exact=True).dblclick()
    page.keyboard.press("Backspace")
    page.keyboard.press("Enter")
    expect(messages(page)).to_contain_text("Moved “Doomed” to the trash.")
    expect(row(page, "Doomed")).to_have_count(0)
    wait_for_htmx(page)
    assert focused(page)["id"] == "new-title"
    assert not Task.objects.for_user(user).exists()
    messages(page).get_by_role("button", name="Undo").click()
    expect(page.get_by_role("link", name="Doomed", exact=True)).to_be_visible()


def test_a_stale_inline_edit_overwrites_nothing_and_shows_the_conflict(
    new_page, live_server, user
):
    task = Task.objects.for_user(user).create(title="Original")
    page = open_list(new_page, live_server, user)
    page.get_by_role("link", name="Original", exact=True).dblclick()
    # Someone else renames it meanwhile (another tab, the API).
    Task.objects.for_user(user).filter(pk=task.pk).update(title="Changed elsewhere")
    page.keyboard.type("Mine")
    page.keyboard.press("Enter")

    editor = page.locator(f"#edit-{task.pk}")
    error = page.locator(f"#edit-{task.pk}-error")
    expect(error).to_contain_text("Changed somewhere else")
    expect(error).to_contain_text("“Changed elsewhere”")
    expect(editor).to_have_value("Mine")
    wait_for_htmx(page)
    expect(editor).to_be_focused()
    task.refresh_from_db()
    assert task.title == "Changed elsewhere"

    # Enter again saves on purpose.
    page.keyboard.press("Enter")
    expect(messages(page)).to_contain_text("Saved “Mine”.")
    task.refresh_from_db()
    assert task.title == "Mine"


# --- Another tab ------------------------------------------------------------------


@pytest.mark.parametrize("action", ["toggle", "delete", "edit"])
def test_a_task_deleted_in_another_tab_leaves_with_a_message(
    action, new_page, live_server, user, browsing
):
    tasks = Task.objects.for_user(user)
    tasks.create(title="Stays")
    gone = tasks.create(title="Gone soon")
    first = open_list(new_page, live_server, user)
    second = first.context.new_page()
    second.goto(live_server.url + "/tasks/")
    wait_for_htmx(second)

    second.get_by_role("button", name="Delete “Gone soon”").click()
    expect(messages(second)).to_contain_text("Moved “Gone soon” to the trash.")

    # The first tab still shows it; its answer is a 404, whose body removes
    # the row instead of replacing the list with an error page.
    browsing.expect_http_error(f"/tasks/{gone.pk}/{action}/")
    with first.expect_response(re.compile(rf"/tasks/{gone.pk}/")) as response:
        if action == "toggle":
            first.get_by_role("button", name=toggle_label("Gone soon")).click()
        elif action == "delete":
            first.get_by_role("button", name="Delete “Gone soon”").click()
        else:
            first.get_by_role("link", name="Gone soon", exact=True).dblclick()
            first.keyboard.type("Renamed")
            first.keyboard.press("Enter")
    assert response.value.status == 404
    expect(messages(first)).to_contain_text("deleted elsewhere")
    expect(row(first, "Gone soon")).to_have_count(0)
    expect(row(first, "Stays")).to_have_count(1)
    expect(first.get_by_role("heading", name="Tasks")).to_be_visible()
    assert same_document(first)
    assert Task.objects.trash_for(user).get().title == "Gone soon"


# --- The add form -------------------------------------------------------------------


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_a_blank_title_shows_the_error_and_keeps_the_text(
    js, new_page, live_server, user
):
    page = open_list(new_page, live_server, user, js=js)
    page.get_by_label("New task").fill("   ")
    page.get_by_label("New task").press("Enter")
    if js:
        # On the list itself, in place, next to the field.
        title = page.get_by_label("New task")
        expect(page.locator("#new-title-error")).to_contain_text(
            "Give the task a title. Nothing was saved."
        )
        assert same_document(page)
        assert page.url == live_server.url + "/tasks/"
        expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    else:
        # The form page, with the same field and its error (and the
        # description box), whose save returns to the list.
        title = page.get_by_label(re.compile("Title"))
        expect(page.get_by_text("Give the task a title.")).to_be_visible()
    expect(title).to_have_value("   ")
    expect(title).to_have_attribute("aria-invalid", "true")
    assert not Task.objects.for_user(user).exists()


def test_the_title_limit_is_visible_before_it_is_reached(new_page, live_server, user):
    page = open_list(new_page, live_server, user)
    title = page.get_by_label("New task")
    hint = page.locator("#new-title-hint")
    expect(hint).to_have_text("Up to 200 characters.")
    title.fill("x" * 190)
    title.press("End")
    page.keyboard.type("y")
    expect(hint).to_have_text("9 characters left.")
    page.keyboard.type("y" * 11)
    expect(hint).to_have_text("2 characters too many: the limit is 200.")
    # Nothing was cut: the server refuses it and the text stays.
    title.press("Enter")
    expect(page.locator("#new-title-error")).to_contain_text("at most 200")
    expect(title).to_have_value("x" * 190 + "y" * 12)


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_add_details_gives_a_description_and_the_row_shows_it(
    js, new_page, live_server, user
):
    page = open_list(new_page, live_server, user, js=js)
    page.get_by_label("New task").fill("With notes")
    page.get_by_text("Add details").click()
    page.get_by_label("Description").fill("Two lines\nof notes")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(messages(page)).to_contain_text("Added “With notes”.")
    marker = row(page, "With notes").locator(".has-description")
    expect(marker).to_have_count(1)
    expect(marker).to_contain_text("(has a description)")
    task = Task.objects.for_user(user).get()
    # (A plain form post sends its line break as CRLF, htmx as LF.)
    assert task.description.splitlines() == ["Two lines", "of notes"]
    # After a reload too (the list's own query).
    page.goto(live_server.url + "/tasks/")
    expect(row(page, "With notes").locator(".has-description")).to_have_count(1)


def test_trash_page_screenshot(new_page, live_server, user):
    tasks = Task.objects.for_user(user)
    for title in ("Renew passport", "Book dentist", "Call the plumber"):
        tasks.create(title=title)
    tasks.move_to_trash()
    page = open_list(new_page, live_server, user, path="/tasks/trash/")
    expect(page.locator("#trash-list .task")).to_have_count(3)
    # One fixed time in the picture, so it changes only when the page does.
    page.locator("#trash-list time").evaluate_all(
        "els => els.forEach(el => el.textContent = 'deleted 2 Mar 2026, 09:15 UTC')"
    )
    save_screenshot(page, "trash")
