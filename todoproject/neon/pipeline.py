"""Several queries, one round trip: psycopg's pipeline mode under the ORM.

On Neon each query waits for the network. Queries that do not depend on each
other's answers can travel together: PostgreSQL's pipeline mode sends them all
before reading any answer, so *n* queries cost one round trip instead of *n*.
The ORM knows nothing of pipelines, so ``fetch_together()`` sends the SQL the
querysets compile to, then lets the ORM evaluate them as usual, answering each
of their statements from what already came back.
"""

from functools import partial

from django.core.exceptions import EmptyResultSet
from django.db import connections


def fetch_together(*querysets) -> list[list]:
    """Evaluate ``querysets`` (reads) in one round trip; return their rows.

    Each result is what ``list(queryset)`` would give, and each queryset is
    left evaluated. A queryset that refuses to run (``Task.objects`` without
    ``for_user()``) still raises when it is evaluated, so its rows never reach
    the caller, though its statement went out with the others. Where the
    database cannot pipeline (SQLite, which has no network anyway), the
    querysets run one after another.
    """
    connection = connections[querysets[0].db]
    statements = {}
    if hasattr(connection, "send_together"):
        for queryset in querysets:
            try:
                sql, params = queryset.query.get_compiler(
                    connection=connection
                ).as_sql()
            except EmptyResultSet:
                continue  # the ORM answers these without asking the database
            statements[sql, tuple(params)] = None
    if len(statements) > 1:
        cursors = connection.send_together(list(statements))
        answers = dict(zip(statements, cursors, strict=True))
        with connection.execute_wrapper(partial(_answer, answers)):
            return [list(queryset) for queryset in querysets]
    return [list(queryset) for queryset in querysets]


def _answer(answers, execute, sql, params, many, context):
    """Hand the ORM the cursor that already holds this statement's answer."""
    answer = None if many else answers.pop((sql, tuple(params or ())), None)
    if answer is None:
        return execute(sql, params, many, context)
    context["cursor"].cursor.close()
    context["cursor"].cursor = answer
    return None
