"""The folded search text as a stored column, and the search indexes on it.

A search for a user named by a subquery (the list page's read-ahead) is
planned for an average user: the database then folds every one of that
user's rows with ``unaccent`` instead of using the index; with the text
stored, that filter is a plain ``LIKE``.
"""

import importlib

import tasks.search
from django.db import migrations, models

lists = importlib.import_module("tasks.migrations.0003_lists")

COLUMN_INDEXES = {
    "task_search_trgm_idx": "search_text gin_trgm_ops",
    "task_search_words_idx": "to_tsvector('simple', search_text)",
}
FUNCTION_INDEXES = {
    "task_search_trgm_idx": "todo_search_text(title, description) gin_trgm_ops",
    "task_search_words_idx": "to_tsvector('simple', todo_search_text(title, description))",
}


def _indexes(which):
    def make(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, expression in which.items():
            schema_editor.execute(f"DROP INDEX {name}")
            schema_editor.execute(
                f"CREATE INDEX {name} ON tasks_task USING gin (user_id, {expression}) "
                "WHERE deleted_at IS NULL"
            )

    return make


# SQLite rebuilds tasks_task to add the column: the same-owner triggers go
# first and come back last, as in 0005.
def drop_same_owner_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        lists.drop_same_owner_check(apps, schema_editor)


def add_same_owner_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        lists.add_same_owner_check(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("tasks", "0006_search_per_user")]

    operations = [
        migrations.RunPython(drop_same_owner_triggers, add_same_owner_triggers),
        migrations.AddField(
            model_name="task",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=tasks.search.SearchText(),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(add_same_owner_triggers, drop_same_owner_triggers),
        migrations.RunPython(_indexes(COLUMN_INDEXES), _indexes(FUNCTION_INDEXES)),
    ]
