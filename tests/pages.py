"""What a page shows, read from its HTML.

Through the load balancer (tests/support/balancer.py) a response has no
template context, only its status, headers and body: the tests that read the
page with these run there as well as in-process.
"""

import html
import re


def _body(response) -> str:
    return response.content.decode()


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", fragment))


def version_of(response) -> str:
    """The edit form's hidden ``version``: the saved task it was opened on."""
    return re.search(r'name="version" value="([^"]+)"', _body(response))[1]


def csrf_token(response) -> str:
    """The CSRF token in the page's first form."""
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _body(response))[1]


def rows(response) -> dict[int, str]:
    """The task rows the page shows (the list or the trash): id to title, in order."""
    found = re.findall(
        r'<li class="task[^"]*" id="task-(\d+)"[^>]*>(.*?)</li>', _body(response), re.S
    )
    # A list row's title is <a class="title"><span>, a trash row's <span class="title">.
    title = r'class="title"[^>]*>(.*?)</(?:a|span)>'
    return {int(pk): _text(re.search(title, row, re.S)[1]) for pk, row in found}


def row_titles(response) -> list[str]:
    """The titles of the task rows the page shows, in order."""
    return list(rows(response).values())


def counters(response) -> dict[str, int]:
    """The counters the list page shows, by the view's names: all, active, completed."""
    patterns = {
        "all": r'id="search-summary">(\d+) tasks? match',
        "active": r'id="active-count"><strong>(\d+)</strong> items? left',
        "completed": r">Clear completed \((\d+)\)</button>",
    }
    body = _body(response)
    return {
        name: int(found[1])
        for name, pattern in patterns.items()
        if (found := re.search(pattern, body))
    }


def menu(response) -> list[tuple[str, int]]:
    """The lists menu beside the task list: each entry's name and count, in order."""
    nav = re.search(
        r'<nav aria-label="Lists" id="lists-nav".*?</nav>', _body(response), re.S
    )
    entry = r'<span class="name">(.*?)</span> <span class="count"[^>]*>(\d+)'
    return [(_text(name), int(count)) for name, count in re.findall(entry, nav[0])]


def list_counts(response) -> list[tuple[str, int]]:
    """The lists page's rows: each list's name and its active count, in order."""
    row = (
        r'<li class="list-row" id="list-\d+">\s*'
        r'<h2><a href="[^"]*">(.*?)</a> <span class="muted">(\d+) active</span>'
    )
    return [
        (_text(name), int(count)) for name, count in re.findall(row, _body(response))
    ]


def errors(response) -> dict[str, str]:
    """The error paragraphs beside fields, by id (``id_title_error``)."""
    found = re.findall(
        r'<p class="error" id="([^"]+)">(.*?)</p>', _body(response), re.S
    )
    return {id: _text(text) for id, text in found}


def signed_in_as(response) -> str | None:
    """The username the page's header names, or None if it names nobody."""
    account = re.search(
        r'<nav aria-label="Account">.*?<a href="/accounts/">(.*?)</a>',
        _body(response),
        re.S,
    )
    return _text(account[1]) if account else None


def form_fields(response, action: str) -> list[str]:
    """The names of the fields of the form posting to ``action``, but its CSRF token."""
    form = re.search(
        rf'<form method="post" action="{re.escape(action)}".*?</form>',
        _body(response),
        re.S,
    )
    names = re.findall(r'<(?:input|select|textarea)\b[^>]*?\bname="([^"]+)"', form[0])
    return [name for name in names if name != "csrfmiddlewaretoken"]


def admin_rows(response) -> list[dict[str, str]]:
    """The admin change list's rows: each cell's text by its field's name."""
    table = re.search(r'<table id="result_list">.*?</table>', _body(response), re.S)
    cell = r'<(?:td|th) class="field-(\w+)[^"]*"[^>]*>(.*?)</(?:td|th)>'
    return [
        {name: _text(text).strip() for name, text in re.findall(cell, row, re.S)}
        for row in re.findall(r"<tr\b.*?</tr>", table[0], re.S)
        if "field-" in row
    ]
