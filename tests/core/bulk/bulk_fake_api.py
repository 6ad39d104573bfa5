"""A fake "create" endpoint for bulk engine tests: a real CoreSession on a MockTransport.

Each item is ``{"key": ..., "size": n}``; what the endpoint does with a key is
scripted per attempt (``faults``), and it counts what it received and what it
created, so tests can check that nothing was created twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio

from signing_async import (
    ConnectError,
    MockTransport,
    Response,
    RetryPolicy,
    Timeout,
    TransportError,
    ValidationError,
)
from signing_async._core.error_mapping import ErrorMapper
from signing_async._core.session import Call, CoreSession
from signing_async.transports._mock import RecordedRequest

ERRORS = ErrorMapper("Fake")


class FakeApi:
    """A scripted create endpoint.

    Faults, consumed one per attempt for a key (then plain success, or
    ``default_fault`` when set): ``"400"``, ``"401"``, ``"403"``, ``"503"``
    (nothing created), ``"500-created"`` (created, then 500), ``"connect"``
    (ConnectError), ``"drop-created"`` (created, then the connection is lost),
    ``"drop"`` (lost before creating), ``"garbage-created"`` (created, answer
    not JSON), ``"hold"`` (wait for :meth:`release`, then succeed).
    """

    def __init__(self, faults: Mapping[str, Sequence[str]] | None = None) -> None:
        self.faults = {key: list(steps) for key, steps in (faults or {}).items()}
        self.received: Counter[str] = Counter()
        self.created: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.completed = 0
        self.held = 0
        self.condition = anyio.Condition()
        self.released = anyio.Event()
        self.fill_to: int | None = None  # hold each request until this many are in flight
        self.total: int | None = None
        self.default_fault: str | None = None  # every attempt's fault when none is scripted
        self.transport = MockTransport(self._handle)
        self.session = CoreSession(
            self.transport,
            retry=RetryPolicy(backoff_initial=0.0, backoff_max=0.0),
            timeout=Timeout(),
        )

    async def send(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The single-item call: POST the item through the core session."""
        key = str(item["key"])
        if item.get("invalid"):
            raise ValidationError("item", "rejected before sending")
        payload = json.dumps({"key": key, "pad": "x" * int(item.get("size", 0))}).encode()
        call = Call(
            "Fake",
            f"create {key}",
            "POST",
            "https://api.test/items",
            ERRORS,
            headers={"Content-Type": "application/json"},
            body=payload,
        )
        answer: dict[str, Any] = await self.session.json(call)
        return answer

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate`` holds (re-checked after every change)."""
        async with self.condition:
            while not predicate():
                await self.condition.wait()

    async def release(self) -> None:
        """Let every held request (and any later one) through."""
        self.released.set()
        async with self.condition:
            self.condition.notify_all()

    async def _changed(self) -> None:
        async with self.condition:
            self.condition.notify_all()

    async def _handle(self, request: RecordedRequest) -> Response:
        key = json.loads(request.content)["key"]
        self.received[key] += 1
        steps = self.faults.get(key) or []
        fault = steps.pop(0) if steps else (self.default_fault or "ok")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await self._changed()
        try:
            if fault == "hold":
                self.held += 1
                await self._changed()
                await self.released.wait()
            if self.fill_to is not None:
                assert self.total is not None
                fill, total = self.fill_to, self.total
                await self.wait_for(lambda: self.in_flight >= min(fill, total - self.completed))
            return self._answer(key, fault)
        finally:
            self.in_flight -= 1
            self.completed += 1
            await self._changed()

    def _answer(self, key: str, fault: str) -> Response:
        if fault in ("401", "403"):
            return Response(int(fault), content=b'{"error": "refused"}')
        if fault == "400":
            return Response(400, content=b'{"error": "bad item"}')
        if fault == "503":
            return Response(503, content=b'{"error": "busy"}')
        if fault == "connect":
            raise ConnectError("refused")
        if fault == "drop":
            raise TransportError("connection lost", request_sent=True)
        self.created[key] += 1
        if fault == "500-created":
            return Response(500, content=b'{"error": "crashed after writing"}')
        if fault == "drop-created":
            raise TransportError("connection lost after sending", request_sent=True)
        if fault == "garbage-created":
            return Response(200, content=b"<html>ok</html>")
        return Response(201, content=json.dumps({"id": f"obj-{key}", "key": key}).encode())
