"""The hostile server helper itself: it hands requests over and writes what it is told."""

from __future__ import annotations

import asyncio

import aiohttp

from .server import HostileServer, RawRequest, answer, answer_json


async def test_it_hands_the_request_to_the_handler_and_keeps_the_connection() -> None:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer_json(writer, 201, b'{"seen": %d}' % len(request.body))

    async with HostileServer(handler) as server, aiohttp.ClientSession() as session:
        for size in (3, 5):
            async with session.post(server.url + "/x?q=1", data=b"a" * size) as response:
                assert response.status == 201
                assert await response.json() == {"seen": size}
    assert [(r.method, r.path, r.body) for r in server.requests] == [
        ("POST", "/x", b"aaa"),
        ("POST", "/x", b"aaaaa"),
    ]


async def test_a_lying_content_length_reaches_the_client() -> None:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer(writer, 200, b"abc", content_length=10)
        writer.close()

    async with (
        HostileServer(handler) as server,
        aiohttp.ClientSession() as session,
        session.get(server.url) as response,
    ):
        try:
            await response.read()
        except aiohttp.ClientPayloadError:
            lied = True
        else:
            lied = False
    assert lied
