"""``{% time value %}``: how every page shows a moment, in one place.

A ``<time>`` element whose text is the moment in the current time zone with
the zone's abbreviation ("May 4, 2025, 3:07 p.m. UTC"), so a reader never has
to guess which zone a time is in, and whose ``datetime`` attribute is the
exact ISO 8601 value for machines.
"""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def time(value: datetime | None, empty: str = "") -> str:
    if value is None:
        return empty
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    # The locale's date and time format, then the zone: "T" is its abbreviation.
    shown = date_format(local, f"{get_format('DATETIME_FORMAT')} T")
    return format_html('<time datetime="{}">{}</time>', local.isoformat(), shown)
