"""The latency proxy counts the times a client waited, not its writes."""

import asyncio

from tests.support.latency_proxy import Proxy

RTT_MS = 200


async def _through_proxy(client) -> int:
    """Run ``client(reader, writer)`` against an answering server; round trips."""

    async def answer(reader, writer):
        while data := await reader.read(1024):
            writer.write(b"answer to " + data)  # at once, like PostgreSQL
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    proxy = Proxy(server.sockets[0].getsockname()[:2], rtt_ms=RTT_MS)
    front = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*front.sockets[0].getsockname()[:2])
    await client(reader, writer)
    writer.close()
    front.close()
    server.close()
    return proxy.round_trips


def test_writes_sent_before_any_answer_are_one_round_trip():
    async def pipeline(reader, writer):
        for query in (b"one", b"two", b"three"):
            writer.write(query)
            await writer.drain()
            # The server has long answered the first write by the time the
            # last one goes out: at rtt 0 this would count as three.
            await asyncio.sleep(RTT_MS / 1000 / 4)
        await reader.read(1024)

    assert asyncio.run(_through_proxy(pipeline)) == 1


def test_each_write_that_waited_for_an_answer_is_a_round_trip():
    async def one_by_one(reader, writer):
        for query in (b"one", b"two"):
            writer.write(query)
            assert (await reader.read(1024)).startswith(b"answer to " + query)

    assert asyncio.run(_through_proxy(one_by_one)) == 2
