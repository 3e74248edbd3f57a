"""System checks for the ways a Neon deployment is usually misconfigured."""

from django.conf import settings
from django.core.checks import Error, register

from . import is_local_host, is_pooler_host, is_postgres

SECURE_SSLMODES = {"require", "verify-ca", "verify-full"}


@register("neon")
def check_databases(app_configs=None, **kwargs):
    return database_errors(settings.DATABASES)


def database_errors(databases: dict) -> list[Error]:
    errors = []
    for alias, config in databases.items():
        if not is_postgres(config):
            continue
        host = config.get("HOST") or ""
        options = config.get("OPTIONS") or {}
        if is_pooler_host(host) and not config.get("DISABLE_SERVER_SIDE_CURSORS"):
            errors.append(
                Error(
                    f"Database '{alias}' uses a pooler host with server-side cursors.",
                    hint="PgBouncer in transaction mode cannot keep a cursor across "
                    "transactions; set DISABLE_SERVER_SIDE_CURSORS = True.",
                    id="neon.E001",
                )
            )
        if not is_local_host(host) and options.get("sslmode") not in SECURE_SSLMODES:
            errors.append(
                Error(
                    f"Database '{alias}' connects to {host} without requiring TLS.",
                    hint="Add ?sslmode=require (or verify-full) to the database URL.",
                    id="neon.E002",
                )
            )
        if alias == "direct" and is_pooler_host(host):
            errors.append(
                Error(
                    "DATABASE_URL_DIRECT points at a pooler (-pooler) host.",
                    hint="Migrations take locks and use session state; give "
                    "DATABASE_URL_DIRECT the direct endpoint (without -pooler).",
                    id="neon.E003",
                )
            )
        if options.get("pool") and config.get("CONN_MAX_AGE", 0) != 0:
            errors.append(
                Error(
                    f"Database '{alias}' combines a connection pool with "
                    "persistent connections.",
                    hint="Use one: the pool (OPTIONS['pool']) with CONN_MAX_AGE = 0.",
                    id="neon.E004",
                )
            )
    return errors
