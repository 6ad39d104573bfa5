"""Python opcodes per item: where the interpreter's work goes, counted exactly.

A sampling profiler misleads at the scale of a few microseconds: its samples
land on lines that make system calls. This counts, per function, the
bytecodes the interpreter executes for one more item (instruction events of
:mod:`sys.monitoring`, or ``sys.settrace``'s opcode events before Python
3.12), against a transport that answers at once, so no network code
runs. The counts are repeatable to the opcode; what they cost in time is for
the benchmarks proper to measure.

Run it as ``python -m benchmarks._opcodes [--items N] [--top K]``. Three
workloads, on 2 KiB documents and one signer, one signature widget:

- ``create_many``: ``documents.create_many`` of mappings at concurrency 64;
- ``workers``: 64 plain workers calling ``documents.create`` on the same
  items and handing the results through an :class:`asyncio.Queue`: what a
  bulk run costs beyond its single-item calls is the difference;
- ``contacts``: ``contacts.create``, one call after another.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from types import CodeType, FrameType
from typing import Any
from unittest import mock

from multidict import CIMultiDict, CIMultiDictProxy

import signing_async as sa
from signing_async.danasign import _pdf
from signing_async.transports import Request, Response

from ._payloads import pdf_bytes

__all__ = ["WORKLOADS", "client", "count", "main", "measure"]

_DOCUMENT = (
    b'{"documentId":"d1","status":"sent",'
    b'"sentAt":"2026-01-01T00:00:00Z","expiresAt":"2026-02-01T00:00:00Z"}'
)
_CONTACT = b'{"data":{"objectId":"c1","Name":"Ana","Email":"ana@example.com"}}'
_CONCURRENCY = 64

Counts = collections.Counter[str]


def _headers(content: bytes) -> CIMultiDictProxy[str]:
    # Read-only and case-insensitive, as aiohttp hands them over.
    return CIMultiDictProxy(
        CIMultiDict({"Content-Type": "application/json", "Content-Length": str(len(content))})
    )


class _Instant:
    """A transport answering every request at once: no network code runs.

    Not :class:`~signing_async.transports.MockTransport`, which records every
    request (its body read, kept in a list): its work would be counted as
    the SDK's, and its list would grow with the items.
    """

    def __init__(self) -> None:
        self._answers = {
            True: (_CONTACT, _headers(_CONTACT)),
            False: (_DOCUMENT, _headers(_DOCUMENT)),
        }

    async def send(self, request: Request) -> Response:
        content, headers = self._answers[request.url.endswith("/contacts")]
        return Response(200, headers=headers, content=content)

    async def aclose(self) -> None:
        return None


def _name(code: CodeType) -> str:
    path = re.sub(r".*/(signing_async|site-packages|lib/python3\.\d+)/", r"\1/", code.co_filename)
    return f"{code.co_name} ({path}:{code.co_firstlineno})"


async def count(work: Callable[[], Awaitable[object]]) -> Counts:
    """The opcodes each function executes while ``work`` runs, by function.

    On Python 3.12 and later through :mod:`sys.monitoring` (instruction
    events, in every thread: the workloads here run in one), where opcode
    tracing through ``sys.settrace`` misses the first runs of a function;
    before 3.12 through ``sys.settrace``, in this thread only. A tracer
    already in place (a coverage tool's) is left as it was.
    """
    if sys.version_info >= (3, 12):
        return await _count_monitored(work)
    return await _count_traced(work)


async def _count_traced(work: Callable[[], Awaitable[object]]) -> Counts:
    counts: Counts = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        name = _name(frame.f_code)

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "opcode":
                counts[name] += 1
            return local

        return local

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        await work()
    finally:
        sys.settrace(previous)
    return counts


async def _count_monitored(work: Callable[[], Awaitable[object]]) -> Counts:
    monitoring = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
    tool = next(
        (tool for tool in range(6) if monitoring.get_tool(tool) is None), None
    )  # 0 to 5 are the tool ids; coverage and profilers take some
    if tool is None:
        raise RuntimeError("every sys.monitoring tool id is in use")
    by_code: collections.Counter[CodeType] = collections.Counter()

    def instruction(code: CodeType, offset: int) -> None:
        by_code[code] += 1

    event = monitoring.events.INSTRUCTION
    monitoring.use_tool_id(tool, "benchmarks._opcodes")
    try:
        monitoring.register_callback(tool, event, instruction)
        monitoring.set_events(tool, event)
        try:
            await work()
        finally:
            monitoring.set_events(tool, 0)
            monitoring.register_callback(tool, event, None)
    finally:
        monitoring.free_tool_id(tool)
    counts: Counts = collections.Counter()
    for code, opcodes in by_code.items():
        counts[_name(code)] += opcodes
    return counts


def client() -> sa.SigningClient:
    """A DANAsign client on the instant transport: one per process, as an application has."""
    config = sa.DanaSignConfig(server_url="http://127.0.0.1:9", api_token="opcodes-token")
    return sa.SigningClient(danasign=config, transport=_Instant())


def _documents(count: int, prefix: str) -> Iterator[dict[str, Any]]:
    pdf = pdf_bytes(2048)
    signers = [sa.Signer(role="Client", name="Ana", email="ana@example.com")]
    widget = sa.Widget(type="signature", page=1, x=100, y=600, w=200, h=50)
    placeholders = [sa.Placeholder(role="Client", widgets=[widget])]
    for index in range(count):
        key = f"{prefix}-{index}"
        yield {
            "file": pdf,
            "title": f"Contract {key}",
            "signers": signers,
            "placeholders": placeholders,
            "metadata": sa.DocumentMetadata(external_id=key),
        }


async def _create_many(client: sa.SigningClient, count: int, prefix: str) -> None:
    run = client.documents.create_many(_documents(count, prefix), concurrency=_CONCURRENCY)
    async with run as outcomes:
        async for outcome in outcomes:
            if outcome.status != "succeeded":
                raise RuntimeError(f"{outcome.key}: {outcome.status}: {outcome.error}")


async def _workers(client: sa.SigningClient, count: int, prefix: str) -> None:
    items = _documents(count, prefix)
    results: asyncio.Queue[sa.CreatedDocument] = asyncio.Queue()

    async def worker() -> None:
        for item in items:
            await results.put(await client.documents.create(**item))

    async def reader() -> None:
        for _ in range(count):
            await results.get()

    await asyncio.gather(reader(), *(worker() for _ in range(_CONCURRENCY)))


async def _contacts(client: sa.SigningClient, count: int, prefix: str) -> None:
    for index in range(count):
        await client.contacts.create(name=f"Contact {index}", email=f"{prefix}{index}@example.com")


Workload = Callable[[sa.SigningClient, int, str], Awaitable[None]]

WORKLOADS: dict[str, Workload] = {
    "create_many": _create_many,
    "workers": _workers,
    "contacts": _contacts,
}
"""The workloads by name: each runs ``count`` items on a client."""


def _without_pypdf() -> bool:
    return False  # a plain function: a Mock's machinery would be counted on every call


PerItem = dict[str, float]
"""Opcodes per item, by function."""


async def measure(client: sa.SigningClient, name: str, items: int) -> PerItem:
    """The opcodes one more item of workload ``name`` costs, by function.

    Counted on a run of ``items`` and on a run of twice as many: their
    difference over ``items`` leaves out what a run costs once (its workers
    started, its client and journal opened and closed), so the figures do
    not depend on ``items``. This module's own code (the instant transport,
    the items' generator, the workers' loop) is left out; the
    :class:`asyncio.Queue` the plain workers hand their results through is
    counted. The ``[pdf]`` extra's page check is left out too: it is
    optional, and the worker thread it parses each PDF in would make the
    counts vary.
    """
    workload = WORKLOADS[name]
    with mock.patch.object(_pdf, "pypdf_installed", new=_without_pypdf):
        await workload(client, min(items, 200), f"{name}-warm-up")
        once = await count(lambda: workload(client, items, f"{name}-once"))
        twice = await count(lambda: workload(client, 2 * items, f"{name}-twice"))
    own = f"({__file__}:"
    return {
        function: (opcodes - once[function]) / items
        for function, opcodes in twice.items()
        if own not in function and opcodes != once[function]
    }


def _report(title: str, per_item: PerItem, top: int) -> None:
    print(f"{title}: {sum(per_item.values()):,.0f} opcodes per item")
    ranked = sorted(per_item.items(), key=lambda pair: -pair[1])
    for function, opcodes in ranked[:top]:
        print(f"  {opcodes:8.1f}  {function}")


async def _measure_all(items: int) -> dict[str, PerItem]:
    async with client() as shared:
        return {name: await measure(shared, name, items) for name in WORKLOADS}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._opcodes", description=__doc__)
    parser.add_argument("--items", type=int, default=1000, help="items of the shorter run")
    parser.add_argument("--top", type=int, default=25, help="functions listed per workload")
    args = parser.parse_args(argv)
    found = asyncio.run(_measure_all(args.items))
    for name, per_item in found.items():
        _report(name, per_item, args.top)
    many, workers = found["create_many"], found["workers"]
    beyond = {name: many.get(name, 0.0) - workers.get(name, 0.0) for name in {*many, *workers}}
    _report("create_many minus the plain workers (the engine), by function", beyond, args.top)


if __name__ == "__main__":
    main()
