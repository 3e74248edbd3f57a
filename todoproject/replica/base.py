"""The replica's database backend: Neon's (``todoproject.neon.base``), which
falls back on the primary instead of failing.

A connection that cannot be had (the replica stopped, unreachable, or slower
than the pool timeout) and a read that fails on a connection it had both mark
the replica down (``todoproject.replica.mark_down()``); the read then runs on
a connection borrowed from the primary's pool, and goes back to that pool
when the request ends. Reads only ever come here (the router sends writes to
the primary, and a replica refuses them anyway), so running one again
changes nothing.
"""

from django.db import DEFAULT_DB_ALIAS, connections
from psycopg_pool import PoolTimeout

from todoproject.neon import base

from . import is_down, mark_down


class DatabaseWrapper(base.DatabaseWrapper):
    _borrowing = False

    @property
    def pool(self):
        if self._borrowing:
            return connections[DEFAULT_DB_ALIAS].pool
        return super().pool

    def get_new_connection(self, conn_params):
        if not is_down():
            try:
                return super().get_new_connection(conn_params)
            except self.Database.OperationalError:  # PoolTimeout is one
                self.mark_down()
        self._borrowing = True
        try:
            return super().get_new_connection(conn_params)
        finally:
            self._borrowing = False

    def _may_run_again(self, first: bool, reads: bool) -> bool:
        self.mark_down()
        return reads and self.get_autocommit()

    def mark_down(self) -> None:
        params = self.get_connection_params()
        mark_down(lambda: self.Database.connect(**params))

    def ping(self) -> bool:
        """Whether the replica itself answers a ``SELECT 1``."""
        pool = super().pool
        pool.open()
        for _ in range(2):  # an idle connection the server closed fails once
            try:
                with pool.connection() as connection:
                    connection.execute("SELECT 1")
            except PoolTimeout:
                break
            except self.Database.Error:
                continue
            return True
        self.mark_down()
        return False
