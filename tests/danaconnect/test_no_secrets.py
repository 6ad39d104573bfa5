"""No secret in any repr, exception or log record, across success and every failure."""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

import signing_async as sa

from ..conftest import Serve
from .fake import CHANNEL, CLIENT_ID, CLIENT_SECRET, FakeDanaConnect, json_response

BASIC = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


def chain(error: BaseException) -> list[BaseException]:
    """The error and every exception it was raised from or while handling."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


class Run:
    """Collects everything a secret could leak into."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.texts: list[str] = []

    async def expect(
        self, cls: type[BaseException], action: Callable[[], Awaitable[object]]
    ) -> None:
        with pytest.raises(cls) as caught:
            await action()
        self.errors.append(caught.value)

    def check(self, secrets: list[str], log_text: str) -> None:
        assert secrets
        texts = [log_text, *self.texts]
        for error in self.errors:
            for link in chain(error):
                texts += [str(link), repr(link), repr(vars(link))]
        for secret in secrets:
            for text in texts:
                assert secret not in text


@pytest.fixture
def caplog_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


async def test_mock_run(
    client: sa.SigningClient,
    config: sa.DanaConnectConfig,
    transport: sa.MockTransport,
    fake: FakeDanaConnect,
    pdf_bytes: bytes,
    tmp_path: Path,
    caplog_debug: pytest.LogCaptureFixture,
) -> None:
    run = Run()
    signer = {"name": "Ana", "email": "ana@example.com", "nif": "1"}
    circuits = client.circuits

    async def start() -> sa.Circuit:
        return await circuits.start(id="1", signer=signer, docs=pdf_bytes)

    async def download() -> sa.DownloadedFile:
        return await circuits.download_to("1", tmp_path / "signed.zip")

    await start()  # success
    await download()
    fake.start_script.append(json_response(401, {"error": "expired"}))
    await start()  # refresh and replay
    fake.start_script.extend([json_response(401, {"error": "rejected"})] * 2)
    await run.expect(sa.AuthenticationError, start)
    fake.start_script.append(json_response(500, {"error": "internal"}))
    await run.expect(sa.ServerError, start)
    fake.start_script.extend([json_response(503, {}), sa.ConnectError("refused")])
    await start()  # retried
    fake.start_script.append(sa.RequestTimeout("read timed out"))
    await run.expect(sa.RequestTimeout, start)
    fake.download_script.extend([sa.RequestTimeout("read timed out")] * 3)
    await run.expect(sa.RequestTimeout, download)
    fake.download_script.append(json_response(409, {"error": "circuit not completed"}))
    await run.expect(sa.ConflictError, download)
    fake.start_script.append(json_response(429, {}, {"Retry-After": "600"}))
    await run.expect(sa.RateLimitError, start)

    # A token endpoint that answers in a form the SDK does not read, with the
    # token in it: the decode error must not quote it.
    await client.aclose()
    fake.token_script.append(
        sa.Response(200, content=b"access_token=leaked-token-123&expires_in=3600")
    )
    async with sa.SigningClient(danaconnect=config, transport=transport) as other:
        await run.expect(
            sa.ResponseDecodeError,
            lambda: other.circuits.start(id="2", signer=signer, docs=pdf_bytes),
        )
    # Wrong credentials.
    fake.token_script.append(json_response(401, {"error": "invalid_client"}))
    async with sa.SigningClient(danaconnect=config, transport=transport) as other:
        await run.expect(
            sa.AuthenticationError,
            lambda: other.circuits.start(id="3", signer=signer, docs=pdf_bytes),
        )

    run.texts += [repr(config), str(config), repr(client), repr(circuits)]
    run.texts += [repr(request) for request in transport.requests]
    run.texts += [repr(request.request) for request in transport.requests]
    assert len(fake.issued) >= 3
    assert "attempt" in caplog_debug.text  # the log did record the run
    run.check([CLIENT_SECRET, BASIC, "leaked-token-123", *fake.issued], caplog_debug.text)


@pytest.fixture
async def live(serve: Serve) -> tuple[str, list[str]]:
    tokens: list[str] = []

    async def token(request: web.Request) -> web.Response:
        tokens.append(f"live-token-{len(tokens)}-Xy")
        return web.json_response({"access_token": tokens[-1], "expires_in": 3600})

    async def start(request: web.Request) -> web.StreamResponse:
        await request.read()
        if request.match_info["channel"] == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if request.match_info["channel"] == "slow":
            await asyncio.Event().wait()  # never answers; cancelled when the server stops
        return web.json_response({"error": "token not accepted"}, status=401)

    app = web.Application()
    app.router.add_post("/oauth2/token", token)
    app.router.add_post("/api/v1/biometric/start_circuit/{channel}", start)
    return await serve(app), tokens


async def test_live_run(
    live: tuple[str, list[str]], pdf_bytes: bytes, caplog_debug: pytest.LogCaptureFixture
) -> None:
    base, tokens = live
    run = Run()
    signer = {"name": "Ana", "email": "ana@example.com", "nif": "1"}
    for channel, cls in (
        ("drop", sa.TransportError),
        ("slow", sa.RequestTimeout),
        (CHANNEL, sa.AuthenticationError),
    ):
        config = sa.DanaConnectConfig(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            channel=channel,
            base_url=base,
            download_base_url=base,
        )
        async with sa.SigningClient(
            danaconnect=config,
            retry=sa.RetryPolicy(backoff_initial=0),
            timeout=sa.Timeout(read=0.1),
        ) as client:
            start = functools.partial(client.circuits.start, id="1", signer=signer, docs=pdf_bytes)
            await run.expect(cls, start)
    assert tokens
    run.check([CLIENT_SECRET, BASIC, *tokens], caplog_debug.text)
