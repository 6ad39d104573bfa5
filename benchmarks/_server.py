"""A minimal server for the benchmarks, run in its own process on 127.0.0.1.

It emulates just enough of DANAconnect and DANAsign for the client to do its
whole job (authenticate, stream a body up, stream a ZIP down) while staying
cheap, so that the client, not the server, is what is measured. The full
sandbox validates everything and would be the bottleneck; only the bulk
benchmark runs against it, on purpose (``benchmarks._sandbox``).

Run as ``python -m benchmarks._server --zip PATH --small-zip PATH``; it prints
``PORT <n>`` on stdout once it accepts connections.

Endpoints:
    ``POST /oauth2/token``: a bearer token valid for the configured lifetime,
    after the configured delay (a remote OAuth server is not instant).
    ``POST /api/v1/biometric/start_circuit/{channel}``: reads the body as a
    stream and discards it, checking its length against Content-Length.
    ``GET /api/v1/biometric/document_circuit/{channel}/circuit/{id}``: the big
    ZIP (the small one for the id ``warm-up``).
    ``POST /api/1.0/contacts``: DANAsign's contact creation, a JSON
    ``{"name", "email"}`` in, ``201 {"data": {"objectId", "Name", "Email"}}``
    out.
    ``POST /api/1.0/createdocument``: DANAsign's document creation, a JSON
    object whose ``file`` holds the Base64 PDF (read as a stream and
    discarded, its length checked as above), answered with
    ``{"documentId", "status": "sent", "sentAt", "expiresAt"}``, after the
    configured ``document_delay`` (a provider's latency; none by default).
    Both DANAsign routes want the API token in an ``x-api-token`` header and
    answer 405 ``{"error": ...}`` when it is missing or wrong, as DANAsign does.
    ``GET /_bench/stats``: counters and the server's CPU time;
    ``POST /_bench/config``: sets ``token_ttl``, ``token_delay`` and
    ``document_delay`` (seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

API_TOKEN = "bench-api-token"
"""The DANAsign API token the benchmarks use."""

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

READ_CHUNK = 1 << 20


class State:
    """What the server counts and how it issues tokens."""

    def __init__(self, zip_path: Path, small_zip_path: Path) -> None:
        self.zip_path = zip_path
        self.small_zip_path = small_zip_path
        self.token_ttl = 3600.0
        self.token_delay = 0.0
        self.document_delay = 0.0
        self.tokens: dict[str, float] = {}
        self.ids = itertools.count(1)
        self.counters: dict[str, int] = {
            "token_requests": 0,
            "rejected_tokens": 0,
            "circuits": 0,
            "downloads": 0,
            "contacts": 0,
            "documents": 0,
            "bytes_received": 0,
            "length_mismatches": 0,
        }

    def stats(self) -> dict[str, Any]:
        return {**self.counters, "cpu_seconds": time.process_time()}


STATE = web.AppKey("state", State)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _bearer_problem(state: State, request: web.Request) -> web.Response | None:
    header = request.headers.get("Authorization", "")
    expiry = state.tokens.get(header[7:]) if header.startswith("Bearer ") else None
    if expiry is None or expiry <= time.monotonic():
        state.counters["rejected_tokens"] += 1
        return _error(401, "token invalid or expired")
    return None


async def _consume(state: State, request: web.Request) -> web.Response | None:
    """Read the body as a stream, keep nothing, check it against Content-Length."""
    expected = request.content_length
    received = 0
    first = last = b""
    async for chunk in request.content.iter_chunked(READ_CHUNK):
        if not first:
            first = chunk[:1]
        last = chunk[-1:]
        received += len(chunk)
    state.counters["bytes_received"] += received
    if expected is None or received != expected:
        state.counters["length_mismatches"] += 1
        return _error(400, f"body of {received} bytes, Content-Length {expected}")
    if first != b"{" or last != b"}":
        return _error(400, "the body is not a JSON object")
    return None


async def token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.counters["token_requests"] += 1
    await request.read()
    if request.headers.get("Authorization") != BASIC:
        return _error(401, "bad client credentials")
    if state.token_delay:
        await asyncio.sleep(state.token_delay)
    value = f"tok-{next(state.ids)}"
    state.tokens[value] = time.monotonic() + state.token_ttl
    return web.json_response(
        {"access_token": value, "expires_in": state.token_ttl, "token_type": "Bearer"}
    )


async def start_circuit(request: web.Request) -> web.Response:
    state = request.app[STATE]
    problem = _bearer_problem(state, request) or await _consume(state, request)
    if problem is not None:
        return problem
    state.counters["circuits"] += 1
    circuit = str(next(state.ids))
    return web.json_response({"circuitId": circuit, "link": f"http://127.0.0.1/sign/{circuit}"})


async def download(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    problem = _bearer_problem(state, request)
    if problem is not None:
        return problem
    state.counters["downloads"] += 1
    small = request.match_info["circuit"] == "warm-up"
    path = state.small_zip_path if small else state.zip_path
    return web.FileResponse(path, headers={"Content-Type": "application/zip"})


def _api_token_problem(request: web.Request) -> web.Response | None:
    if request.headers.get("x-api-token") != API_TOKEN:
        return _error(405, "token missing or invalid")  # DANAsign's status for bad tokens
    return None


async def create_contact(request: web.Request) -> web.Response:
    state = request.app[STATE]
    problem = _api_token_problem(request)
    if problem is not None:
        return problem
    try:
        body = json.loads(await request.read())
        name, email = body["name"], body["email"]
    except (ValueError, KeyError, TypeError):
        return _error(400, "name and email are required")
    state.counters["contacts"] += 1
    contact = {"objectId": f"ct{next(state.ids)}", "Name": name, "Email": email}
    return web.json_response({"data": contact}, status=201)


async def create_document(request: web.Request) -> web.Response:
    state = request.app[STATE]
    problem = _api_token_problem(request) or await _consume(state, request)
    if problem is not None:
        return problem
    state.counters["documents"] += 1
    if state.document_delay:
        await asyncio.sleep(state.document_delay)
    return web.json_response(
        {
            "documentId": f"doc{next(state.ids)}",
            "status": "sent",
            "sentAt": "2025-01-01T00:00:00.000Z",
            "expiresAt": "2025-01-31T00:00:00.000Z",
        }
    )


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].stats())


async def configure(request: web.Request) -> web.Response:
    state = request.app[STATE]
    settings = await request.json()
    state.token_ttl = float(settings.get("token_ttl", state.token_ttl))
    state.token_delay = float(settings.get("token_delay", state.token_delay))
    state.document_delay = float(settings.get("document_delay", state.document_delay))
    return web.json_response(state.stats())


def make_app(zip_path: Path, small_zip_path: Path) -> web.Application:
    """The server's application."""
    app = web.Application()
    app[STATE] = State(zip_path, small_zip_path)
    app.router.add_post("/oauth2/token", token)
    app.router.add_post("/api/v1/biometric/start_circuit/{channel}", start_circuit)
    app.router.add_get("/api/v1/biometric/document_circuit/{channel}/circuit/{circuit}", download)
    app.router.add_post("/api/1.0/contacts", create_contact)
    app.router.add_post("/api/1.0/createdocument", create_document)
    app.router.add_get("/_bench/stats", stats)
    app.router.add_post("/_bench/config", configure)
    return app


async def serve(zip_path: Path, small_zip_path: Path, port: int) -> None:
    """Serve until the process is terminated; print the port once ready."""
    # No access log (it would cost more than some handlers) and a 1 MiB read
    # buffer, so that reading uploads is not what limits their speed.
    runner = web.AppRunner(
        make_app(zip_path, small_zip_path), access_log=None, read_bufsize=1 << 20
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    sys.stdout.write(f"PORT {bound}\n")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zip", type=Path, required=True, help="the ZIP to serve")
    parser.add_argument("--small-zip", type=Path, required=True, help="the warm-up ZIP")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.zip, args.small_zip, args.port))


if __name__ == "__main__":
    main()
