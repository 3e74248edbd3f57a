"""Search: what a word finds, in what order, and how matches are marked.

The tests without a marker run on SQLite and on PostgreSQL (CI's legs), so
both backends give the same results for ASCII text; accents and the indexes
are PostgreSQL's.
"""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks.models import Task
from tasks.search import highlight, words_of
from tests.factories import make_tasks
from tests.pages import counters, row_titles

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    not (settings.DATABASE_URL_TEST or "").startswith("postgres"),
    reason="needs DATABASE_URL_TEST pointing at PostgreSQL",
)


def titles(user, q: str) -> list[str]:
    return [task.title for task in Task.objects.for_user(user).search(q)]


@pytest.fixture
def shopping(user):
    tasks = Task.objects.for_user(user)
    for title, description in [
        ("Buy bread", "and milk if there is any"),
        ("Buttermilk pancakes", ""),
        ("MILK", ""),
        ("Pay the TV licence", ""),
        ("Fix the gastvalve", ""),  # "tv" inside a word
        ("Call mum", "about the milk bread recipe"),
    ]:
        tasks.create(title=title, description=description)


def test_a_word_finds_parts_of_words_in_titles_and_descriptions_ignoring_case(
    user, shopping
):
    # Titles with the word first, then descriptions; newest first among equals.
    assert titles(user, "milk") == [
        "MILK",
        "Buttermilk pancakes",
        "Call mum",
        "Buy bread",
    ]


def test_every_word_must_match_and_titles_holding_more_come_first(user, shopping):
    assert titles(user, "milk bread") == ["Buy bread", "Call mum"]
    assert titles(user, "BREAD milk") == ["Buy bread", "Call mum"]


def test_a_short_word_matches_the_start_of_words_only(user, shopping):
    assert titles(user, "tv") == ["Pay the TV licence"]
    assert titles(user, "mu") == ["Call mum"]


def test_an_empty_query_is_the_plain_list(user, shopping):
    everything = list(Task.objects.for_user(user))
    assert list(Task.objects.for_user(user).search("")) == everything
    assert list(Task.objects.for_user(user).search("  \t ")) == everything


def test_search_stays_inside_the_users_tasks(user, other_user, shopping):
    Task.objects.for_user(other_user).create(title="Bob's milk")
    assert "Bob's milk" not in titles(user, "milk")


@pytest.mark.parametrize(
    "q", ["%", "_", "\\", "'", '"', "''; DROP TABLE x; --", "x" * 10_000]
)
def test_hostile_queries_find_only_what_they_spell(user, q, shopping):
    Task.objects.for_user(user).create(title="100% sure_thing \\ 'quoted' \"too\"")
    found = titles(user, q)
    assert set(found) <= {"100% sure_thing \\ 'quoted' \"too\""}


GUNICORN_414 = "gunicorn answers 414 to a request line over 4,094 bytes"


@pytest.mark.parametrize(
    "q",
    [
        *["%", "_", "\\", "'", '"', "a\x00b", "é", "ab", "<mark>"],
        pytest.param("x" * 10_000, marks=pytest.mark.in_process(GUNICORN_414)),
    ],
)
def test_hostile_queries_on_the_page_are_never_a_server_error(alice_client, q, task):
    response = alice_client.get("/tasks/", {"q": q, "status": "active"})
    assert response.status_code == 200


def test_the_page_marks_matches_and_keeps_user_text_escaped(alice_client, user):
    Task.objects.for_user(user).create(title="<mark>milk</mark> & <b>bread</b>")
    body = alice_client.get("/tasks/", {"q": "milk"}).content.decode()
    assert (
        "&lt;mark&gt;<mark>milk</mark>&lt;/mark&gt; &amp; &lt;b&gt;bread&lt;/b&gt;"
        in body
    )
    assert "1 task matches “milk”." in body


def test_a_search_with_no_result_says_so(alice_client, task):
    body = alice_client.get("/tasks/", {"q": "nothing-like-it"}).content.decode()
    assert body.count("match") == 1  # said once
    assert "No tasks match “nothing-like-it”." in body


def test_search_combines_with_status_and_list(alice_client, user, shopping):
    Task.objects.for_user(user).filter(title="MILK").complete()
    response = alice_client.get("/tasks/", {"q": "milk", "status": "active"})
    assert row_titles(response) == ["Buttermilk pancakes", "Call mum", "Buy bread"]
    assert counters(response) == {"all": 4, "active": 3, "completed": 1}


def test_the_api_and_the_page_answer_the_same(alice_client, user, shopping):
    response = alice_client.get("/tasks/", {"q": "milk"})
    assert row_titles(response) == titles(user, "milk")


# --- Marking ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "q", "marked"),
    [
        ("Buttermilk", "milk", "Butter<mark>milk</mark>"),
        ("Café au lait", "cafe", "<mark>Café</mark> au lait"),
        ("STRASSE", "straße", "<mark>STRASSE</mark>"),
        ("TV and gastvalve", "tv", "<mark>TV</mark> and gastvalve"),
        ("a < b", "<", "a <mark>&lt;</mark> b"),
        ("milk milk", "milk", "<mark>milk</mark> <mark>milk</mark>"),
        ("plain", "", "plain"),
    ],
)
def test_highlight_marks_what_the_search_matches(text, q, marked):
    assert highlight(text, words_of(q)) == marked


def test_words_of_a_query_are_bounded():
    assert words_of("a b a") == ["a", "b"]
    assert len(words_of(" ".join(str(n) for n in range(50)))) == 10
    assert words_of("x" * 10_000) == ["x" * 200]
    assert words_of("mi\x00lk") == ["milk"]


# --- PostgreSQL: accents and indexes --------------------------------------------------


@on_postgres
def test_accents_are_ignored_both_ways(user):
    tasks = Task.objects.for_user(user)
    tasks.create(title="Café au lait")
    tasks.create(title="Cafe racer")
    tasks.create(title="Über", description="crème brûlée")
    assert titles(user, "cafe") == ["Cafe racer", "Café au lait"]
    assert titles(user, "CAFÉ") == ["Cafe racer", "Café au lait"]
    assert titles(user, "creme brulee") == ["Über"]
    assert titles(user, "ub") == ["Über"]


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_search_for_a_user_with_10000_tasks_uses_a_gin_index(user, other_user):
    make_tasks(user, 10_000)
    make_tasks(other_user, 10_000)
    Task.objects.for_user(user).create(title="Buttermilk pancakes")
    # Committed rows and VACUUM ANALYZE, as the table would be in production:
    # ANALYZE inside a test's transaction samples rows not yet committed, and
    # now and then its estimate made a sequential scan look cheaper (once in
    # about six CI runs); VACUUM also empties the GIN indexes' pending lists.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tasks_task")
    for q in ["milk", "bu"]:
        with CaptureQueriesContext(connection) as captured:
            assert titles(user, q) == ["Buttermilk pancakes"]
        (sql,) = [query["sql"] for query in captured]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        index = "task_search_trgm_idx" if q == "milk" else "task_search_words_idx"
        assert index in plan, plan
        assert "Seq Scan" not in plan, plan
