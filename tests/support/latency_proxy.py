"""A TCP proxy that puts a network between the app and PostgreSQL, and counts.

Neon is a network hop away from the app; locally the database answers in
microseconds, which hides the cost of every round trip and every new
connection. This proxy forwards bytes unchanged (TLS passes straight through)
and delivers each chunk half the configured round-trip time (``rtt``) after it
came, in its direction, so a request pays ``rtt`` for every exchange it waits
on, as it would on Neon. A new connection also pays one ``rtt`` before its
first byte reaches the server: the TCP handshake the loopback connect skipped.

It counts connections opened, and round trips: the times a client waited for
the server. A round trip begins with the client's first bytes; the next one
begins with client bytes that arrive after the client was handed an *answer*,
that is server bytes the server sent after this round trip's first bytes had
reached it. Bytes the client sends before any answer could reach it (a
pipeline, TLS's Finished with the startup message) belong to the round trip
they follow, however many TLS records or writes they take. With an ``rtt`` of
``D`` no answer reaches the client sooner than ``D`` after its first bytes, so
a pipeline is one round trip as long as its writes take less than ``D``; the
tests use a large ``D`` for that reason. With ``rtt`` 0 an answer can come
back between two writes of one pipeline, and the count can be one too high.
Queries that depend on each other's answers are counted apart at any ``rtt``.

The counters are served as JSON by a small HTTP control endpoint, which also
changes the delay at run time::

    GET  /stats                  the totals
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
from urllib.parse import parse_qs, urlsplit

CHUNK = 256 * 1024


class Connection:
    """One client connection's round-trip state."""

    __slots__ = ("answered", "reached", "turn")

    def __init__(self) -> None:
        self.turn = 0  # the current round trip's number; 0 before the first
        self.reached = False  # its first bytes have been written to the server
        self.answered = False  # server bytes sent after that reached the client


class Proxy:
    def __init__(self, upstream: tuple[str, int], rtt_ms: float = 0) -> None:
        self.upstream = upstream
        self.rtt = rtt_ms / 1000
        self.connections_opened = 0
        self.connections_open = 0
        self.connect_failures = 0
        self.round_trips = 0
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

    def stats(self) -> dict:
        return {
            "rtt_ms": self.rtt * 1000,
            "oversleep_ms": round(self.oversleep * 1000, 3),
            "connections_opened": self.connections_opened,
            "connections_open": self.connections_open,
            "connect_failures": self.connect_failures,
            "round_trips": self.round_trips,
        }

    # -- counting: called as chunks arrive (seen) and leave (delivered) ----------

    def _seen(self, conn: Connection, up: bool) -> int | None:
        """A chunk came; returns its tag for ``_delivered``."""
        if up:
            if conn.turn == 0 or conn.answered:
                conn.turn += 1
                conn.reached = conn.answered = False
                self.round_trips += 1
            return conn.turn
        # From the server: an answer to the current round trip only if that
        # round trip's bytes had reached the server.
        return conn.turn if conn.reached else None

    def _delivered(self, conn: Connection, up: bool, tag: int | None) -> None:
        if tag != conn.turn:
            return
        if up:
            conn.reached = True
        else:
            conn.answered = True

    # -- forwarding -----------------------------------------------------------------

    async def handle(self, client_reader, client_writer) -> None:
        self.connections_opened += 1
        self.connections_open += 1
        conn = Connection()
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
                    self._pump(conn, True, client_reader, server_writer),
                    self._pump(conn, False, server_reader, client_writer),
                )
            finally:
                server_writer.close()
        finally:
            client_writer.close()
            self.connections_open -= 1

    async def _pump(self, conn, up, reader, writer) -> None:
        """Copy one direction, each chunk delivered ``rtt / 2`` after it came."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data, tag = await queue.get()
                wait = due - loop.time() - self.oversleep
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
                self._delivered(conn, up, tag)
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
                tag = self._seen(conn, up)
                queue.put_nowait((loop.time() + self.rtt / 2, data, tag))
                if delivery.done():
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            queue.put_nowait((loop.time() + self.rtt / 2, None, None))
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
            status, body = 200, self.stats()
            if url.path == "/delay" and method == "POST":
                self.rtt = float(parse_qs(url.query)["rtt_ms"][0]) / 1000
                body = self.stats()
            elif url.path != "/stats":
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


def event_loop() -> asyncio.AbstractEventLoop:
    # select() takes its timeout in microseconds; epoll (asyncio's default on
    # Linux) rounds it up to the next millisecond, which would make every
    # delayed chunk about half a millisecond late: a round trip at "10 ms"
    # would take 11. The proxy has a few dozen sockets at most.
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=_address, default=("127.0.0.1", 6500))
    parser.add_argument("--upstream", type=_address, default=("127.0.0.1", 5432))
    parser.add_argument("--control", type=_address, default=("127.0.0.1", 6501))
    parser.add_argument("--rtt-ms", type=float, default=0.0)
    args = parser.parse_args()
    loop = event_loop()
    try:
        loop.run_until_complete(
            serve(args.listen, args.upstream, args.control, args.rtt_ms)
        )
    finally:
        loop.close()


if __name__ == "__main__":
    main()
