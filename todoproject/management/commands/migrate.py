"""``migrate`` over the direct endpoint when ``DATABASE_URL_DIRECT`` is set.

Migrations take locks, may run long DDL and use session state, none of which
belongs on Neon's pooled (PgBouncer) endpoint, so settings define a ``direct``
alias for them and this command makes it the default target.
"""

from django.conf import settings
from django.core.management.commands import migrate


class Command(migrate.Command):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        if "direct" in settings.DATABASES:
            parser.set_defaults(database="direct")
