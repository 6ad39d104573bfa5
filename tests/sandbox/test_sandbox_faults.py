"""Fault injection: statuses, Retry-After, latency, dropped and truncated answers."""

from __future__ import annotations

import asyncio
import base64
import logging
import random

import aiohttp
import pytest
from sandbox_helpers import TokenFactory, basic

from signing_async.sandbox import Fault, Sandbox, samples


async def token_status(sb: Sandbox, http: aiohttp.ClientSession) -> int:
    creds = sb.credentials
    async with http.post(
        f"{sb.url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={
            "Authorization": basic(creds.danaconnect_client_id, creds.danaconnect_client_secret)
        },
    ) as response:
        await response.read()
        return response.status


async def start_circuit(
    sb: Sandbox, http: aiohttp.ClientSession, token: str
) -> aiohttp.ClientResponse:
    pdf = samples.make_pdf()
    body = {
        "id": "r",
        "signer": {"name": "A", "email": "a@example.com", "nif": "1"},
        "docs": [{"name": "a.pdf", "size": len(pdf), "content": base64.b64encode(pdf).decode()}],
    }
    response = await http.post(
        f"{sb.url}/api/v1/biometric/start_circuit/sandbox",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    await response.read()
    return response


async def test_status_fault_answers_without_handling(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    token = await dc_token()
    sb.faults.add(Fault(route="danaconnect.start_circuit", status=503, times=1))
    failed = await start_circuit(sb, http, token)
    assert failed.status == 503
    assert await failed.json() == {"error": "Service Unavailable (injected by the sandbox)"}
    succeeded = await start_circuit(sb, http, token)
    # Circuit ids are sequential: the faulted request created nothing.
    assert (succeeded.status, (await succeeded.json())["circuitId"]) == (200, "658936")
    entries = sb.requests_for("danaconnect.start_circuit")
    assert [(e.status, e.faults, e.latency) for e in entries] == [
        (503, ("status",), 0.0),
        (200, (), 0.0),
    ]


async def test_status_fault_with_custom_body_and_retry_after(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    sb.faults.add(
        Fault(route="danaconnect.token", status=429, body={"error": "slow down"}, retry_after=1.5)
    )
    async with http.post(f"{sb.url}/oauth2/token") as response:
        assert response.status == 429
        assert await response.json() == {"error": "slow down"}
        assert response.headers["Retry-After"] == "2"
        assert response.headers["retry-after-ms"] == "1500"
    (entry,) = sb.requests_for("danaconnect.token")
    assert entry.faults == ("status", "retry-after")


async def test_times_limits_how_often_a_fault_fires(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    sb.faults.add(Fault(route="danaconnect.token", status=500, times=2))
    statuses = [await token_status(sb, http) for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    assert len(sb.faults) == 0


async def test_wildcard_spares_control_routes(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    sb.faults.add(Fault(status=502))
    assert await token_status(sb, http) == 502
    async with http.get(f"{sb.url}/_sandbox/requests") as response:
        assert response.status == 200
    async with http.delete(f"{sb.url}/_sandbox/faults") as response:
        assert await response.json() == {"cleared": 1}
    assert await token_status(sb, http) == 200


async def _pattern(seed: int) -> list[int]:
    async with (
        Sandbox(seed=seed) as sandbox,
        aiohttp.ClientSession() as session,
    ):
        sandbox.faults.add(Fault(route="danaconnect.token", status=503, probability=0.5))
        return [await token_status(sandbox, session) for _ in range(24)]


async def test_probability_draws_are_seeded() -> None:
    first, again, other = await _pattern(7), await _pattern(7), await _pattern(8)
    assert first == again
    assert 0 < first.count(503) < 24
    assert set(first) == {200, 503}
    assert first != other


async def test_latency_is_added_before_handling(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    sb.faults.add(Fault(route="danaconnect.token", latency=0.2))
    sb.faults.add(Fault(route="danaconnect.start_circuit", latency=(0.05, 0.1)))
    assert await token_status(sb, http) == 200
    async with http.post(f"{sb.url}/api/v1/biometric/start_circuit/sandbox") as response:
        assert response.status == 401  # latency only: the handler still ran
    (token,) = sb.requests_for("danaconnect.token")
    (circuit,) = sb.requests_for("danaconnect.start_circuit")
    # The sandbox logs the wait it served (once over), not a clock reading: no
    # assertion here depends on how fast the machine is.
    assert (token.faults, token.latency) == (("latency",), 0.2)
    assert circuit.faults == ("latency",)
    # A range is drawn from the seeded generator; the fixed 0.2 drew nothing.
    assert circuit.latency == random.Random(1234).uniform(0.05, 0.1)  # noqa: S311
    assert 0.05 <= circuit.latency <= 0.1
    async with http.get(f"{sb.url}/_sandbox/requests") as response:
        logged = (await response.json())["requests"]
    assert [(entry["faults"], entry["latency"]) for entry in logged[:2]] == [
        (["latency"], 0.2),
        (["latency"], circuit.latency),
    ]


async def test_drop_before_creates_nothing_and_server_keeps_working(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    token = await dc_token()
    sb.faults.add(Fault(route="danaconnect.start_circuit", drop="before", times=1))
    with pytest.raises(aiohttp.ClientConnectionError):
        await start_circuit(sb, http, token)
    response = await start_circuit(sb, http, token)
    assert (await response.json())["circuitId"] == "658936"
    entries = sb.requests_for("danaconnect.start_circuit")
    assert [(e.status, e.faults) for e in entries] == [(None, ("drop-before",)), (200, ())]


async def test_drop_after_keeps_the_state_change(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    token = await dc_token()
    sb.faults.add(Fault(route="danaconnect.start_circuit", drop="after", times=1))
    with pytest.raises(aiohttp.ClientConnectionError):
        await start_circuit(sb, http, token)
    # The unseen answer did create circuit 658936: the signer can complete it.
    async with http.post(f"{sb.url}/_sandbox/circuits/658936/complete") as response:
        assert response.status == 200
    again = await start_circuit(sb, http, token)
    assert (await again.json())["circuitId"] == "658937"
    (dropped, _) = sb.requests_for("danaconnect.start_circuit")
    assert dropped.status is None
    assert dropped.finished is not None
    assert dropped.faults == ("drop-after",)


async def test_truncate_json_answer(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    sb.faults.add(Fault(route="danaconnect.token", truncate=True, times=1))
    creds = sb.credentials
    async with http.post(
        f"{sb.url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={
            "Authorization": basic(creds.danaconnect_client_id, creds.danaconnect_client_secret)
        },
    ) as response:
        assert response.status == 200
        length = response.content_length
        assert length is not None
        assert length > 0
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    (cut,) = sb.requests_for("danaconnect.token")
    assert (cut.status, cut.faults) == (None, ("truncate",))
    assert await token_status(sb, http) == 200


async def test_truncate_streamed_file(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    token = await dc_token()
    created = await start_circuit(sb, http, token)
    circuit_id = (await created.json())["circuitId"]
    async with http.post(f"{sb.url}/_sandbox/circuits/{circuit_id}/complete"):
        pass
    sb.faults.add(Fault(route="danaconnect.download", truncate=True))
    url = f"{sb.url}/api/v1/biometric/document_circuit/sandbox/circuit/{circuit_id}"
    async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/zip"
        received: list[bytes] = []

        async def drain() -> None:
            async for chunk in response.content.iter_any():
                received.append(chunk)

        with pytest.raises(aiohttp.ClientPayloadError):
            await drain()
        assert response.content_length is not None
        assert 0 < len(b"".join(received)) < response.content_length


async def test_many_drops_leave_the_server_healthy(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    sb.faults.add(Fault(route="danaconnect.token", drop="before", times=20))

    async def attempt() -> str:
        try:
            return str(await token_status(sb, http))
        except aiohttp.ClientConnectionError:
            return "dropped"

    results = await asyncio.gather(*(attempt() for _ in range(20)))
    assert results == ["dropped"] * 20
    assert await token_status(sb, http) == 200
    assert [e.status for e in sb.requests_for("danaconnect.token")] == [None] * 20 + [200]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 503, "drop": "before"}, "either answers"),
        ({"truncate": True, "drop": "after"}, "either truncates"),
        ({"drop": "sideways"}, "'drop' must be in"),
        ({"probability": 1.5}, "probability"),
        ({"times": 0}, "times"),
        ({"status": 42}, "status"),
        ({"latency": -1}, "latency"),
        ({"latency": (0.3, 0.1)}, "latency range"),
        ({"retry_after": -2}, "retry_after"),
    ],
)
def test_fault_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault(**kwargs)  # type: ignore[arg-type]


def test_fault_set_remove_and_iteration() -> None:
    sandbox = Sandbox()
    first = sandbox.faults.add(Fault(route="danaconnect.token", status=500))
    second = sandbox.faults.add(Fault(route="*", latency=[0.1, 0.2]))  # type: ignore[arg-type]
    assert list(sandbox.faults) == [first, second]
    assert second.latency == (0.1, 0.2)
    sandbox.faults.remove(first)
    assert list(sandbox.faults) == [second]
    with pytest.raises(ValueError, match="not armed"):
        sandbox.faults.remove(first)
    assert sandbox.faults.clear() == 1


async def test_drop_before_during_a_large_upload(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    pdf = samples.make_pdf(size=3_000_000)
    body = {
        "file": base64.b64encode(pdf).decode(),
        "filename": "a.pdf",
        "title": "A",
        "signers": [{"role": "R", "name": "N", "email": "n@example.com"}],
        "placeholders": [
            {
                "role": "R",
                "widgets": [{"type": "signature", "page": 1, "x": 1, "y": 1, "w": 9, "h": 9}],
            }
        ],
        "metadata": {"externalId": "UP-1"},
    }
    url = f"{sb.url}/api/1.0/createdocument"
    sb.faults.add(Fault(route="danasign.createdocument", drop="before", times=1))
    # The connection closes while the client may still be sending the body.
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.post(url, json=body, headers=ds_headers) as response:
            await response.read()
    assert sb.created_count("UP-1") == 0
    async with http.post(url, json=body, headers=ds_headers) as response:
        assert response.status == 200
    assert sb.created_count("UP-1") == 1


async def test_a_client_that_gives_up_during_latency_is_no_server_error(
    sb: Sandbox,
    http: aiohttp.ClientSession,
    dc_token: TokenFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = await dc_token()
    sb.faults.add(Fault(route="danaconnect.start_circuit", latency=0.3, times=1))
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(start_circuit(sb, http, token), timeout=0.05)
    # The handler wakes up after the client left and finds its body gone.
    for _ in range(500):  # ten seconds at most
        if sb.requests_for("danaconnect.start_circuit")[0].finished is not None:
            break
        await asyncio.sleep(0.02)
    (gone,) = sb.requests_for("danaconnect.start_circuit")
    assert gone.status is None
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    response = await start_circuit(sb, http, token)
    assert (await response.json())["circuitId"] == "658936"
