"""Search indexes (tasks/search.py), on PostgreSQL only; SQLite scans.

``pg_trgm`` and ``unaccent`` ship with PostgreSQL and are "trusted"
extensions (PostgreSQL 13 and later): any role that may create objects in the
database can create them, as Neon's default role can. The functions are
qualified with their schemas, so the indexes work whatever the search_path of
whoever writes a task (pg_dump's restore sets an empty one).
"""

from django.db import migrations


def create_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    execute = schema_editor.execute
    execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(extnamespace::regnamespace::text), "
            "quote_ident(current_schema()) "
            "FROM pg_extension WHERE extname = 'unaccent'"
        )
        unaccent, here = cursor.fetchone()
    # unaccent() is only STABLE (its dictionary could change); naming the
    # dictionary makes the result depend on the text alone.
    execute(
        f"CREATE FUNCTION {here}.todo_fold(text) RETURNS text "
        f"LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS "
        f"$$ SELECT lower({unaccent}.unaccent('{unaccent}.unaccent'::regdictionary, $1)) $$"
    )
    execute(
        f"CREATE FUNCTION {here}.todo_search_text(title text, description text) "
        f"RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
        f"$$ SELECT {here}.todo_fold(title || ' ' || description) $$"
    )
    # Only live tasks are searched (for_user() says deleted_at IS NULL).
    execute(
        "CREATE INDEX task_search_trgm_idx ON tasks_task USING gin "
        "(todo_search_text(title, description) gin_trgm_ops) "
        "WHERE deleted_at IS NULL"
    )
    execute(
        "CREATE INDEX task_search_words_idx ON tasks_task USING gin "
        "(to_tsvector('simple', todo_search_text(title, description))) "
        "WHERE deleted_at IS NULL"
    )


def drop_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX task_search_words_idx")
    schema_editor.execute("DROP INDEX task_search_trgm_idx")
    schema_editor.execute("DROP FUNCTION todo_search_text(text, text)")
    schema_editor.execute("DROP FUNCTION todo_fold(text)")


class Migration(migrations.Migration):
    dependencies = [("tasks", "0003_lists")]

    operations = [migrations.RunPython(create_search, drop_search)]
