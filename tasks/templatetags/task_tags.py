from urllib.parse import unquote

from django import template
from django.urls import reverse
from django.utils.html import format_html

from tasks.views import UNDO_LIST_TAG, UNDO_TAG

register = template.Library()


@register.filter
def undo_ids(message) -> list[str]:
    """The ids of the tasks a message's Undo button restores, if it has one."""
    for tag in message.extra_tags.split():
        if tag.startswith(UNDO_TAG):
            return [pk for pk in tag.removeprefix(UNDO_TAG).split(",") if pk]
    return []


@register.filter
def undo_list_name(message) -> str:
    """The name of the deleted list that an Undo makes again, if any."""
    for tag in message.extra_tags.split():
        if tag.startswith(UNDO_LIST_TAG):
            return unquote(tag.removeprefix(UNDO_LIST_TAG))
    return ""


# The Undo form in base.html's messages. Read with context.get(): a variable
# missing from a page's context would be a failed lookup, which Django logs
# (at DEBUG) with the whole context in it.


@register.simple_tag(takes_context=True)
def undo_next(context) -> str:
    """Where Undo returns to: the list page (``here``) the message belongs
    to, even in a fragment answering a POST elsewhere; else this page."""
    return context.get("here") or context["request"].get_full_path()


@register.simple_tag(takes_context=True)
def undo_in_place(context) -> str:
    """On the task list, Undo restores in place: htmx swaps the list."""
    if not context.get("undo_in_place"):
        return ""
    return format_html(
        ' hx-post="{}" hx-target="#task-list" hx-swap="outerHTML"',
        reverse("tasks:restore"),
    )
