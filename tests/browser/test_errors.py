"""Error pages in the browser: they keep the site's layout and are shown even
when the request came from htmx."""

import pytest
from playwright.sync_api import expect

from tasks.models import Task

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_404_page_is_rendered_in_the_site_layout(browsing, new_page, live_server, user):
    page = new_page()
    log_in(page, live_server.url, user.username)
    browsing.expect_http_error("/tasks/999999/")

    response = page.goto(f"{live_server.url}/tasks/999999/")

    assert response.status == 404
    expect(page).to_have_title("Page not found · Todo")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("link", name="Todo")).to_be_visible()  # the header
    expect(page.locator(".card")).to_have_css("border-top-left-radius", "12px")
    expect(page.get_by_role("link", name="Back to your tasks")).to_have_attribute(
        "href", "/tasks/"
    )


def test_link_to_a_deleted_task_shows_the_404_page_with_javascript(
    browsing, new_page, live_server, user
):
    task = Task.objects.for_user(user).create(title="Gone soon")
    page = new_page()
    log_in(page, live_server.url, user.username)
    browsing.expect_http_error(f"/tasks/{task.pk}/")
    browsing.expect_http_error("/static/js/htmx.min.js")
    Task.objects.for_user(user).filter(pk=task.pk).delete()  # in another tab

    page.get_by_role("link", name="Gone soon", exact=True).click()

    expect(page.get_by_role("heading", name="Page not found")).to_be_visible(
        timeout=2_000
    )
    expect(page).to_have_url(f"{live_server.url}/tasks/{task.pk}/")
