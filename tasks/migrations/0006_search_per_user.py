"""Search indexes per user: (user_id, text) in one GIN index.

The indexes of 0004 held every user's text, so a common word made the
database read every user's matches and then keep one user's: for a user
with 10,000 tasks, "report" read 36,159 rows to return a few hundred.
``btree_gin`` lets a GIN index lead with ``user_id``; like ``pg_trgm`` it
ships with PostgreSQL and is trusted (PostgreSQL 13 and later).
"""

from django.db import migrations

TEXT = "todo_search_text(title, description)"
INDEXES = {
    "task_search_trgm_idx": f"{TEXT} gin_trgm_ops",
    "task_search_words_idx": f"to_tsvector('simple', {TEXT})",
}


def per_user(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    for name, expression in INDEXES.items():
        schema_editor.execute(f"DROP INDEX {name}")
        schema_editor.execute(
            f"CREATE INDEX {name} ON tasks_task USING gin (user_id, {expression}) "
            "WHERE deleted_at IS NULL"
        )


def shared(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expression in INDEXES.items():
        schema_editor.execute(f"DROP INDEX {name}")
        schema_editor.execute(
            f"CREATE INDEX {name} ON tasks_task USING gin ({expression}) "
            "WHERE deleted_at IS NULL"
        )


class Migration(migrations.Migration):
    dependencies = [("tasks", "0005_due_dates")]

    operations = [migrations.RunPython(per_user, shared)]
