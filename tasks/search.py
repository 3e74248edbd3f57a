"""Search: the tasks whose title or description has every word of a query.

Case and accents are ignored ("cafe" finds "Café"). A word of 3 or more
characters matches anywhere, inside other words too ("milk" finds
"Buttermilk"); a shorter one of letters and digits matches the start of a
word ("tv" finds "TV stand", not "Pure TVs" nor "gastvad"), since nearly every
task contains "e" somewhere. Tasks whose titles hold more of the words come
first, then the newest.

On PostgreSQL, both kinds of match are answered from GIN indexes on the
folded text (migration 0004): trigrams (``pg_trgm``) for parts of words,
full text for starts of words. ``todo_fold()``, an SQL function made by that
migration, lower-cases and removes accents (``unaccent``); it is declared
IMMUTABLE, which indexes require and ``unaccent()`` itself is not.
On SQLite, a plain scan with ``LOWER()``: the same results for ASCII text.
"""

import re
import unicodedata
from functools import lru_cache

from django.db.models import BooleanField, F, Func, IntegerField, Q, TextField, Value
from django.db.models.expressions import Case, When
from django.db.models.lookups import Regex
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Longer queries are cut: a search box is not a document.
MAX_QUERY_LENGTH = 200
MAX_WORDS = 10
# Words shorter than this match the start of a word only.
PART_OF_WORD_LENGTH = 3


def words_of(q: str | None) -> list[str]:
    """The distinct words of ``q``, at most ``MAX_WORDS`` of them."""
    q = (q or "")[:MAX_QUERY_LENGTH].replace("\x00", "")
    return list(dict.fromkeys(q.split()))[:MAX_WORDS]


def _starts_words_only(word: str) -> bool:
    return len(word) < PART_OF_WORD_LENGTH and word.isalnum()


class Fold(Func):
    """Text lower-cased and without accents (SQLite: lower-cased only)."""

    function = "todo_fold"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="LOWER", **extra_context)


class SearchText(Func):
    """A task's title and description as the indexes hold them, folded.

    The expression must be exactly the indexed one for PostgreSQL to use the
    indexes: migration 0004 indexes ``todo_search_text(title, description)``.
    """

    function = "todo_search_text"
    output_field = TextField()

    def __init__(self, title="title", description="description"):
        super().__init__(F(title), F(description))

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="LOWER(%(expressions)s)",
            arg_joiner=" || ' ' || ",
            **extra_context,
        )


class Like(Func):
    """``text LIKE pattern``, the pattern folded as the text is."""

    arg_joiner = " LIKE "
    template = "%(expressions)s ESCAPE '\\'"
    output_field = BooleanField()

    def __init__(self, text, pattern: str):
        super().__init__(text, Fold(Value(pattern)))


class StartsWord(Func):
    """Full-text match of ``word`` as the start of a word (PostgreSQL)."""

    template = (
        "to_tsvector('simple', %(expressions)s) "
        "@@ to_tsquery('simple', todo_fold(%%s) || ':*')"
    )
    output_field = BooleanField()

    def __init__(self, text, word: str):
        self.word = word
        super().__init__(text)

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = super().as_sql(compiler, connection, **extra_context)
        return sql, (*params, self.word)

    def as_sqlite(self, compiler, connection, **extra_context):
        pattern = Value(r"\b" + re.escape(self.word.lower()))
        return Regex(self.source_expressions[0], pattern).as_sql(compiler, connection)


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _match(text, word: str):
    if _starts_words_only(word):
        return StartsWord(text, word)
    return Like(text, _like_pattern(word))


def search(queryset, q: str | None):
    """``queryset`` narrowed to the tasks matching ``q``, best first.

    An empty ``q`` (or one of only white space) leaves it as it is.
    """
    words = words_of(q)
    if not words:
        return queryset
    text = F("search_text")  # SearchText(), stored (Task.search_text)
    title = Fold(F("title"))
    rank = sum(
        (Case(When(_match(title, word), then=1), default=0) for word in words),
        start=Value(0, output_field=IntegerField()),
    )
    matching = Q()
    for word in words:
        matching &= Q(_match(text, word))
    return (
        queryset.filter(matching)
        .annotate(search_rank=rank)
        .order_by("-search_rank", "-created_at", "-id")
    )


# --- Marking the matches in a page ---------------------------------------------


def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _folded(text: str) -> tuple[str, list[int]]:
    """``text`` folded as the search folds it, and for each folded character
    the index of the character of ``text`` it came from."""
    if text.isascii():  # the usual case, and one character stays one
        return text.lower(), list(range(len(text)))
    folded, origin = [], []
    for index, char in enumerate(text):
        for folded_char in _fold_char(char):
            folded.append(folded_char)
            origin.append(index)
    return "".join(folded), origin


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern | None:
    """One regular expression for all of ``words``, as the search matches
    them (made once for a page's fifty titles)."""
    alternatives = []
    for word in words:
        needle = _folded(word)[0]
        if needle:
            prefix = r"\b" if _starts_words_only(word) else ""
            alternatives.append(prefix + re.escape(needle))
    # Longest first, so that of two overlapping words the longer is marked.
    alternatives.sort(key=len, reverse=True)
    return re.compile("|".join(alternatives)) if alternatives else None


def highlight(text: str, words: list[str]) -> SafeString:
    """``text``, escaped, with each match of ``words`` in ``<mark>``.

    Matches are found as the search finds them: ignoring case and accents,
    short words at the start of a word only.
    """
    pattern = _pattern(tuple(words)) if words else None
    if pattern is None:
        return escape(text)
    folded, origin = _folded(text)
    marked = [False] * len(text)
    for found in pattern.finditer(folded):
        for position in range(found.start(), found.end()):
            marked[origin[position]] = True
    parts, start = [], 0
    for index in range(1, len(text) + 1):
        if index == len(text) or marked[index] != marked[start]:
            piece = escape(text[start:index])
            parts.append(f"<mark>{piece}</mark>" if marked[start] else piece)
            start = index
    return mark_safe("".join(parts))  # noqa: S308 - every piece was escaped
