from django import template

from tasks.views import UNDO_TAG

register = template.Library()


@register.filter
def undo_ids(message) -> list[str]:
    """The ids of the tasks a message's Undo button restores, if it has one."""
    for tag in message.extra_tags.split():
        if tag.startswith(UNDO_TAG):
            return [pk for pk in tag.removeprefix(UNDO_TAG).split(",") if pk]
    return []
