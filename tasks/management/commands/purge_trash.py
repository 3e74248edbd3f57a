from django.core.management.base import BaseCommand

from tasks.managers import TRASH_DAYS, trash_cutoff
from tasks.models import Task


class Command(BaseCommand):
    help = f"Delete for good the tasks that have been in the trash {TRASH_DAYS} days."

    def handle(self, *args, **options):
        # One DELETE: runs racing each other (cron on several machines) each
        # delete what is left, and a row is never deleted twice.
        count = Task.unscoped.filter(deleted_at__lt=trash_cutoff()).delete_rows()
        self.stdout.write(f"Deleted {count} task(s) from the trash for good.")
