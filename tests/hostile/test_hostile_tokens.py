"""Hostile token endpoints: odd lifetimes keep single flight, odd tokens stop at the token step.

The server is the raw asyncio one: it grants whatever the test says and counts
token requests; the API route answers every call that gets through.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest

import signing_async as sa

from ..conftest import MINIMAL_PDF
from .server import HostileServer, RawRequest, answer_json

CALLERS = 50
GRANTED = "tok-123"
SIGNER = {"name": "Ana Gómez", "email": "ana@example.com", "nif": "12345678Z"}


class TokenServer:
    """DANAconnect's two routes: the token one answers ``grant``, the other accepts."""

    def __init__(self, grant: str) -> None:
        self.grant = grant
        self.token_requests = 0
        self.bearers: list[str] = []

    async def __call__(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        if request.path == "/oauth2/token":
            self.token_requests += 1
            await asyncio.sleep(0.01)  # a round trip, so that concurrent callers pile up
            await answer_json(writer, 200, self.grant)
        else:
            self.bearers.append(request.headers.get("authorization", ""))
            await answer_json(writer, 201, json.dumps({"circuitId": f"c-{len(self.bearers)}"}))


class RecordingStore(sa.MemoryTokenStore):
    """The default store, remembering every token set."""

    def __init__(self) -> None:
        super().__init__()
        self.stored: list[sa.AccessToken] = []

    async def set(self, key: str, token: sa.AccessToken) -> None:
        self.stored.append(token)
        await super().set(key, token)


async def start(client: sa.SigningClient, index: int) -> sa.Circuit:
    return await client.circuits.start(
        id=f"c-{index}", signer=SIGNER, docs=sa.Document(MINIMAL_PDF, "a.pdf")
    )


async def many_starts(client: sa.SigningClient) -> list[sa.Circuit | Exception]:
    """``CALLERS`` concurrent starts; each one's circuit or error."""
    results: list[sa.Circuit | Exception] = []

    async def one(index: int) -> None:
        try:
            results.append(await start(client, index))
        except sa.SigningError as exc:
            results.append(exc)

    async with anyio.create_task_group() as group:
        for index in range(CALLERS):
            group.start_soon(one, index)
    return results


Serve = Callable[..., Awaitable[tuple[TokenServer, sa.SigningClient]]]


@pytest.fixture
async def serve_tokens() -> AsyncIterator[Serve]:
    """Starts a TokenServer granting what it is told, and a client of it."""
    servers: list[HostileServer] = []
    clients: list[sa.SigningClient] = []

    async def make(
        grant: str, store: sa.TokenStore | None = None
    ) -> tuple[TokenServer, sa.SigningClient]:
        handler = TokenServer(grant)
        server = await HostileServer(handler).__aenter__()
        servers.append(server)
        client = sa.SigningClient(
            danaconnect=sa.DanaConnectConfig(
                client_id="id",
                client_secret="secret",
                channel="acme",
                base_url=server.url,
                download_base_url=server.url,
            ),
            retry=sa.RetryPolicy(max_retries=0),
            token_store=store,
        )
        clients.append(client)
        return handler, client

    yield make
    for client in clients:
        await client.aclose()
    for server in servers:
        await server.__aexit__(None, None, None)


def grant(access: str = GRANTED, **extra: object) -> str:
    return json.dumps({"access_token": access, "token_type": "Bearer", **extra})


@pytest.mark.parametrize(
    ("answer", "lifetime"),
    [
        pytest.param(grant(expires_in=0), 1.0, id="zero"),
        pytest.param(grant(expires_in=-3600), 1.0, id="negative"),
        pytest.param(grant(expires_in=1e-9), 1.0, id="a-nanosecond"),
        pytest.param(grant(expires_in="0"), 1.0, id="zero-as-text"),
        pytest.param(grant(expires_in=10**12), 86400.0, id="absurd"),
        pytest.param(grant(), 3600.0, id="missing"),
        pytest.param(grant(expires_in=None), 3600.0, id="null"),
    ],
)
async def test_odd_lifetimes_are_clamped_and_fifty_callers_send_one_token_request(
    serve_tokens: Serve, answer: str, lifetime: float
) -> None:
    store = RecordingStore()
    server, client = await serve_tokens(answer, store)

    results = await many_starts(client)

    assert all(isinstance(result, sa.Circuit) for result in results), results
    assert server.token_requests == 1
    assert set(server.bearers) == {"Bearer tok-123"}
    assert [token.lifetime for token in store.stored] == [lifetime]
    if lifetime >= 3600:
        # And later calls keep using it: the clamped lifetime is not over.
        # (Only for long lifetimes: a one-second token may be over by now.)
        await start(client, 99)
        assert server.token_requests == 1


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(grant(expires_in="soon"), id="text"),
        pytest.param(grant(expires_in=True), id="boolean"),
        pytest.param(grant(expires_in=[3600]), id="list"),
        pytest.param(grant(expires_in="NaN"), id="nan-as-text"),
        pytest.param(grant(expires_in="Infinity"), id="infinity-as-text"),
        pytest.param('{"access_token": "tok-123", "expires_in": 1e400}', id="overflowing"),
        pytest.param('{"access_token": "tok-123", "expires_in": NaN}', id="nan-literal"),
    ],
)
async def test_a_lifetime_that_is_not_a_number_is_refused_once_for_all_callers(
    serve_tokens: Serve, answer: str
) -> None:
    server, client = await serve_tokens(answer)

    results = await many_starts(client)

    assert all(isinstance(result, sa.ResponseDecodeError) for result in results), results
    assert "expires_in" in str(results[0])
    assert server.token_requests == 1
    assert server.bearers == []


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("tok\r\nX-Injected: 1", id="crlf"),
        pytest.param("tok\n", id="lf"),
        pytest.param("tök-123", id="non-ascii"),
        pytest.param("tok 123", id="space"),
        pytest.param("tok\x00123", id="nul"),
        pytest.param("tok\t123", id="tab"),
        pytest.param("", id="empty"),
        pytest.param("t" * 9000, id="huge"),
    ],
)
async def test_a_token_that_is_not_visible_ascii_is_refused_at_the_token_step(
    serve_tokens: Serve, token: str
) -> None:
    server, client = await serve_tokens(grant(token, expires_in=3600))

    results = await many_starts(client)

    assert all(isinstance(result, sa.ResponseDecodeError) for result in results), results
    message = str(results[0])
    assert message.startswith("DANAconnect get access token: the token in the answer")
    assert token not in message or not token
    assert results[0].__cause__ is None
    assert server.token_requests == 1  # single flight for the failure too
    assert server.bearers == []  # nothing was sent with it
    # A later call asks again (the server may have been fixed), and fails the same way.
    with pytest.raises(sa.ResponseDecodeError):
        await start(client, 99)
    assert server.token_requests == 2


async def test_a_danasign_session_token_that_is_not_visible_ascii_is_refused() -> None:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer_json(writer, 200, '{"sessionToken": "r:abc\\r\\nSet-Cookie: x=1"}')

    async with HostileServer(handler) as server:
        config = sa.DanaSignConfig(server_url=server.url, api_token="dsk_test_token")
        async with sa.SigningClient(danasign=config) as client:
            with pytest.raises(sa.ResponseDecodeError) as caught:
                await client.api_tokens.create_session()
    assert "DANAsign create session: the token in the answer holds" in str(caught.value)
    assert "Set-Cookie" not in str(caught.value)
