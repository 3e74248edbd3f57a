"""The JSON shapes of the task API, as the OpenAPI schema publishes them.

Types are checked here; the text rules (trimming, lengths, NUL) are checked by
``TaskForm`` and ``TaskListForm``, the same rules the HTML forms use. The
limits and patterns below repeat those rules in the schema so that clients and
schema-driven tests know them; they must describe what the forms enforce, not
add to them.
"""

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictInt,
)
from pydantic_core import PydanticCustomError

from . import recurrence
from .models import (
    DESCRIPTION_MAX_LENGTH,
    LIST_NAME_MAX_LENGTH,
    RECURRENCE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)

# The largest id a bigint primary key can hold; larger numbers are no task's.
MAX_ID = 2**63 - 1
MAX_LIMIT = 100
MAX_BULK_IDS = 1000


# The characters str.strip() removes (those str.isspace() is true for),
# spelled out: a JSON Schema pattern is an ECMA-262 regular expression, whose
# \s leaves out \x85 and \x1c-\x1f and adds \ufeff, so a client (or a test
# generator) reading "\s" there would accept titles the form trims to nothing.
SPACE = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a"
    r"\u2028\u2029\u202f\u205f\u3000"
)


def _trimmed_text_pattern(max_length: int, *, required: bool) -> str:
    """What TaskForm accepts, as a JSON Schema pattern: no NUL anywhere, and
    at most ``max_length`` characters (at least one if ``required``) once
    surrounding white space is trimmed.

    The limit counts the trimmed text, as the form does; a maxLength would
    count the white space too, and refuse a title the HTML form accepts.
    """
    solid = rf"[^{SPACE}\u0000]"
    text = rf"{solid}(?:[^\u0000]{{0,{max_length - 2}}}{solid})?"
    if not required:
        text = f"(?:{text})?"
    return rf"^[{SPACE}]*{text}[{SPACE}]*$"


TITLE_PATTERN = _trimmed_text_pattern(TITLE_MAX_LENGTH, required=True)
DESCRIPTION_PATTERN = _trimmed_text_pattern(DESCRIPTION_MAX_LENGTH, required=False)
LIST_NAME_PATTERN = _trimmed_text_pattern(LIST_NAME_MAX_LENGTH, required=True)

# Due dates and times in exactly one spelling each (the form would also take
# "12/24/2026" or seconds). A date that matches but does not exist
# (2026-02-30) is the form's to refuse, as `format: date` says too.
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# Only real times: a generator reading it makes nothing the form refuses.
TIME_PATTERN = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"


def _repeated(atom: str, low: int, high: int) -> str:
    if high == 0:
        return ""
    if low == high:
        return atom if low == 1 else f"{atom}{{{low}}}"
    return f"{atom}?" if (low, high) == (0, 1) else f"{atom}{{{low},{high}}}"


def _numbers_up_to(high: int) -> str:
    """A pattern for the whole numbers 1 to ``high``, without leading zeros."""
    digits = str(high)
    choices = []
    if len(digits) > 1:  # the shorter numbers
        shorter = len(digits) - 2
        choices.append("[1-9]" + _repeated("[0-9]", 0, shorter))
    for at, digit in enumerate(digits):  # same length: below high at one digit
        low, below, rest = int(at == 0), int(digit) - 1, len(digits) - at - 1
        if below >= low:
            choices.append(
                f"{digits[:at]}[{low}-{below}]" + _repeated("[0-9]", rest, rest)
            )
    choices.append(digits)
    return "|".join(choices)


def _plain_rules_pattern() -> str:
    """The rules with FREQ, INTERVAL and COUNT alone, within the limits
    ``tasks.recurrence`` sets, written as its normal form writes them.

    These are every rule that is valid from any due date (the due date is
    an occurrence of its own), so a schema-driven generator meets no refusal;
    BYDAY, BYMONTH, BYMONTHDAY, BYSETPOS and UNTIL are accepted too, but
    whether such a rule has a date in the next ten years depends on the due
    date (and today), which a pattern cannot say.
    """
    count = f"(?:;COUNT=(?:{_numbers_up_to(recurrence.MAX_COUNT)}))?"
    rules = [
        f"FREQ={freq}(?:;INTERVAL=(?:{_numbers_up_to(high)}))?{count}"
        for freq, high in recurrence.MAX_INTERVAL.items()
    ]
    return f"^(?:{'|'.join(rules)})?$"


RECURRENCE_PATTERN = _plain_rules_pattern()


def _encodable(value: str) -> str:
    # json.loads accepts "\ud800", a lone surrogate no database can store
    # as UTF-8; refuse it here rather than fail on INSERT.
    try:
        value.encode()
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "string_unicode", "Text must be valid Unicode (no lone surrogates)."
        ) from None
    return value


def _true_or_false(value: Any) -> Any:
    # Query strings are text; pydantic would also take "1", "yes", "on"...
    # The contract allows exactly two spellings.
    if value == "true":
        return True
    if value == "false":
        return False
    if isinstance(value, bool):
        return value
    raise PydanticCustomError("bool_parsing", "Input should be 'true' or 'false'.")


def _hh_mm(value: Any) -> Any:
    # A time as the API writes it, whatever seconds the database holds (the
    # HTML form takes 09:30:15).
    return f"{value:%H:%M}" if isinstance(value, time) else value


def _none_if_empty(value: Any) -> Any:
    # The database's "" (no rule) is the API's null.
    return None if value == "" else value


Title = Annotated[
    str,
    AfterValidator(_encodable),
    Field(
        json_schema_extra={"minLength": 1, "pattern": TITLE_PATTERN},
        description="1 to 200 characters once surrounding white space is trimmed.",
    ),
]
Description = Annotated[
    str,
    AfterValidator(_encodable),
    Field(
        json_schema_extra={"pattern": DESCRIPTION_PATTERN},
        description="At most 2,000 characters, trimmed.",
    ),
]
ListName = Annotated[
    str,
    AfterValidator(_encodable),
    Field(
        json_schema_extra={"minLength": 1, "pattern": LIST_NAME_PATTERN},
        description="1 to 100 characters once surrounding white space is "
        "trimmed; two of a user's lists cannot have the same name, ignoring case.",
    ),
]
CompletedQuery = Annotated[bool, BeforeValidator(_true_or_false)]
# tasks.dates.DUE_VIEWS (a test keeps them equal).
DueView = Literal["today", "upcoming", "overdue", "none"]
# tasks.models.RecurFrom's values (a test keeps them equal).
RecurFromValue = Annotated[
    Literal["due", "completion"],
    Field(
        description="`due`: the next task of the series falls on the rule's "
        "next date after the old due date (and today); `completion`: counted "
        "from the day the task is completed."
    ),
]
DueDate = Annotated[
    str,
    Field(
        pattern=DATE_PATTERN,
        json_schema_extra={"format": "date"},
        description="YYYY-MM-DD; a date that does not exist (2026-02-30) is 422.",
    ),
]
DueTime = Annotated[
    str,
    Field(
        pattern=TIME_PATTERN,
        description="HH:MM, 24-hour, wall-clock time in the owner's time zone.",
    ),
]
Recurrence = Annotated[
    str,
    AfterValidator(_encodable),
    Field(
        json_schema_extra={"pattern": RECURRENCE_PATTERN},
        description="An iCalendar RRULE (RFC 5545) in the supported subset: "
        "FREQ=DAILY, WEEKLY, MONTHLY or YEARLY; INTERVAL; BYDAY (weekday codes, "
        "with an ordinal such as 2MO or -1FR for monthly and yearly rules); "
        "BYMONTHDAY (-1: the last day; monthly and yearly); BYMONTH (yearly); "
        "BYSETPOS (monthly, with BYDAY); COUNT or UNTIL. At most "
        f"{RECURRENCE_MAX_LENGTH} characters; stored in a normal form (parts "
        "in a fixed order, INTERVAL=1 left out). The pattern gives the rules "
        "valid from any due date; the others are accepted if they have a date "
        "in the ten years from the due date (or today). Outside the subset "
        "(FREQ=SECONDLY, BYHOUR...): 422.",
    ),
]
ListId = Annotated[
    StrictInt,
    Field(description="One of the caller's lists (GET /api/lists); else 404."),
]
TaskId = Annotated[StrictInt, Field(description="A task id; others' ids are ignored.")]


# Request bodies are plain pydantic models: ninja's Schema also reads
# attributes off whatever it is given (it is made for ORM objects), so it would
# turn the JSON string "title" into {"title": "Title"} via str.title().


# A due time needs a due date: in JSON Schema, so that generators from the
# schema know it. (A PATCH's time goes on the stored date, if any: a task
# without one answers 422, which no schema can tell in advance.)
TIME_NEEDS_A_DATE = {
    "anyOf": [
        {"properties": {"due_time": {"type": "null"}}},
        {"properties": {"due_date": {"type": "string"}}, "required": ["due_date"]},
    ]
}
TIME_NEEDS_NO_NULL_DATE = {
    "anyOf": [
        {"properties": {"due_time": {"type": "null"}}},
        {"properties": {"due_date": {"type": "string"}}},
    ]
}


class TaskIn(BaseModel):
    model_config = ConfigDict(json_schema_extra=TIME_NEEDS_A_DATE)

    title: Title
    description: Description | None = Field(
        default=None, description="Optional; null or absent is stored as ''."
    )
    list_id: ListId | None = Field(
        default=None,
        description="The caller's list to add it to; null or absent: "
        "the Inbox. Another user's list (or none): 404, nothing created.",
    )
    due_date: DueDate | None = Field(
        default=None, description="When it is due; null or absent: no due date."
    )
    due_time: DueTime | None = Field(
        default=None,
        description="HH:MM on the due date, in the owner's time zone; only "
        "with a due_date (else 422 naming due_time).",
    )
    recurrence: Recurrence | None = Field(
        default=None,
        description="How it repeats (an RRULE); null, absent or '': it does not.",
    )
    recur_from: RecurFromValue = "due"


class TaskPatch(BaseModel):
    """Any subset of the fields; the ones left out keep their values."""

    model_config = ConfigDict(json_schema_extra=TIME_NEEDS_NO_NULL_DATE)

    # None means "not sent"; null itself is refused (only description takes
    # it), and ninja leaves these None defaults out of the schema.
    title: Title = None
    description: Description | None = Field(
        default=None, description="null clears it (stored as '')."
    )
    completed: StrictBool = None
    # Moves the task; null is refused (the Inbox has an id like any list).
    list_id: ListId = None
    due_date: DueDate | None = Field(
        default=None,
        description="null clears it, and the due time with it (sending a "
        "due_time with it is then 422 naming due_time).",
    )
    due_time: DueTime | None = Field(
        default=None,
        description="null clears it. A time for a task that has no due date, "
        "stored or sent: 422 naming due_time, and nothing changes.",
    )
    recurrence: Recurrence | None = Field(
        default=None, description="null or '': it no longer repeats."
    )
    recur_from: RecurFromValue = None


class TaskOut(Schema):
    id: int
    title: str
    description: str = Field(
        description="Always a string: '' when the task has no description."
    )
    completed: bool
    created_at: datetime
    updated_at: datetime
    list_id: int = Field(description="The list the task is in (GET /api/lists).")
    due_date: date | None = Field(description="YYYY-MM-DD, or null: no due date.")
    due_time: Annotated[DueTime | None, BeforeValidator(_hh_mm)] = Field(
        description="HH:MM in the owner's time zone, or null: none (or no date)."
    )
    recurrence: Annotated[str | None, BeforeValidator(_none_if_empty)] = Field(
        description="Its RRULE in normal form, or null: it does not repeat."
    )
    recur_from: RecurFromValue


class TrashedTaskOut(TaskOut):
    deleted_at: datetime = Field(description="When the task went to the trash.")


class BulkCompleteIn(BaseModel):
    task_ids: list[TaskId] = Field(max_length=MAX_BULK_IDS)


class BulkCompleteOut(Schema):
    updated: int = Field(description="How many of the ids were the caller's tasks.")


class TaskListIn(BaseModel):
    name: ListName


class TaskListPatch(BaseModel):
    """Any subset of the fields; the ones left out keep their values."""

    name: ListName = None


class TaskListOut(Schema):
    id: int
    name: str
    is_inbox: bool = Field(description="The Inbox: new tasks' default; undeletable.")
    active_count: int = Field(description="Its tasks not yet completed.")
    created_at: datetime


class Detail(Schema):
    detail: str


class FieldError(Schema):
    type: str = Field(description="A machine-readable error code.")
    loc: list[str | int] = Field(
        description='Where the error is, e.g. ["body", "payload", "title"] '
        'or ["query", "limit"].'
    )
    msg: str


class ValidationErrors(Schema):
    detail: list[FieldError]
