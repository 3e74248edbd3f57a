"""The requests the bench sends, as a logged-in browser would.

Shared by the driver (its one-at-a-time batches) and the locustfile (the
load). Imports nothing of Locust: importing it patches the standard library
for gevent. ``send(method, path, name, data=None, headers=None)`` is the
caller's HTTP client; it returns a response with ``status_code`` and ``text``.
"""

import html
import itertools
import re
from urllib.parse import urlencode

SEARCH_WORD = "report"  # in about 1 title in 28 (bench/dataset.py): trigrams
KINDS = (  # noqa: SIM905 - one line, not eleven
    "list list_active list_completed list_page list_filter search "
    "toggle create edit delete api"
).split()
WRITES = {"toggle", "create", "edit", "delete"}
STEPS = {"edit": ["edit_form", "edit_save"]}
LABELS = {
    "list": "GET /tasks/ (all, page 1)",
    "list_active": "GET /tasks/?status=active",
    "list_completed": "GET /tasks/?status=completed",
    "list_page": "GET /tasks/?page=N (middle page)",
    "list_filter": "GET /tasks/?list=<id> (the Inbox)",
    "list_due": "GET /tasks/?due=today",
    "search": f"GET /tasks/?q={SEARCH_WORD}",
    "toggle": "POST /tasks/<id>/toggle/",
    "create": "POST /tasks/new/",
    "edit_form": "GET /tasks/<id>/edit/",
    "edit_save": "POST /tasks/<id>/edit/",
    "delete": "POST /tasks/<id>/delete/",
    "api": "GET /api/tasks (Bearer token)",
}
EXPECTED = {name: 302 if name in WRITES | {"edit_save"} else 200 for name in LABELS}
PAGE_SIZE = 50
VERSION = re.compile(r'name="version" value="([^"]*)"')


def steps(kind: str) -> list[str]:
    return STEPS.get(kind, [kind])


class Browser:
    """One data-set user: its session, its API token, its tasks.

    ``profile``: ``username``, ``sessionid``, ``csrftoken``, ``token``, ``ids``
    (tasks to toggle and edit), ``task_count`` and ``stock`` (tasks to delete).
    """

    def __init__(self, profile: dict, send, tag: str = "") -> None:
        self.profile = profile
        self.send = send
        self.tag = tag
        self.ids = itertools.cycle(profile["ids"])
        self.editing: list[tuple[int, str]] = []
        self.created = 0
        self.cookie = (
            f"sessionid={profile['sessionid']}; csrftoken={profile['csrftoken']}"
        )

    def get(self, path: str, name: str, **headers):
        return self.send("GET", path, name, headers={"Cookie": self.cookie, **headers})

    def post(self, path: str, name: str, **fields):
        fields["csrfmiddlewaretoken"] = self.profile["csrftoken"]
        headers = {
            "Cookie": self.cookie,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return self.send("POST", path, name, data=urlencode(fields), headers=headers)

    def step(self, name: str):
        """Send one request of step ``name``; returns the response."""
        if name.startswith("list"):
            query = {
                "list": "",
                "list_active": "?status=active",
                "list_completed": "?status=completed",
                "list_page": f"?page={self.middle_page}",
                "list_filter": f"?list={self.profile['list']}",
                "list_due": "?due=today",
            }[name]
            return self.get("/tasks/" + query, name)
        if name == "search":
            return self.get(f"/tasks/?q={SEARCH_WORD}", name)
        if name == "toggle":
            return self.post(f"/tasks/{next(self.ids)}/toggle/", name)
        if name == "create":
            self.created += 1
            title = f"Call Zoë about the “launch” & <b>budget</b> [{self.tag}"
            title += f"-{self.created}]"
            return self.post("/tasks/new/", name, title=title, description="Bring it.")
        if name == "edit_form":
            pk = next(self.ids)
            response = self.get(f"/tasks/{pk}/edit/", name)
            match = VERSION.search(response.text or "")
            self.editing.append((pk, html.unescape(match.group(1)) if match else ""))
            return response
        if name == "edit_save":
            pk, version = self.editing.pop(0)
            fields = {
                "title": f"Edited task {pk}",
                "description": "Edited.",
                "version": version,
            }
            return self.post(f"/tasks/{pk}/edit/", name, **fields)
        if name == "delete":
            return self.post(f"/tasks/{self.profile['stock'].pop()}/delete/", name)
        if name == "api":
            return self.get(
                "/api/tasks", name, Authorization=f"Bearer {self.profile['token']}"
            )
        raise ValueError(name)

    @property
    def middle_page(self) -> int:
        pages = max(1, -(-self.profile["task_count"] // PAGE_SIZE))
        return pages // 2 + 1 if pages > 1 else 1
