"""Due dates and repeats as a new user meets them (issue #16): from the list,
give a task a due date, a time and a weekly repeat; complete it; the next
one of the series is there, a week later at the same time, and the menu's
Today and Upcoming count them. With JavaScript on (in place) and off.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tasks.models import Task

from .conftest import log_in, wait_for_htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_a_weekly_task_set_from_the_list_comes_back_a_week_later(
    js, new_page, live_server, user
):
    page = new_page(js=js)
    log_in(page, live_server.url, user.username)
    today = timezone.now().date()  # the user's zone and the browser's: UTC

    page.get_by_label("New task").fill("Water the plants")
    page.get_by_text("Add details").click()
    page.get_by_label("Due date").fill(today.isoformat())
    page.get_by_label("Time").fill("09:30")
    page.get_by_label("Repeat").select_option(label="Weekly")
    page.get_by_role("button", name="Add").click()
    wait_for_htmx(page)
    expect(page.get_by_role("status")).to_contain_text("Added “Water the plants”.")

    row = page.locator(".task", has_text="Water the plants")
    expect(row).to_have_count(1)
    expect(row.locator(".due")).to_contain_text("Today 09:30")
    expect(row.locator(".repeats")).to_have_text("↻ Repeats")
    menu = page.get_by_role("navigation", name="Lists")
    expect(menu.get_by_role("link", name="Today")).to_contain_text("1")

    row.get_by_role("button", name="Mark “Water the plants” as done").click()
    wait_for_htmx(page)
    following = today + timedelta(7)
    expect(page.get_by_role("status")).to_contain_text(
        f"The next one is due {following:%a} {following.day} {following:%b} 09:30."
    )
    rows = page.locator(".task", has_text="Water the plants")
    expect(rows).to_have_count(2)  # in place, the next one came at the top
    expect(rows.locator(".due")).to_contain_text(
        [f"{following:%a} {following.day} {following:%b} 09:30", "Today 09:30"]
    )
    saved = Task.objects.for_user(user).order_by("sequence")
    assert [(t.completed, t.due_date) for t in saved] == [
        (True, today),
        (False, following),
    ]
    expect(menu.get_by_role("link", name="Upcoming")).to_contain_text("1")
    expect(menu.get_by_role("link", name="Today")).to_contain_text("0")


def test_an_overdue_task_says_so_in_words(new_page, live_server, user):
    yesterday = timezone.now().date() - timedelta(1)
    Task.objects.for_user(user).create(title="Pay rent", due_date=yesterday)
    page = new_page()
    log_in(page, live_server.url, user.username)
    page.get_by_role("navigation", name="Lists").get_by_role(
        "link", name="Today"
    ).click()
    wait_for_htmx(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    expect(page.locator(".task .due")).to_have_text("Overdue: Yesterday")


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_changing_the_time_zone_moves_the_times_shown(js, new_page, live_server, user):
    task = Task.objects.for_user(user).create(title="Stamped")
    page = new_page(js=js)
    log_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/tasks/{task.pk}/")
    created = page.locator("dd time").first
    expect(created).to_contain_text("UTC")
    utc_text = created.inner_text()

    page.goto(f"{live_server.url}/accounts/")
    expect(page).to_have_title("Your account · Todo")
    page.get_by_role("combobox", name="Time zone").fill("Asia/Kolkata")
    page.get_by_role("button", name="Set time zone").click()
    wait_for_htmx(page)
    expect(page.get_by_role("status")).to_contain_text("Time zone set to Asia/Kolkata.")

    page.goto(f"{live_server.url}/tasks/{task.pk}/")
    expect(created).to_contain_text("IST")
    assert created.inner_text() != utc_text  # 5 h 30 later on the clock
