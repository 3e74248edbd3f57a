"""Several queries, one round trip: psycopg's pipeline mode under the ORM.

On Neon each query waits for the network. Queries that do not depend on each
other's answers can travel together: PostgreSQL's pipeline mode sends them all
before reading any answer, so *n* queries cost one round trip instead of *n*.
The ORM knows nothing of pipelines, so ``fetch_together()`` lets it evaluate
the querysets as usual and steps in at the first statement: that statement
goes out together with the SQL of the querysets still to come, and each of
their statements is then answered from what already came back.
"""

from django.core.exceptions import EmptyResultSet
from django.db import connections


def fetch_together(*querysets) -> list[list]:
    """Evaluate ``querysets`` (reads) in one round trip; return their rows.

    Each result is what ``list(queryset)`` would give, and each queryset is
    left evaluated. The first is compiled once, the others twice (to be sent
    ahead, then by the ORM), so the most complex one should come first. A
    queryset that refuses to run (``Task.objects`` without ``for_user()``)
    still raises when it is evaluated, so its rows never reach the caller;
    after the first, though, its statement has gone out with the others.
    Where the database cannot pipeline (SQLite, which has no network
    anyway), the querysets run one after another.
    """
    connection = connections[querysets[0].db]
    if len(querysets) < 2 or not hasattr(connection, "send_together"):
        return [list(queryset) for queryset in querysets]

    answers = {}
    waiting = list(querysets)

    def send_with_the_rest(execute, sql, params, many, context):
        key = (sql, tuple(params or ()))
        if not answers and not many:
            statements = dict.fromkeys([key, *_compiled(waiting, connection)])
            cursors = connection.send_together(list(statements))
            answers.update(zip(statements, cursors, strict=True))
        answer = None if many else answers.pop(key, None)
        if answer is None:
            return execute(sql, params, many, context)
        context["cursor"].cursor.close()
        context["cursor"].cursor = answer
        return None

    results = []
    with connection.execute_wrapper(send_with_the_rest):
        while waiting:
            results.append(list(waiting.pop(0)))
    return results


def _compiled(querysets, connection):
    for queryset in querysets:
        try:
            sql, params = queryset.query.get_compiler(connection=connection).as_sql()
        except EmptyResultSet:
            continue  # the ORM answers these without asking the database
        yield sql, tuple(params)
