"""AiohttpTransport's total deadlines (one timer for all requests) against a hostile server.

The server is raw asyncio sockets, written here: it reads a request and then
never answers, drips its body a byte at a time, or stalls after a first
piece, on the path's say.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import aiohttp
import anyio
import pytest

import signing_async as sa

WAIT = 10.0
"""A failure, not a hang, if a deadline is lost."""


class Hostile:
    """A loopback HTTP server that misbehaves per path; ``release`` lets stalled answers end."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            path = head.split(b" ", 2)[1]
            if path == b"/silent":  # the request is taken, no answer ever comes
                await self.release.wait()
            elif path == b"/drip":  # announces 1,000 bytes, sends one every 20 ms
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                for _ in range(1000):
                    writer.write(b"x")
                    await writer.drain()
                    await asyncio.sleep(0.02)
            elif path == b"/first-piece":  # a first piece at once, the rest on release
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nfirst")
                await writer.drain()
                await self.release.wait()
                writer.write(b"end")
            else:
                await self.release.wait()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def hostile() -> AsyncIterator[tuple[Hostile, str]]:
    server = Hostile()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.release.set()
        listener.close()
        await listener.wait_closed()


@pytest.fixture
async def transport() -> AsyncIterator[sa.AiohttpTransport]:
    transport = sa.AiohttpTransport()
    try:
        yield transport
    finally:
        await transport.aclose()


def _no_cancellation_left() -> None:
    """The deadline withdrew its own cancellation (task groups and outer timeouts count on it)."""
    if sys.version_info >= (3, 11):
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0


async def test_no_answer_at_all_is_a_timeout_at_the_total_deadline(
    hostile: tuple[Hostile, str], transport: sa.AiohttpTransport
) -> None:
    server, base = hostile
    request = sa.Request("GET", f"{base}/silent", timeout=sa.Timeout(read=30, total=0.2))
    with anyio.fail_after(WAIT), pytest.raises(sa.RequestTimeout) as caught:
        await transport.send(request)
    assert caught.value.request_sent is True
    assert "total deadline" in str(caught.value)
    assert server.requests == 1
    _no_cancellation_left()


async def test_a_dripping_body_is_cut_at_the_total_deadline(
    hostile: tuple[Hostile, str], transport: sa.AiohttpTransport
) -> None:
    _, base = hostile
    # Each byte comes well within the read timeout; the whole never would.
    request = sa.Request("GET", f"{base}/drip", timeout=sa.Timeout(read=30, total=0.3))
    response = await transport.send(request)
    assert response.status == 200
    with anyio.fail_after(WAIT), pytest.raises(sa.RequestTimeout):
        await response.read()
    _no_cancellation_left()


async def test_the_deadline_never_cancels_the_callers_own_code(
    hostile: tuple[Hostile, str], transport: sa.AiohttpTransport
) -> None:
    server, base = hostile
    request = sa.Request("GET", f"{base}/first-piece", timeout=sa.Timeout(read=30, total=0.2))
    response = await transport.send(request)
    chunks = response.stream.iter_chunks(1024)
    assert await chunks.__anext__() == b"first"
    # The caller's own work between two pieces outlasts the deadline: it
    # runs to its end; the next read reports the deadline.
    try:
        await anyio.sleep(0.5)
    except asyncio.CancelledError:
        pytest.fail("the deadline cancelled the caller's own code")
    with anyio.fail_after(WAIT), pytest.raises(sa.RequestTimeout):
        await chunks.__anext__()
    _no_cancellation_left()
    server.release.set()


async def test_an_outside_cancellation_stays_a_cancellation(
    hostile: tuple[Hostile, str], transport: sa.AiohttpTransport
) -> None:
    _, base = hostile
    request = sa.Request("GET", f"{base}/silent", timeout=sa.Timeout(read=30, total=30))
    with anyio.move_on_after(0.2) as scope:
        await transport.send(request)
    assert scope.cancelled_caught  # not turned into a RequestTimeout


async def test_each_request_keeps_its_own_deadline(
    hostile: tuple[Hostile, str], transport: sa.AiohttpTransport
) -> None:
    server, base = hostile
    # The long one sets the timer first; the short one, sent after, must
    # still time out at its own deadline, and the long one must not.
    long = sa.Request("GET", f"{base}/slow", timeout=sa.Timeout(read=30, total=30))
    short = sa.Request("GET", f"{base}/silent", timeout=sa.Timeout(read=30, total=0.2))
    results: dict[str, object] = {}

    async def long_one() -> None:
        response = await transport.send(long)
        results["long"] = await response.read()

    async def short_one() -> None:
        await anyio.sleep(0.05)
        with pytest.raises(sa.RequestTimeout):
            await transport.send(short)
        results["short"] = "timed out"
        server.release.set()  # only now may the long one get its answer

    with anyio.fail_after(WAIT):
        async with anyio.create_task_group() as group:
            group.start_soon(long_one)
            group.start_soon(short_one)
    assert results == {"short": "timed out", "long": b"ok"}


async def test_a_connection_cut_by_the_deadline_is_not_reused(
    hostile: tuple[Hostile, str], transport: sa.AiohttpTransport
) -> None:
    server, base = hostile
    request = sa.Request("GET", f"{base}/first-piece", timeout=sa.Timeout(read=30, total=0.2))
    response = await transport.send(request)
    with anyio.fail_after(WAIT), pytest.raises(sa.RequestTimeout):
        await response.read()
    server.release.set()
    # The half-read answer's connection was dropped: the next request gets
    # its own answer, not the rest of the old one.
    after = await transport.send(sa.Request("GET", f"{base}/fine"))
    assert await after.read() == b"ok"


async def test_the_read_timeout_still_binds_before_a_longer_total(
    hostile: tuple[Hostile, str], transport: sa.AiohttpTransport
) -> None:
    _, base = hostile
    # An answer read whole gets a total of connect + read: a quick connection
    # to a silent server must still time out after ``read``, not the total.
    request = sa.Request("GET", f"{base}/silent", timeout=sa.Timeout(read=0.2, total=600))
    with anyio.fail_after(WAIT), pytest.raises(sa.RequestTimeout) as caught:
        await transport.send(request)
    assert "total deadline" not in str(caught.value)


async def _runs_undisturbed(seconds: float) -> None:
    """The caller's own code, run after a request: no stray deadline may cancel it."""
    try:
        await anyio.sleep(seconds)
    except asyncio.CancelledError:
        pytest.fail("a request's deadline, left behind, cancelled the caller's later code")


async def test_an_outside_cancellation_leaves_no_deadline_behind(
    hostile: tuple[Hostile, str], transport: sa.AiohttpTransport
) -> None:
    _, base = hostile
    request = sa.Request("GET", f"{base}/silent", timeout=sa.Timeout(read=30, total=0.4))
    with anyio.move_on_after(0.1) as scope:
        await transport.send(request)
    assert scope.cancelled_caught
    await _runs_undisturbed(1.0)  # well past the abandoned request's deadline
    _no_cancellation_left()


async def test_any_other_failure_leaves_no_deadline_behind() -> None:
    session = aiohttp.ClientSession()
    await session.close()  # aiohttp refuses to send with RuntimeError, not a ClientError
    transport = sa.AiohttpTransport(session)
    request = sa.Request("GET", "http://127.0.0.1:9/", timeout=sa.Timeout(read=30, total=0.3))
    with pytest.raises(RuntimeError):
        await transport.send(request)
    await _runs_undisturbed(0.9)
    _no_cancellation_left()


async def test_closing_the_transport_keeps_the_deadline_of_a_request_on_the_callers_session(
    hostile: tuple[Hostile, str],
) -> None:
    _, base = hostile
    async with aiohttp.ClientSession() as session:
        transport = sa.AiohttpTransport(session)
        request = sa.Request("GET", f"{base}/silent", timeout=sa.Timeout(read=30, total=0.3))

        async def close_meanwhile() -> None:
            await anyio.sleep(0.05)
            await transport.aclose()  # the caller's session, and this request, go on

        with anyio.fail_after(WAIT):
            async with anyio.create_task_group() as group:
                group.start_soon(close_meanwhile)
                with pytest.raises(sa.RequestTimeout):
                    await transport.send(request)
