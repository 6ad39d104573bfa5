"""DANAconnect's OAuth token through the client: single flight, expiry and 401 replays."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio
import attrs
import pytest

import signing_async as sa
from signing_async.transports import RecordedRequest

from .fake import FakeDanaConnect, bearer, json_response


class AgeableStore(sa.MemoryTokenStore):
    """The in-memory store, plus a way to make every token it holds expire now."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: set[str] = set()

    async def set(self, key: str, token: sa.AccessToken) -> None:
        self.keys.add(key)
        await super().set(key, token)

    async def expire_all(self, *, remaining: float = -1.0) -> None:
        """Leave every token with ``remaining`` seconds on the monotonic clock."""
        for key in self.keys:
            token = await self.get(key)
            if token is not None:
                now = time.monotonic()
                await super().set(key, attrs.evolve(token, expires_at=now + remaining))


async def start_many(client: sa.SigningClient, pdf: bytes, ids: range) -> list[sa.Circuit]:
    results: list[sa.Circuit] = []

    async def one(index: int) -> None:
        signer = {"name": "Ana", "email": "ana@example.com", "nif": "1"}
        results.append(await client.circuits.start(id=str(index), signer=signer, docs=pdf))

    async with anyio.create_task_group() as group:
        for index in ids:
            group.start_soon(one, index)
    return results


async def test_cold_cache_single_flight(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    circuits = await start_many(client, pdf_bytes, range(100))

    assert len(circuits) == 100
    assert len(fake.token_requests) == 1
    assert len(fake.start_requests) == 100
    assert {bearer(request) for request in fake.start_requests} == {fake.issued[0]}


async def test_token_expiring_mid_run_is_refreshed_once(
    config: sa.DanaConnectConfig,
    transport: sa.MockTransport,
    retry: sa.RetryPolicy,
    fake: FakeDanaConnect,
    pdf_bytes: bytes,
) -> None:
    store = AgeableStore()
    async with sa.SigningClient(
        danaconnect=config, transport=transport, retry=retry, token_store=store
    ) as client:
        await start_many(client, pdf_bytes, range(50))
        assert len(fake.token_requests) == 1

        await store.expire_all()
        await start_many(client, pdf_bytes, range(50, 150))

    assert len(fake.token_requests) == 2
    late = [r for r in fake.start_requests if int(json.loads(r.content)["id"]) >= 50]
    assert len(late) == 100
    assert {bearer(request) for request in late} == {fake.issued[1]}


async def test_short_lived_token_is_reused_outside_its_windows(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    # A 1 s token (the shortest lifetime the cache allows): the mandatory window
    # is min(30, 1/10) = 0.1 s, not 30 s, so a fresh short token is used rather
    # than refreshed on every call.
    fake.expires_in = 1
    await start_many(client, pdf_bytes, range(5))

    assert len(fake.token_requests) == 1
    assert len(fake.start_requests) == 5


async def test_token_in_mandatory_window_is_refreshed_before_use(
    config: sa.DanaConnectConfig,
    transport: sa.MockTransport,
    retry: sa.RetryPolicy,
    fake: FakeDanaConnect,
    pdf_bytes: bytes,
) -> None:
    store = AgeableStore()
    async with sa.SigningClient(
        danaconnect=config, transport=transport, retry=retry, token_store=store
    ) as client:
        await start_many(client, pdf_bytes, range(1))
        # 3600 s lifetime: mandatory below 30 s left; 10 s left is inside it.
        await store.expire_all(remaining=10)
        await start_many(client, pdf_bytes, range(1, 21))

    assert len(fake.token_requests) == 2
    assert {bearer(r) for r in fake.start_requests[1:]} == {fake.issued[1]}


async def test_token_in_advisory_window_is_refreshed_once_without_blocking(
    config: sa.DanaConnectConfig,
    transport: sa.MockTransport,
    retry: sa.RetryPolicy,
    fake: FakeDanaConnect,
    pdf_bytes: bytes,
) -> None:
    store = AgeableStore()
    async with sa.SigningClient(
        danaconnect=config, transport=transport, retry=retry, token_store=store
    ) as client:
        await start_many(client, pdf_bytes, range(1))
        # 3600 s lifetime: advisory below 300 s left, mandatory below 30 s.
        await store.expire_all(remaining=200)
        await start_many(client, pdf_bytes, range(1, 21))

    assert len(fake.token_requests) == 2
    used = [bearer(r) for r in fake.start_requests[1:]]
    # The refreshing caller uses the new token; the others did not wait for it.
    assert fake.issued[1] in used
    assert fake.issued[0] in used


async def test_failed_advisory_refresh_keeps_the_valid_token(
    config: sa.DanaConnectConfig,
    transport: sa.MockTransport,
    retry: sa.RetryPolicy,
    fake: FakeDanaConnect,
    pdf_bytes: bytes,
) -> None:
    store = AgeableStore()
    async with sa.SigningClient(
        danaconnect=config, transport=transport, retry=retry, token_store=store
    ) as client:
        await start_many(client, pdf_bytes, range(1))
        await store.expire_all(remaining=200)
        fake.token_script.append(json_response(401, {"error": "invalid_client"}))
        circuit = await client.circuits.start(
            id="late", signer={"name": "A", "email": "a@example.com", "nif": "1"}, docs=pdf_bytes
        )

    assert circuit.circuit_id == "circ-late"
    assert len(fake.token_requests) == 2
    assert bearer(fake.start_requests[-1]) == fake.issued[0]


async def test_401_with_current_token_refreshes_and_replays_once(
    client: sa.SigningClient, fake: FakeDanaConnect, signer: sa.CircuitSigner, pdf_bytes: bytes
) -> None:
    fake.start_script.append(json_response(401, {"error": "token expired"}))

    circuit = await client.circuits.start(id="7", signer=signer, docs=pdf_bytes)

    assert circuit.circuit_id == "circ-7"
    assert len(fake.token_requests) == 2
    assert [bearer(r) for r in fake.start_requests] == fake.issued
    # The replay sends the same body again.
    assert fake.start_requests[0].content == fake.start_requests[1].content


async def test_401_with_replaced_token_keeps_the_new_one(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    # "a" and "b" both go out with token 1. "a" is rejected first and refreshes
    # (token 2); "b"'s rejection of token 1 arrives only after token 2 is in use,
    # and must not throw token 2 away.
    b_sent = anyio.Event()
    token_2_used = anyio.Event()

    async def answer(request: RecordedRequest) -> sa.Response:
        which = json.loads(request.content)["id"]
        if bearer(request) == fake.issued[0]:
            if which == "a":
                await b_sent.wait()
            else:
                b_sent.set()
                await token_2_used.wait()
            return json_response(401, {"error": "invalid token"})
        token_2_used.set()
        return json_response(201, {"circuitId": f"c-{which}"})

    fake.start_script.extend([answer] * 4)
    signer = {"name": "Ana", "email": "ana@example.com", "nif": "1"}
    results: dict[str, sa.Circuit] = {}

    async def start(which: str) -> None:
        results[which] = await client.circuits.start(id=which, signer=signer, docs=pdf_bytes)

    async with anyio.create_task_group() as group:
        group.start_soon(start, "a")
        group.start_soon(start, "b")

    assert {k: v.circuit_id for k, v in results.items()} == {"a": "c-a", "b": "c-b"}
    assert len(fake.token_requests) == 2
    assert len(fake.start_requests) == 4
    assert [bearer(r) for r in fake.start_requests[2:]] == [fake.issued[1]] * 2


async def test_second_401_raises(
    client: sa.SigningClient, fake: FakeDanaConnect, signer: sa.CircuitSigner, pdf_bytes: bytes
) -> None:
    fake.start_script.extend([json_response(401, {"error": "token rejected"})] * 3)

    with pytest.raises(sa.AuthenticationError) as caught:
        await client.circuits.start(id="7", signer=signer, docs=pdf_bytes)

    assert caught.value.status == 401
    assert "token rejected" in str(caught.value)
    assert len(fake.start_requests) == 2
    assert len(fake.token_requests) == 2


async def test_rejected_credentials_raise_without_replay(
    client: sa.SigningClient, fake: FakeDanaConnect, signer: sa.CircuitSigner, pdf_bytes: bytes
) -> None:
    fake.token_script.append(json_response(401, {"error": "invalid_client"}))

    with pytest.raises(sa.AuthenticationError, match=r"get access token.*invalid_client"):
        await client.circuits.start(id="7", signer=signer, docs=pdf_bytes)

    assert len(fake.token_requests) == 1
    assert fake.start_requests == []


async def test_token_endpoint_503_is_retried(
    client: sa.SigningClient, fake: FakeDanaConnect, signer: sa.CircuitSigner, pdf_bytes: bytes
) -> None:
    fake.token_script.append(json_response(503, {"error": "busy"}))

    await client.circuits.start(id="7", signer=signer, docs=pdf_bytes)

    assert len(fake.token_requests) == 2


async def test_token_answer_without_a_token_is_a_decode_error(
    client: sa.SigningClient, fake: FakeDanaConnect, signer: sa.CircuitSigner, pdf_bytes: bytes
) -> None:
    fake.token_script.append(json_response(200, {"token_type": "Bearer"}))

    with pytest.raises(sa.ResponseDecodeError, match="get access token"):
        await client.circuits.start(id="7", signer=signer, docs=pdf_bytes)
    assert fake.start_requests == []


async def test_concurrent_callers_share_a_failed_token_request(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    fake.token_script.extend([json_response(503, {"error": "down"})] * 100)
    errors: list[sa.SigningError] = []

    async def one(index: int) -> None:
        signer = {"name": "Ana", "email": "ana@example.com", "nif": "1"}
        try:
            await client.circuits.start(id=str(index), signer=signer, docs=pdf_bytes)
        except sa.SigningError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for index in range(20):
            group.start_soon(one, index)

    assert len(errors) == 20
    assert all(isinstance(e, sa.ServerError) and "get access token" in str(e) for e in errors)
    # One refresh for everyone: the first request and its 2 retries.
    assert len(fake.token_requests) == 3
    assert fake.start_requests == []


async def test_many_401s_for_one_token_cause_one_refresh(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    def answer(request: RecordedRequest) -> sa.Response:
        if bearer(request) == fake.issued[0]:
            return json_response(401, {"error": "token revoked"})
        return json_response(201, {"circuitId": json.loads(request.content)["id"]})

    fake.start_script.extend([answer] * 100)

    circuits = await start_many(client, pdf_bytes, range(50))

    assert len(circuits) == 50
    assert len(fake.token_requests) == 2
    rejected = [r for r in fake.start_requests if bearer(r) == fake.issued[0]]
    # Every call made at most one attempt with the revoked token and one with the new.
    assert len(fake.start_requests) == 50 + len(rejected)
    assert rejected


async def test_401_on_download_refreshes_and_replays(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    fake.download_script.append(json_response(401, {"error": "expired"}))

    downloaded = await client.circuits.download_to("1", tmp_path / "x.zip")

    assert downloaded.size == len(fake.zip_bytes)
    assert [bearer(r) for r in fake.download_requests] == fake.issued
    assert len(fake.issued) == 2
