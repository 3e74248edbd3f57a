"""A TCP proxy that puts a network between the app and PostgreSQL.

Neon is a network hop away from the app; locally the database answers in
microseconds, which hides the cost of every round trip and every new
connection. This proxy forwards bytes unchanged (TLS passes straight through)
and delays each chunk by half the configured round-trip time in its direction,
so a request pays ``rtt`` for every exchange it waits on, as it would on Neon.
A new connection also pays one ``rtt`` before its first byte reaches the
server: the TCP handshake the loopback connect skipped.

It counts, per connection and in total:

* connections opened;
* round trips: a burst of client-to-server bytes that follows server-to-client
  bytes, or the start of the connection. Several messages the client sends
  before any answer (a pipeline) are one round trip; a query and its answer
  are one. The TLS handshake and the SCRAM exchange are counted the same way
  as queries, since each of their legs makes the client wait.

The counters are served as JSON by a small HTTP control endpoint, which also
changes the delay at run time::

    GET  /stats                  the totals
    GET  /stats?connections=1    and each connection's counters
    POST /delay?rtt_ms=10        set the simulated round-trip time

Run it with ``python -m tests.support.latency_proxy --listen 127.0.0.1:6500
--upstream 127.0.0.1:5432 --control 127.0.0.1:6501 --rtt-ms 10``.
"""

import argparse
import asyncio
import contextlib
import json
import selectors
import signal
import statistics
import time
from urllib.parse import parse_qs, urlsplit

CHUNK = 256 * 1024
# Closed connections whose counters are kept for /stats?connections=1.
KEEP_CLOSED = 50_000


class Connection:
    __slots__ = ("closed_at", "id", "last_direction", "opened_at", "round_trips")

    def __init__(self, conn_id: int) -> None:
        self.id = conn_id
        self.opened_at = time.time()
        self.closed_at = None
        self.round_trips = 0
        # None at the start, so the client's first burst counts as one.
        self.last_direction = None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "round_trips": self.round_trips,
        }


class Proxy:
    def __init__(self, upstream: tuple[str, int], rtt_ms: float) -> None:
        self.upstream = upstream
        self.rtt = rtt_ms / 1000
        self.connections_opened = 0
        self.connections_closed = 0
        self.connect_failures = 0
        self.round_trips = 0
        self.bytes_to_server = 0
        self.bytes_to_client = 0
        self.open: dict[int, Connection] = {}
        self.closed: list[Connection] = []
        # How late asyncio wakes up from a sleep (see calibrate()).
        self.oversleep = 0.0

    async def calibrate(self) -> None:
        """Measure how late a sleep wakes up; delivery aims that much early."""
        loop = asyncio.get_running_loop()
        late = []
        for _ in range(50):
            started = loop.time()
            await asyncio.sleep(0.002)
            late.append(loop.time() - started - 0.002)
        self.oversleep = statistics.median(late)

    # -- counting -----------------------------------------------------------------

    def _saw(self, conn: Connection, direction: str, size: int) -> None:
        if direction == "up":
            self.bytes_to_server += size
            if conn.last_direction != "up":
                conn.round_trips += 1
                self.round_trips += 1
        else:
            self.bytes_to_client += size
        conn.last_direction = direction

    def stats(self, with_connections: bool = False) -> dict:
        data = {
            "rtt_ms": self.rtt * 1000,
            "oversleep_ms": round(self.oversleep * 1000, 3),
            "connections_opened": self.connections_opened,
            "connections_closed": self.connections_closed,
            "connections_open": len(self.open),
            "connect_failures": self.connect_failures,
            "round_trips": self.round_trips,
            "bytes_to_server": self.bytes_to_server,
            "bytes_to_client": self.bytes_to_client,
        }
        if with_connections:
            data["open"] = [c.as_dict() for c in self.open.values()]
            data["closed"] = [c.as_dict() for c in self.closed]
        return data

    # -- forwarding -----------------------------------------------------------------

    async def handle(self, client_reader, client_writer) -> None:
        self.connections_opened += 1
        conn = Connection(self.connections_opened)
        self.open[conn.id] = conn
        try:
            # The TCP handshake to a remote server: one round trip before the
            # client's first bytes can even leave.
            if self.rtt:
                await asyncio.sleep(self.rtt)
            try:
                server_reader, server_writer = await asyncio.open_connection(
                    *self.upstream
                )
            except OSError:
                self.connect_failures += 1
                return
            try:
                await asyncio.gather(
                    self._pump(conn, "up", client_reader, server_writer),
                    self._pump(conn, "down", server_reader, client_writer),
                )
            finally:
                server_writer.close()
        finally:
            client_writer.close()
            conn.closed_at = time.time()
            del self.open[conn.id]
            self.connections_closed += 1
            self.closed.append(conn)
            del self.closed[:-KEEP_CLOSED]

    async def _pump(self, conn, direction, reader, writer) -> None:
        """Copy one direction, each chunk delivered ``rtt / 2`` after it came."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time() - self.oversleep
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
            # Half-close, as the sender did; the other direction may still
            # be carrying the last answer (PostgreSQL's, or a TLS alert).
            if writer.can_write_eof():
                writer.write_eof()

        delivery = asyncio.create_task(deliver())
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                self._saw(conn, direction, len(data))
                queue.put_nowait((loop.time() + self.rtt / 2, data))
                if delivery.done():
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            queue.put_nowait((loop.time() + self.rtt / 2, None))
            with contextlib.suppress(ConnectionError, OSError):
                await delivery

    # -- control endpoint -------------------------------------------------------------

    async def control(self, reader, writer) -> None:
        try:
            request_line = await reader.readline()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            method, target, _ = request_line.decode().split(" ", 2)
            url = urlsplit(target)
            query = parse_qs(url.query)
            status, body = 200, None
            if url.path == "/stats":
                body = self.stats(with_connections=bool(query.get("connections")))
            elif url.path == "/delay" and method == "POST":
                self.rtt = float(query["rtt_ms"][0]) / 1000
                body = self.stats()
            else:
                status, body = 404, {"detail": "not found"}
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (ValueError, KeyError, ConnectionError):
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        finally:
            writer.close()


def _address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


async def serve(listen, upstream, control, rtt_ms) -> None:
    proxy = Proxy(upstream, rtt_ms)
    await proxy.calibrate()
    server = await asyncio.start_server(proxy.handle, *listen, reuse_address=True)
    control_server = await asyncio.start_server(
        proxy.control, *control, reuse_address=True
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(
        f"proxy {listen[0]}:{listen[1]} -> {upstream[0]}:{upstream[1]}, "
        f"rtt {rtt_ms} ms, control on {control[0]}:{control[1]}, "
        f"sleeps wake {proxy.oversleep * 1000:.2f} ms late (compensated)",
        flush=True,
    )
    async with server, control_server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=_address, default=("127.0.0.1", 6500))
    parser.add_argument("--upstream", type=_address, default=("127.0.0.1", 5432))
    parser.add_argument("--control", type=_address, default=("127.0.0.1", 6501))
    parser.add_argument("--rtt-ms", type=float, default=0.0)
    args = parser.parse_args()
    # select() takes its timeout in microseconds; epoll (asyncio's default on
    # Linux) rounds it up to the next millisecond, which would make every
    # delayed chunk about half a millisecond late: a round trip at "10 ms"
    # would take 11. The proxy has a few dozen sockets at most.
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    try:
        loop.run_until_complete(
            serve(args.listen, args.upstream, args.control, args.rtt_ms)
        )
    finally:
        loop.close()


if __name__ == "__main__":
    main()
