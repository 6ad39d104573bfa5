"""A loopback DANAconnect emulator, independent of the sandbox: token, start_circuit, download.

The one hand-written DANAconnect of the suite (beside the sandbox), for
faults the sandbox cannot stage.

It counts, per circuit ``id``, the requests received and the circuits created,
checks each request as the real API would (a Bearer token, the documents'
Base64 and sizes), and injects faults scripted per id, one per attempt:

- ``"503"``, ``"400"``: answered, nothing created;
- ``"429"``: 429 with ``Retry-After: 0``, nothing created;
- ``"500-created"``: created, then a 500;
- ``"502-created"``, ``"504-created"``: created, then a gateway's 502 or 504
  (its upstream acted, the answer was lost);
- ``"drop-created"``: created, then the connection is dropped;
- ``"drop"``: the connection is dropped, nothing created;
- ``"hold-created"``: created, then no answer until :meth:`release`;
- ``"hold"``: no answer until :meth:`release`, nothing created;
- ``"400-long"``: a 400 whose error body (300 KB) is longer than a client reads.

Ids without a script (or whose script is used up) may instead draw a fault
from a random ``mix`` (seeded), each attempt, after a random ``latency``.

Downloads serve :attr:`CircuitServer.zip_bytes` for any circuit id, except
that each request first takes the next of :attr:`CircuitServer.download_faults`:
``"drop"`` (no answer), ``"503"`` (with ``Retry-After: 0``), ``"409"`` (not
completed), ``"truncate"`` (half the body, then the connection is dropped),
``"stall"`` (half the body, then nothing until :meth:`release`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from aiohttp import web

import signing_async as sa

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def circuit_item(index: int, **changes: Any) -> dict[str, Any]:
    """The keyword arguments of ``circuits.start`` for circuit ``c-{index}``."""
    item: dict[str, Any] = {
        "id": f"c-{index}",
        "signer": {"name": f"Signer {index}", "email": f"s{index}@example.com", "nif": f"N{index}"},
        "docs": [sa.Document(PDF, f"contract-{index}.pdf")],
    }
    item.update(changes)
    return item


class CircuitServer:
    """Start with ``async with CircuitServer(faults) as server``.

    Args:
        faults: Per circuit id, the fault of each attempt, in order.
        mix: Faults drawn at random for the other attempts, with their
            probabilities (the rest are answered normally).
        latency: The range of a random wait before each answer, in seconds.
        seed: Seeds the draws of ``mix`` and ``latency``.
    """

    def __init__(
        self,
        faults: Mapping[str, Sequence[str]] | None = None,
        *,
        mix: Sequence[tuple[str, float]] = (),
        latency: tuple[float, float] | None = None,
        seed: int = 0,
    ) -> None:
        self.faults = {key: list(steps) for key, steps in (faults or {}).items()}
        self.mix = mix
        self.latency = latency
        self._random = random.Random(seed)  # noqa: S311 - fault draws, not cryptography
        self.drawn: Counter[str] = Counter()
        self.history: dict[str, list[str]] = {}
        self.received: Counter[str] = Counter()
        self.created: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.completed = 0
        self.held = 0
        self.fill_to: int | None = None
        self.total = 0
        self._changed = asyncio.Condition()
        self._released = asyncio.Event()
        self.tokens = 0
        self.bodies: list[bytes] = []  # every start_circuit body, as received
        self.uploads: list[
            tuple[str | None, str | None]
        ] = []  # its Content-Length, Transfer-Encoding
        self.documents: dict[str, dict[str, bytes]] = {}  # per circuit id, its documents decoded
        self.on_token: Callable[[], object] | None = None  # run as each token is handed out
        self.zip_bytes = b"PK\x05\x06" + bytes(18)  # an empty ZIP unless a test sets one
        self.download_faults: list[str] = []
        self.downloads = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def config(self) -> sa.DanaConnectConfig:
        return sa.DanaConnectConfig(
            client_id="bulk-client",
            client_secret="bulk-secret",
            channel="acme",
            base_url=self.base_url,
            download_base_url=self.base_url,
        )

    def client(self, **options: Any) -> sa.SigningClient:
        options.setdefault("retry", sa.RetryPolicy(backoff_initial=0.0, backoff_max=0.0))
        return sa.SigningClient(danaconnect=self.config(), **options)

    async def __aenter__(self) -> CircuitServer:
        app = web.Application(client_max_size=64 << 20)
        app.router.add_post("/oauth2/token", self._token)
        app.router.add_post("/api/v1/biometric/start_circuit/{channel}", self._start_circuit)
        app.router.add_get(
            "/api/v1/biometric/document_circuit/{channel}/circuit/{circuit}", self._download
        )
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()
        assert self._runner is not None
        await self._runner.cleanup()

    async def release(self) -> None:
        """Let held requests go: their connections are dropped, nothing more is created."""
        self._released.set()
        await self._notify()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        async with self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _token(self, request: web.Request) -> web.Response:
        expected = base64.b64encode(b"bulk-client:bulk-secret").decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client"}, status=401)
        self.tokens += 1
        if self.on_token is not None:
            self.on_token()
        return web.json_response({"access_token": "tok-1", "expires_in": 3600})

    async def _start_circuit(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != "Bearer tok-1":
            return web.json_response({"error": "invalid token"}, status=401)
        raw = await request.read()
        self.bodies.append(raw)
        self.uploads.append(
            (request.headers.get("Content-Length"), request.headers.get("Transfer-Encoding"))
        )
        body = json.loads(raw)
        circuit_id = body["id"]
        documents: dict[str, bytes] = {}
        for doc in body["docs"]:
            content = base64.b64decode(doc["content"], validate=True)
            if not content.startswith(b"%PDF-") or len(content) != doc["size"]:
                return web.json_response({"error": "bad document"}, status=400)
            documents[doc["name"]] = content
        self.documents[circuit_id] = documents
        self.received[circuit_id] += 1
        steps = self.faults.get(circuit_id) or []
        fault = steps.pop(0) if steps else self._draw()
        self.history.setdefault(circuit_id, []).append(fault)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await self._notify()
        try:
            if self.fill_to is not None:
                fill = self.fill_to
                await self.wait_for(
                    lambda: self.in_flight >= min(fill, self.total - self.completed)
                )
            if self.latency is not None:
                await asyncio.sleep(self._random.uniform(*self.latency))
            return await self._answer(request, circuit_id, fault)
        finally:
            self.in_flight -= 1
            self.completed += 1
            await self._notify()

    async def _download(self, request: web.Request) -> web.StreamResponse:
        self.downloads += 1
        fault = self.download_faults.pop(0) if self.download_faults else "ok"
        if request.headers.get("Authorization") != "Bearer tok-1":
            return web.json_response({"error": "invalid token"}, status=401)
        if fault == "drop":
            return await self._hold_and_drop(request, fault)
        if fault == "503":
            return web.json_response({"error": "busy"}, status=503, headers={"Retry-After": "0"})
        if fault == "409":
            return web.json_response({"error": "circuit not completed"}, status=409)
        response = web.StreamResponse(
            headers={"Content-Type": "application/zip", "Content-Length": str(len(self.zip_bytes))}
        )
        await response.prepare(request)
        if fault in ("truncate", "stall"):
            await response.write(self.zip_bytes[: len(self.zip_bytes) // 2])
            return await self._hold_and_drop(request, "hold" if fault == "stall" else "drop")
        for start in range(0, len(self.zip_bytes), 64 * 1024):
            await response.write(self.zip_bytes[start : start + 64 * 1024])
        await response.write_eof()
        return response

    def _draw(self) -> str:
        point = self._random.random()
        for fault, probability in self.mix:
            if point < probability:
                self.drawn[fault] += 1
                return fault
            point -= probability
        return "ok"

    async def _answer(
        self, request: web.Request, circuit_id: str, fault: str
    ) -> web.StreamResponse:
        if fault in ("503", "400"):
            return web.json_response({"error": f"fault {fault}"}, status=int(fault))
        if fault == "400-long":
            return web.json_response({"error": "refused: " + "x" * 300_000}, status=400)
        if fault == "429":
            return web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": "0"}
            )
        if fault in ("drop", "hold"):
            return await self._hold_and_drop(request, fault)
        self.created[circuit_id] += 1
        if fault == "500-created":
            return web.json_response({"error": "crashed after writing"}, status=500)
        if fault in ("502-created", "504-created"):
            # A gateway's own page, not the API's JSON: the upstream's answer was lost.
            status = int(fault[:3])
            return web.Response(text=f"<html>{status} from the gateway</html>", status=status)
        if fault in ("drop-created", "hold-created"):
            return await self._hold_and_drop(request, fault)
        return web.json_response(
            {"circuitId": f"circ-{circuit_id}", "link": f"{self.base_url}/sign/{circuit_id}"}
        )

    async def _hold_and_drop(self, request: web.Request, fault: str) -> web.StreamResponse:
        if fault.startswith("hold"):
            self.held += 1
            await self._notify()
            await self._released.wait()
        assert request.transport is not None
        request.transport.close()
        raise asyncio.CancelledError  # no answer: the client sees the connection drop
