"""The suite's one hand-written DANAconnect (beside the sandbox): token, start_circuit, download.

:class:`FakeDanaConnect` answers requests as the real API would, checking
each one (Basic credentials for a token, a Bearer token it issued, the
documents' Base64 and sizes), and counts, per circuit ``id``, the requests
received and the circuits created. It is reached two ways, with the same
behaviour:

- in process, as a :class:`~signing_async.MockTransport` handler
  (``sa.MockTransport(fake)``), for most tests;
- over real sockets, ``async with fake:`` serving it on 127.0.0.1, for what
  only a socket shows (dropped connections, truncated bodies, a transport's
  own framing) and for other threads or processes.

**Scripts**, consumed one per request before the default behaviour resumes:
``token_script``, ``start_script``, ``download_script``; each answer is a
response, an exception to raise, or a function of the request.

**Faults** scripted per circuit id, one per attempt (``faults``), or drawn
at random from ``mix`` (seeded) after a random ``latency``:

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

Downloads serve :attr:`FakeDanaConnect.zip_bytes`, except that each request
first takes the next of :attr:`FakeDanaConnect.download_faults`: ``"drop"``
(no answer), ``"503"`` (with ``Retry-After: 0``), ``"409"`` (not completed),
``"truncate"`` (half the body, then the connection is dropped), ``"stall"``
(half the body, then nothing until :meth:`release`).

A dropped connection is :class:`Dropped`, a :class:`~signing_async.TransportError`
raised after the request was sent: in process the client sees it as is; over
sockets the server closes the connection instead.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import io
import json
import random
import zipfile
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.lowlevel
from aiohttp import web

import signing_async as sa
from signing_async.transports import RecordedRequest

API = "https://biometric.danaconnect.com"
DOWNLOAD = "https://acme.esignature-platform.com"
CLIENT_ID = "acme-client-id"
CLIENT_SECRET = "Sup3r-S3cret-Value-9f2"
CHANNEL = "acme"

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EMPTY_ZIP = b"PK\x05\x06" + bytes(18)

Scripted = (
    sa.Response
    | BaseException
    | Callable[[RecordedRequest], "sa.Response | Awaitable[sa.Response]"]
)
"""One scripted answer: a response, an exception to raise, or a function of the request."""


class Dropped(sa.TransportError):
    """The connection is dropped after the request arrived (a socket is closed instead)."""


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> sa.Response:
    """A JSON answer."""
    return sa.Response(
        status,
        headers={"Content-Type": "application/json", **(headers or {})},
        content=json.dumps(payload).encode(),
    )


def make_zip(files: dict[str, bytes]) -> bytes:
    """A ZIP archive holding ``files`` (stored, so its size is predictable)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def bearer(request: RecordedRequest) -> str:
    """The access token a request carried."""
    value = request.headers["Authorization"]
    assert value.startswith("Bearer ")
    return value.removeprefix("Bearer ")


def circuit_item(index: int, **changes: Any) -> dict[str, Any]:
    """The keyword arguments of ``circuits.start`` for circuit ``c-{index}``."""
    item: dict[str, Any] = {
        "id": f"c-{index}",
        "signer": {"name": f"Signer {index}", "email": f"s{index}@example.com", "nif": f"N{index}"},
        "docs": [sa.Document(PDF, f"contract-{index}.pdf")],
    }
    item.update(changes)
    return item


class _Body:
    """A response body that yields ``head``, then drops the connection (after a hold)."""

    def __init__(self, head: bytes, hold: Callable[[], Awaitable[None]] | None) -> None:
        self._head = head
        self._hold = hold

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        for start in range(0, len(self._head), size):
            yield self._head[start : start + size]
        if self._hold is not None:
            await self._hold()
        raise Dropped("the connection was dropped mid-body")

    async def aclose(self) -> None:
        pass


class FakeDanaConnect:
    """DANAconnect, scripted per endpoint and per circuit id (see the module's docstring).

    Args:
        faults: Per circuit id, the fault of each attempt, in order.
        zip_bytes: What a download serves (an empty ZIP by default).
        mix: Faults drawn at random for the other attempts, with their
            probabilities (the rest are answered normally).
        latency: The range of a random wait before each start's answer, in seconds.
        seed: Seeds the draws of ``mix`` and ``latency``.
        client_id: The credentials the token endpoint accepts.
        client_secret: Their secret.
    """

    def __init__(
        self,
        faults: Mapping[str, Sequence[str]] | None = None,
        *,
        zip_bytes: bytes = EMPTY_ZIP,
        mix: Sequence[tuple[str, float]] = (),
        latency: tuple[float, float] | None = None,
        seed: int = 0,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
    ) -> None:
        self.faults = {key: list(steps) for key, steps in (faults or {}).items()}
        self.zip_bytes = zip_bytes
        self.mix = mix
        self.latency = latency
        self.client_id = client_id
        self.client_secret = client_secret
        self._random = random.Random(seed)  # noqa: S311 - fault draws, not cryptography
        # Tokens.
        self.expires_in: float = 3600
        self.issued: list[str] = []
        self.on_token: Callable[[], object] | None = None  # run as each token is handed out
        # What arrived, per endpoint, and the scripts that answer first.
        self.token_requests: list[RecordedRequest] = []
        self.start_requests: list[RecordedRequest] = []
        self.download_requests: list[RecordedRequest] = []
        self.token_script: list[Scripted] = []
        self.start_script: list[Scripted] = []
        self.download_script: list[Scripted] = []
        # Circuits, per id.
        self.drawn: Counter[str] = Counter()
        self.history: dict[str, list[str]] = {}
        self.received: Counter[str] = Counter()
        self.created: Counter[str] = Counter()
        self.bodies: list[bytes] = []  # every accepted start_circuit body
        self.uploads: list[
            tuple[str | None, str | None]
        ] = []  # its Content-Length, Transfer-Encoding
        self.documents: dict[str, dict[str, bytes]] = {}  # per circuit id, its documents decoded
        self.download_faults: list[str] = []
        # Concurrency, for tests that hold requests.
        self.in_flight = 0
        self.max_in_flight = 0
        self.completed = 0
        self.held = 0
        self.fill_to: int | None = None  # hold each start until this many are in flight
        self.total = 0
        self._changed: anyio.Condition | None = None
        self._released = False
        # Loopback serving.
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    # -- as the client sees it -------------------------------------------------------------

    @property
    def current_token(self) -> str:
        """The last token issued."""
        return self.issued[-1]

    @property
    def tokens(self) -> int:
        """How many tokens were issued."""
        return len(self.issued)

    @property
    def downloads(self) -> int:
        """How many download requests arrived."""
        return len(self.download_requests)

    def config(self) -> sa.DanaConnectConfig:
        """Client settings for this fake: its loopback URL once served, else the default hosts."""
        hosts: dict[str, Any] = (
            {"base_url": self.base_url, "download_base_url": self.base_url}
            if self.base_url
            else {"subdomain": "acme"}
        )
        return sa.DanaConnectConfig(
            client_id=self.client_id, client_secret=self.client_secret, channel=CHANNEL, **hosts
        )

    def client(self, **options: Any) -> sa.SigningClient:
        """A client of this fake (over its sockets once served), without retry waits."""
        options.setdefault("retry", sa.RetryPolicy(backoff_initial=0.0, backoff_max=0.0))
        if not self.base_url:
            options.setdefault("transport", sa.MockTransport(self))
        return sa.SigningClient(danaconnect=self.config(), **options)

    # -- holding and releasing -------------------------------------------------------------

    def _condition(self) -> anyio.Condition:
        # Made at first use, inside the loop that uses it.
        if self._changed is None:
            self._changed = anyio.Condition()
        return self._changed

    async def _notify(self) -> None:
        changed = self._condition()
        async with changed:
            changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds (checked at every change)."""
        changed = self._condition()
        async with changed:
            while not predicate():
                await changed.wait()

    async def release(self) -> None:
        """Let held requests go: their connections are dropped, nothing more is created."""
        self._released = True
        await self._notify()

    async def _hold(self) -> None:
        self.held += 1
        await self._notify()
        await self.wait_for(lambda: self._released)

    # -- answering -------------------------------------------------------------------------

    async def __call__(self, request: RecordedRequest) -> sa.Response:
        path = urlsplit(request.url).path
        requests: list[RecordedRequest]
        script: list[Scripted]
        default: Scripted
        if path == "/oauth2/token":
            requests, script, default = self.token_requests, self.token_script, self._token
        elif path.startswith("/api/v1/biometric/start_circuit/"):
            requests, script, default = self.start_requests, self.start_script, self._start
        elif path.startswith("/api/v1/biometric/document_circuit/"):
            requests, script, default = (
                self.download_requests,
                self.download_script,
                self._download,
            )
        else:
            return json_response(404, {"error": f"no route {path}"})
        requests.append(request)
        answer: Scripted = script.pop(0) if script else default
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, sa.Response):
            return answer
        result = answer(request)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _token(self, request: RecordedRequest) -> sa.Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return json_response(401, {"error": "invalid_client"})
        # Yield a few times, as a real round trip would, so concurrent callers pile up.
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        self.issued.append(f"access-{len(self.issued) + 1}-Zq8WvT")
        if self.on_token is not None:
            self.on_token()
        return json_response(
            200,
            {
                "access_token": self.issued[-1],
                "expires_in": self.expires_in,
                "token_type": "Bearer",
            },
        )

    def _authorized(self, request: RecordedRequest) -> bool:
        value = request.headers.get("Authorization", "")
        return value.startswith("Bearer ") and value.removeprefix("Bearer ") in self.issued

    async def _start(self, request: RecordedRequest) -> sa.Response:
        if not self._authorized(request):
            return json_response(401, {"error": "invalid token"})
        self.bodies.append(request.content)
        self.uploads.append(
            (request.headers.get("Content-Length"), request.headers.get("Transfer-Encoding"))
        )
        body = json.loads(request.content)
        circuit_id = body["id"]
        documents: dict[str, bytes] = {}
        for doc in body["docs"]:
            content = base64.b64decode(doc["content"], validate=True)
            if not content.startswith(b"%PDF-") or len(content) != doc["size"]:
                return json_response(400, {"error": "bad document"})
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
                await anyio.sleep(self._random.uniform(*self.latency))
            return await self._answer(circuit_id, fault)
        finally:
            self.in_flight -= 1
            self.completed += 1
            await self._notify()

    def _draw(self) -> str:
        point = self._random.random()
        for fault, probability in self.mix:
            if point < probability:
                self.drawn[fault] += 1
                return fault
            point -= probability
        return "ok"

    async def _answer(self, circuit_id: str, fault: str) -> sa.Response:
        if fault in ("503", "400"):
            return json_response(int(fault), {"error": f"fault {fault}"})
        if fault == "400-long":
            return json_response(400, {"error": "refused: " + "x" * 300_000})
        if fault == "429":
            return json_response(429, {"error": "slow down"}, {"Retry-After": "0"})
        if fault in ("drop", "hold"):
            return await self._drop(fault)
        self.created[circuit_id] += 1
        if fault == "500-created":
            return json_response(500, {"error": "crashed after writing"})
        if fault in ("502-created", "504-created"):
            # A gateway's own page, not the API's JSON: the upstream's answer was lost.
            status = int(fault[:3])
            return sa.Response(
                status,
                headers={"Content-Type": "text/html"},
                content=f"<html>{status} from the gateway</html>".encode(),
            )
        if fault in ("drop-created", "hold-created"):
            return await self._drop(fault)
        link = self.base_url or DOWNLOAD
        return json_response(
            201, {"circuitId": f"circ-{circuit_id}", "link": f"{link}/sign/{circuit_id}"}
        )

    async def _drop(self, fault: str) -> sa.Response:
        if fault.startswith("hold"):
            await self._hold()
        raise Dropped(f"the server dropped the connection ({fault})")

    async def _download(self, request: RecordedRequest) -> sa.Response:
        fault = self.download_faults.pop(0) if self.download_faults else "ok"
        if not self._authorized(request):
            return json_response(401, {"error": "invalid token"})
        if fault == "drop":
            return await self._drop(fault)
        if fault == "503":
            return json_response(503, {"error": "busy"}, {"Retry-After": "0"})
        if fault == "409":
            return json_response(409, {"error": "circuit not completed"})
        headers = {"Content-Type": "application/zip", "Content-Length": str(len(self.zip_bytes))}
        if fault in ("truncate", "stall"):
            head = self.zip_bytes[: len(self.zip_bytes) // 2]
            hold = self._hold if fault == "stall" else None
            return sa.Response(200, headers=headers, stream=_Body(head, hold))
        return sa.Response(200, headers=headers, content=self.zip_bytes)

    # -- over sockets ----------------------------------------------------------------------

    async def __aenter__(self) -> FakeDanaConnect:
        app = web.Application(client_max_size=64 << 20)
        app.router.add_route("*", "/{tail:.*}", self._serve)
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

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        content = await request.read()
        recorded = RecordedRequest(
            request.method,
            str(request.url),
            dict(request.headers),
            content,
            sa.Request(request.method, str(request.url), dict(request.headers), content),
        )
        try:
            answer = await self(recorded)
            headers = dict(answer.headers)
            if not isinstance(answer.stream, _Body):
                return web.Response(status=answer.status, headers=headers, body=await answer.read())
            response = web.StreamResponse(status=answer.status, headers=headers)
            await response.prepare(request)
            async for chunk in answer.stream.iter_chunks(64 * 1024):
                await response.write(chunk)
        except Dropped:
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError from None  # no answer: the client sees the drop
        raise AssertionError("a _Body always ends in Dropped")
