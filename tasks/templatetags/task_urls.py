"""``{% next_path as next %}``: the page to go back to, for Cancel and Back.

The list passes its own path (filter and page) along as ``?next=``; a page
that offers a way back reads it here, through the same check the views use
(a same-site path, or nothing), so no page links back to another site.
"""

from django import template

from tasks.views import _next

register = template.Library()


@register.simple_tag(takes_context=True)
def next_path(context) -> str:
    return _next(context["request"])
