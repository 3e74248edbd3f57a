"""Counts read from indexes alone: the list page's counters and the lists'
active counts no longer visit a table row per task (a list page of the user
with 10,000 tasks spent most of its time there).

The list page's two indexes become partial (live tasks only, as every
``for_user()`` query asks), under new names so that each is built before
the one it replaces is dropped: a table is never without them.
"""

from django.conf import settings
from django.db import migrations, models

LIVE = models.Q(deleted_at__isnull=True)


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0007_search_column"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                fields=["user", "completed", "-created_at", "-id"],
                name="task_live_status_idx",
                condition=LIVE,
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                fields=["user", "-created_at", "-id"],
                name="task_live_recent_idx",
                condition=LIVE,
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                fields=["user", "list"],
                name="task_list_active_idx",
                condition=models.Q(completed=False, deleted_at__isnull=True),
            ),
        ),
        migrations.RemoveIndex(model_name="task", name="task_user_status_idx"),
        migrations.RemoveIndex(model_name="task", name="task_user_recent_idx"),
    ]
