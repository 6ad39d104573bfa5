"""DANAconnect's OAuth token under load, expiry and rejection, against the sandbox.

With a lifetime of L seconds the SDK refreshes in the advisory window
(less than min(300, L/2) left: one caller refreshes, the others keep the
token) and in the mandatory window (less than min(30, L/10) left, or expired:
every caller waits for one refresh). The tests drive the mandatory case by
waiting until the sandbox itself rejects the token, never by timing.
"""

from __future__ import annotations

import anyio
import pytest

import signing_async as sa
from signing_async.sandbox import Fault, Sandbox, samples

from .support import SIGNER, WAIT, bearer_tokens, wait_until_rejected

PDF = samples.make_pdf(text="Token tests")


async def start(client: sa.SigningClient, id: str) -> sa.Circuit:
    return await client.circuits.start(id=id, signer=SIGNER, docs=sa.Document(PDF, "t.pdf"))


async def start_many(client: sa.SigningClient, count: int, prefix: str) -> list[sa.Circuit]:
    circuits: list[sa.Circuit] = []

    async def one(index: int) -> None:
        circuits.append(await start(client, f"{prefix}-{index}"))

    with anyio.fail_after(WAIT):
        async with anyio.create_task_group() as group:
            for index in range(count):
                group.start_soon(one, index)
    return circuits


async def test_a_hundred_concurrent_starts_on_a_cold_cache_fetch_one_token(
    sb: Sandbox, client: sa.SigningClient
) -> None:
    circuits = await start_many(client, 100, "cold")

    assert len(sb.requests_for("danaconnect.token")) == 1
    starts = sb.requests_for("danaconnect.start_circuit")
    assert len(starts) == 100
    assert {entry.status for entry in starts} == {200}
    assert len(set(bearer_tokens(starts))) == 1
    assert len({circuit.circuit_id for circuit in circuits}) == 100


async def test_an_expired_token_is_refreshed_once_for_fifty_callers(
    sb: Sandbox, client: sa.SigningClient
) -> None:
    sb.token_lifetime = 1
    await start(client, "warm")
    (first,) = bearer_tokens(sb.requests_for("danaconnect.start_circuit"))
    # Tokens issued from now on live long, so the refresh below is the only one
    # whatever the machine's speed: no advisory window opens during the burst.
    sb.token_lifetime = 3600
    await wait_until_rejected(sb, first)

    await start_many(client, 50, "after-expiry")

    assert len(sb.requests_for("danaconnect.token")) == 2
    burst = sb.requests_for("danaconnect.start_circuit")[1:]
    accepted = [entry for entry in burst if entry.status == 200]
    assert len(accepted) == 50
    (second,) = set(bearer_tokens(accepted))
    assert second != first


async def test_a_401_refreshes_the_token_and_replays_once(
    sb: Sandbox, client: sa.SigningClient
) -> None:
    await start(client, "warm")
    sb.faults.add(Fault(route="danaconnect.start_circuit", status=401, times=1))

    with anyio.fail_after(WAIT):
        circuit = await start(client, "after-401")

    assert len(sb.requests_for("danaconnect.token")) == 2
    starts = sb.requests_for("danaconnect.start_circuit")
    assert [entry.status for entry in starts] == [200, 401, 200]
    warm, rejected, replayed = bearer_tokens(starts)
    assert rejected == warm
    assert replayed != rejected
    assert circuit.circuit_id == "658937"  # the rejected attempt created nothing


async def test_a_persistent_401_is_an_authentication_error_after_one_replay(
    sb: Sandbox, client: sa.SigningClient
) -> None:
    await start(client, "warm")
    sb.faults.add(Fault(route="danaconnect.start_circuit", status=401))

    with anyio.fail_after(WAIT), pytest.raises(sa.AuthenticationError) as caught:
        await start(client, "refused")

    assert caught.value.status == 401
    assert caught.value.provider == "DANAconnect"
    assert len(sb.requests_for("danaconnect.token")) == 2
    assert [e.status for e in sb.requests_for("danaconnect.start_circuit")] == [200, 401, 401]


async def test_wrong_client_credentials_are_an_authentication_error(sb: Sandbox) -> None:
    wrong = sa.DanaConnectConfig(
        client_id=sb.credentials.danaconnect_client_id,
        client_secret="not-the-secret",
        channel=sb.credentials.channel,
        base_url=sb.url,
        download_base_url=sb.url,
    )
    with anyio.fail_after(WAIT), pytest.raises(sa.AuthenticationError) as caught:
        async with sb.client(danaconnect=wrong) as client:
            await start(client, "never")
    assert caught.value.status == 401
    assert "invalid_client" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)
    assert [entry.status for entry in sb.requests_for("danaconnect.token")] == [401]
    assert sb.requests_for("danaconnect.start_circuit") == []
