"""PostgreSQL backend that never hands a request a connection the server closed.

Neon closes every connection when a compute suspends or restarts. Two
defences, neither of which costs a round trip on the steady-state path:

1. A pooled connection that the server closed has a readable socket (the
   server's final error message, then end-of-file), so ``poll()`` with a zero
   timeout tells a dead connection from a live one without sending anything.
   This replaces the ``SELECT 1`` health check, which would cost a network
   round trip on every request.
2. A connection can still die between that look and the first query (the
   server is mid-way through closing it). The first statement after checkout,
   if it is a read in autocommit mode, is then retried once on a fresh
   connection: the server never ran it, so nothing can happen twice.

It also runs several reads in one round trip (``send_together()``, for the
task list page's read-ahead in ``tasks.list_page``), with the same retry.
"""

import select

from django.db import OperationalError
from django.db.backends.postgresql import base


def is_alive(connection) -> bool:
    if connection.closed or connection.broken:
        return False
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN)
    return not poller.poll(0)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fresh_checkout = False
        self.execute_wrappers.append(self._retry_first_read_once)

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self.pool is not None:
            while not is_alive(connection):
                # The pool discards a closed connection; getconn() then hands
                # out another idle one or opens a new one.
                connection.close()
                self.pool.putconn(connection)
                connection = self.pool.getconn()
        self.fresh_checkout = True
        return connection

    def _retry_first_read_once(self, execute, sql, params, many, context):
        first, self.fresh_checkout = self.fresh_checkout, False
        try:
            return execute(sql, params, many, context)
        except OperationalError:
            reads = not many and sql.lstrip()[:6].upper() == "SELECT"
            if not self._may_run_again(first, reads):
                raise
        self._replace_broken_connection()
        context["cursor"].cursor = self.create_cursor()
        return execute(sql, params, many, context)

    def _may_run_again(self, first: bool, reads: bool) -> bool:
        """Whether a statement that failed with ``OperationalError`` runs
        again on a fresh connection: here only a connection's first read in
        autocommit mode, which the server cannot have run (the replica's
        backend says more)."""
        return first and reads and self.get_autocommit()

    def _replace_broken_connection(self):
        self.close()  # the pool discards the broken connection
        self.ensure_connection()
        self.fresh_checkout = False  # the retry is the new one's first use

    def send_together(self, statements):
        """Run SELECT ``statements`` in one round trip (pipeline mode).

        Returns one cursor per ``(sql, params)``, holding its answer. Like the
        first read after checkout, the whole batch is retried once on a fresh
        connection if the one it got turns out to be dead.
        """
        self.ensure_connection()
        first, self.fresh_checkout = self.fresh_checkout, False
        try:
            return self._pipeline(statements)
        except OperationalError:
            if not self._may_run_again(first, reads=True):
                raise
        self._replace_broken_connection()
        return self._pipeline(statements)

    def _pipeline(self, statements):
        with self.wrap_database_errors:
            cursors = []
            # Leaving the block sends one Sync and waits once for every answer.
            with self.connection.pipeline():
                for sql, params in statements:
                    cursor = self.create_cursor()
                    cursor.execute(sql, params)
                    cursors.append(cursor)
            return cursors
