"""PostgreSQL backend that never hands a request a connection the server closed.

Neon closes every connection when a compute suspends or restarts. A pooled
connection that the server closed has a readable socket (the server's final
error message, then end-of-file), so ``poll()`` with a zero timeout tells a
dead connection from a live one without sending anything. That replaces the
``SELECT 1`` health check, which would cost a network round trip per request.
"""

import select

from django.db.backends.postgresql import base


def is_alive(connection) -> bool:
    if connection.closed or connection.broken:
        return False
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN)
    return not poller.poll(0)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self.pool is None:
            return connection
        while not is_alive(connection):
            # The pool discards a closed connection; getconn() then hands out
            # another idle one or opens a new one.
            connection.close()
            self.pool.putconn(connection)
            connection = self.pool.getconn()
        return connection
