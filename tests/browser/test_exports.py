"""The account page's exports download a file, with JavaScript on (the page is
hx-boosted, and htmx must leave these links alone) and off."""

import csv
import io
import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tasks.models import Task

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLES = ["Ünïcödé — 漢字 😀", "=1+1", "Plain"]


@pytest.fixture
def tasks(user) -> list[Task]:
    mine = Task.objects.for_user(user)
    for title in TITLES:
        mine.create(title=title, description="Line one\nline two")
    mine.filter(title="Plain").update(completed=True)
    return list(mine)


def download(page, base_url: str, link_text: str):
    """Open the account page from the nav bar, as a user does, and click."""
    page.get_by_role("navigation", name="Account").get_by_role(
        "link", name="alice"
    ).click()
    expect(page).to_have_url(base_url + "/accounts/")
    with page.expect_download() as info:
        page.get_by_role("link", name=link_text).click()
    # The page is left as it was: no file text swapped in, no new address.
    expect(page).to_have_url(base_url + "/accounts/")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    return info.value


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_the_json_export_downloads_a_file(js, new_page, live_server, user, tasks):
    page = new_page(js=js)
    log_in(page, live_server.url, user.username)

    file = download(page, live_server.url, "Export tasks as JSON")

    assert file.suggested_filename == "tasks.json"
    text = Path(file.path()).read_bytes().decode("utf-8")
    assert "\\u" not in text
    rows = json.loads(text)
    assert {row["title"] for row in rows} == set(TITLES)
    assert all(
        list(row)
        == [
            "id",
            "title",
            "description",
            "completed",
            "created_at",
            "updated_at",
            "list_id",
            "due_date",
            "due_time",
            "recurrence",
            "recur_from",
        ]
        for row in rows
    )
    assert {row["title"]: row["completed"] for row in rows}["Plain"] is True


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_the_csv_export_downloads_a_file(js, new_page, live_server, user, tasks):
    page = new_page(js=js)
    log_in(page, live_server.url, user.username)

    file = download(page, live_server.url, "Export tasks as CSV")

    assert file.suggested_filename == "tasks.csv"
    raw = Path(file.path()).read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert {row["title"]: row["completed"] for row in rows} == {
        "Ünïcödé — 漢字 😀": "false",
        "'=1+1": "false",
        "Plain": "true",
    }
    assert {row["description"] for row in rows} == {"Line one\nline two"}
    assert all(row["created_at"].endswith("Z") for row in rows)
