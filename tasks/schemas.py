"""The JSON shapes of the task API, as the OpenAPI schema publishes them.

Types are checked here; the text rules (trimming, lengths, NUL) are checked by
``TaskForm`` and ``TaskListForm``, the same rules the HTML forms use. The
limits and patterns below repeat those rules in the schema so that clients and
schema-driven tests know them; they must describe what the forms enforce, not
add to them.
"""

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    StrictBool,
    StrictInt,
)
from pydantic_core import PydanticCustomError

from .models import DESCRIPTION_MAX_LENGTH, LIST_NAME_MAX_LENGTH, TITLE_MAX_LENGTH

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
ListId = Annotated[
    StrictInt,
    Field(description="One of the caller's lists (GET /api/lists); else 404."),
]
TaskId = Annotated[StrictInt, Field(description="A task id; others' ids are ignored.")]


# Request bodies are plain pydantic models: ninja's Schema also reads
# attributes off whatever it is given (it is made for ORM objects), so it would
# turn the JSON string "title" into {"title": "Title"} via str.title().


class TaskIn(BaseModel):
    title: Title
    description: Description | None = Field(
        default=None, description="Optional; null or absent is stored as ''."
    )
    list_id: ListId | None = Field(
        default=None,
        description="The caller's list to add it to; null or absent: "
        "the Inbox. Another user's list (or none): 404, nothing created.",
    )


class TaskPatch(BaseModel):
    """Any subset of the fields; the ones left out keep their values."""

    # None means "not sent"; null itself is refused (only description takes
    # it), and ninja leaves these None defaults out of the schema.
    title: Title = None
    description: Description | None = Field(
        default=None, description="null clears it (stored as '')."
    )
    completed: StrictBool = None
    # Moves the task; null is refused (the Inbox has an id like any list).
    list_id: ListId = None


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
