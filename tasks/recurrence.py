"""Placeholder until the recurrence engine lands (branch recurrence)."""

from django.core.exceptions import ValidationError

PRESETS = [
    ("", "Does not repeat"),
    ("FREQ=DAILY", "Daily"),
    ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "Every weekday"),
    ("FREQ=WEEKLY", "Weekly"),
    ("FREQ=MONTHLY", "Monthly"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", "Monthly on the last day"),
    ("FREQ=YEARLY", "Yearly"),
]


def validate(rule, start):
    if rule not in dict(PRESETS):
        raise ValidationError("Choose how it repeats.")
    return rule
