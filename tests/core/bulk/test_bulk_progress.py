"""Progress is coalesced: told when an item leaves and when it lands, and every MiB of a big body.

A body streamed in thousands of small chunks used to call the progress
callback once per chunk; a display needs far less, and a bulk run of tiny
documents paid for it on every item.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from signing_async import BulkProgress, MockTransport, Response, RetryPolicy, Timeout
from signing_async._core.bulk import BulkOptions, run_bulk
from signing_async._core.error_mapping import ErrorMapper
from signing_async._core.session import Call, CoreSession
from signing_async.transports import StreamBody
from signing_async.transports._mock import RecordedRequest

KIB = 1024
MIB = 1024 * KIB


def streamed(size: int, piece: int = KIB) -> StreamBody:
    async def produce() -> AsyncIterator[bytes]:
        for start in range(0, size, piece):
            yield b"x" * min(piece, size - start)

    return StreamBody(size, produce)


async def test_progress_is_told_per_item_and_per_mib_not_per_chunk() -> None:
    def handler(request: RecordedRequest) -> Response:
        return Response(200, content=b'{"ok": true}')

    session = CoreSession(MockTransport(handler), retry=RetryPolicy(), timeout=Timeout())
    sizes = {"a": 200 * KIB, "b": 200 * KIB, "big": 3 * MIB + 5, "c": 7}

    async def send(key: str) -> Any:
        call = Call("Fake", f"create {key}", "POST", "https://api.test/x", ErrorMapper("Fake"))
        call.body = streamed(sizes[key])
        return await session.json(call)

    seen: list[BulkProgress] = []
    run = run_bulk(
        list(sizes),
        key=str,
        send=send,
        options=BulkOptions(concurrency=1, progress=seen.append),
    )
    async with run as outcomes:
        statuses = [outcome.status async for outcome in outcomes]

    assert statuses == ["succeeded"] * 4
    assert seen[-1].bytes_sent == sum(sizes.values())
    assert seen[-1].done == 4
    # Two per item (it leaves, it lands), plus one per whole MiB of the big body:
    # thousands of 1 KiB chunks, a dozen callbacks.
    assert len(seen) <= 2 * len(sizes) + 3
    # The big body still moves the display while it is being sent.
    moving = [p for p in seen if p.in_flight == 1 and p.done == 2 and p.bytes_sent > 400 * KIB]
    assert len(moving) == 3
    assert [p.bytes_sent for p in seen] == sorted(p.bytes_sent for p in seen)
