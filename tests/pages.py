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


def rows(response) -> dict[int, str]:
    """The task rows the page shows (the list or the trash): id to title, in order."""
    found = re.findall(
        r'<li class="task[^"]*" id="task-(\d+)"[^>]*>(.*?)</li>', _body(response), re.S
    )
    # A list row's title is <a class="title"><span>, a trash row's <span class="title">.
    title = r'class="title"[^>]*>(.*?)</(?:a|span)>'
    return {int(pk): _text(re.search(title, row, re.S)[1]) for pk, row in found}


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
