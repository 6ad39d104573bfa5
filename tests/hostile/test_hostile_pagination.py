"""Hostile listings: a server that keeps claiming more pages cannot hold ``async for`` forever.

Each server below answers the same thing to every page request. Past
``GIVE_UP`` requests it answers 400, so a pager that would poll forever
fails the test with an error instead of hanging it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import signing_async as sa

from .server import HostileServer, RawRequest, answer_json

GIVE_UP = 20


class Endless:
    """Answers every page request with ``page(skip)``; records the offsets asked for."""

    def __init__(self, page: Callable[[int], str]) -> None:
        self.page = page
        self.skips: list[int] = []

    async def __call__(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        skip = int(parse_qs(urlsplit(request.target).query).get("skip", ["0"])[0])
        self.skips.append(skip)
        if len(self.skips) > GIVE_UP:
            await answer_json(writer, 400, '{"error": "the client keeps paging"}')
            return
        await answer_json(writer, 200, self.page(skip))


@asynccontextmanager
async def listing(handler: Endless) -> AsyncIterator[sa.SigningClient]:
    """A DANAsign client of a server answering like ``handler``."""
    async with HostileServer(handler) as server:
        config = sa.DanaSignConfig(server_url=server.url, api_token="dsk_test_token")
        async with sa.SigningClient(danasign=config) as client:
            yield client


async def test_total_one_has_more_true_forever_ends_after_the_first_page() -> None:
    server = Endless(
        lambda skip: (
            '{"data": [{"objectId": "c1", "Name": "Ana"}],'
            ' "pagination": {"total": 1, "hasMore": true}}'
        )
    )
    async with listing(server) as client:
        contacts = [contact async for contact in client.contacts.list()]
    assert [contact.object_id for contact in contacts] == ["c1"]
    assert server.skips == [0]


async def test_a_server_ignoring_the_offset_is_read_once() -> None:
    server = Endless(
        lambda skip: (
            '{"data": [{"objectId": "t1"}, {"objectId": "t2"}], "pagination": {"hasMore": true}}'
        )
    )
    async with listing(server) as client:
        templates = [template async for template in client.templates.list(page_size=2)]
    assert [template.object_id for template in templates] == ["t1", "t2"]
    assert server.skips == [0, 2]


async def test_a_bare_array_listing_that_repeats_its_full_page_ends() -> None:
    # documents.list answers a bare array: a full page means "maybe more".
    server = Endless(lambda skip: '[{"documentId": "d1"}, {"documentId": "d2"}]')
    async with listing(server) as client:
        documents = [document async for document in client.documents.list("sent", page_size=2)]
    assert [document.document_id for document in documents] == ["d1", "d2"]
    assert server.skips == [0, 2]
