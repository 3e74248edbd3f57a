"""The requests the bench sends: names, labels and the status that means success.

Shared by the load process and the report (which must not import Locust:
importing it patches the standard library for gevent).
"""

# What a run can measure, in the order it measures them.
KINDS = [
    "list",
    "list_active",
    "list_completed",
    "list_page",
    "toggle",
    "create",
    "edit",
    "delete",
    "api",
]

LABELS = {
    "list": "GET /tasks/ (all, page 1)",
    "list_active": "GET /tasks/?status=active",
    "list_completed": "GET /tasks/?status=completed",
    "list_page": "GET /tasks/?page=N (middle page)",
    "toggle": "POST /tasks/<id>/toggle/",
    "create": "POST /tasks/new/",
    "edit_form": "GET /tasks/<id>/edit/",
    "edit_save": "POST /tasks/<id>/edit/",
    "delete": "POST /tasks/<id>/delete/",
    "api": "GET /api/tasks (Bearer token)",
}

EXPECTED = {
    "login": 302,
    "list": 200,
    "list_active": 200,
    "list_completed": 200,
    "list_page": 200,
    "toggle": 302,
    "create": 302,
    "edit_form": 200,
    "edit_save": 302,
    "delete": 302,
    "api": 200,
}

# A kind is one cell of the bench; most are one request, an edit is two.
KIND_STEPS = {"edit": ["edit_form", "edit_save"]}
WRITE_KINDS = {"toggle", "create", "edit", "delete"}


def steps(kind: str) -> list[str]:
    return KIND_STEPS.get(kind, [kind])
