"""``client.circuits.start_many``: scripted, and on the loopback server with faults."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

import signing_async as sa
from signing_async.transports._mock import RecordedRequest

from .fake import PDF, FakeDanaConnect, circuit_item, json_response


async def collect(run: sa.BulkRun[sa.Circuit]) -> list[sa.BulkOutcome[sa.Circuit]]:
    async with run as outcomes:
        return [outcome async for outcome in outcomes]


def by_key(outcomes: Sequence[sa.BulkOutcome[Any]]) -> dict[str | None, sa.BulkOutcome[Any]]:
    found = {outcome.key: outcome for outcome in outcomes}
    assert len(found) == len(outcomes)
    return found


def queued(request: RecordedRequest) -> sa.Response:
    """A start_circuit answer with a field the model does not know (kept in ``raw``)."""
    circuit_id = json.loads(request.content)["id"]
    answer = {"circuitId": f"circ-{circuit_id}", "link": "http://127.0.0.1:9/s", "queue": 3}
    return json_response(201, answer)


def started(fake: FakeDanaConnect) -> list[str]:
    """The circuit ids of every start_circuit request, in order."""
    return [json.loads(request.content)["id"] for request in fake.start_requests]


async def test_start_many_takes_mappings_and_request_objects(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(PDF)
    fake.start_script.extend([queued] * 3)
    signer = sa.CircuitSigner(name="Ana", email="ana@example.com", nif="X1")
    items: list[Any] = [
        circuit_item(0),
        sa.CircuitRequest(id="c-1", signer=signer, docs=[pdf]),
        sa.CircuitRequest(id="c-2", signer=signer, docs=pdf),
    ]
    outcomes = by_key(await collect(client.circuits.start_many(items, concurrency=2)))

    assert sorted(started(fake)) == ["c-0", "c-1", "c-2"]
    assert all(outcome.status == "succeeded" for outcome in outcomes.values())
    circuit = outcomes["c-1"].result
    assert isinstance(circuit, sa.Circuit)
    assert circuit.circuit_id == "circ-c-1"
    assert circuit.raw == {"queue": 3}


async def test_bad_items_fail_with_clear_messages_and_the_others_go_on(
    client: sa.SigningClient, fake: FakeDanaConnect
) -> None:
    items: list[Any] = [
        circuit_item(0, docs=[]),
        circuit_item(1, signer={"name": "A", "email": "not-an-email", "nif": "1"}),
        {**circuit_item(2), "color": "blue"},
        {"id": "c-3", "signer": circuit_item(3)["signer"]},
        ["not", "a", "mapping"],
        {"signer": circuit_item(5)["signer"], "docs": circuit_item(5)["docs"]},
        circuit_item(6, docs=[b"GIF89a not a pdf"]),
        circuit_item(7),
    ]
    outcomes = sorted(await collect(client.circuits.start_many(items)), key=lambda o: o.index)

    messages = [str(outcome.error) for outcome in outcomes]
    assert [outcome.status for outcome in outcomes] == ["failed"] * 7 + ["succeeded"]
    assert messages[0] == "docs: at least one document is required"
    assert messages[1] == "signer.email: not a valid e-mail address: 'not-an-email'"
    assert messages[2].startswith("color: unknown key for CircuitRequest")
    assert messages[3] == "docs: is required"
    assert messages[4] == "item: expected a CircuitRequest or a mapping, not list"
    assert outcomes[4].key is None
    assert messages[5] == "id: must be a non-empty string"
    assert "is not a PDF" in messages[6]
    assert started(fake) == ["c-7"]


async def test_a_journal_rerun_returns_the_recorded_circuits(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path
) -> None:
    journal = tmp_path / "circuits.db"
    fake.start_script.extend([queued] * 4)
    items = [circuit_item(index) for index in range(4)]
    first = by_key(await collect(client.circuits.start_many(items, journal=journal)))
    again = by_key(await collect(client.circuits.start_many(items, journal=journal)))

    assert len(started(fake)) == 4
    assert {outcome.status for outcome in again.values()} == {"skipped"}
    for key, outcome in again.items():
        assert outcome.result == first[key].result
        assert isinstance(outcome.result, sa.Circuit)
        assert outcome.result.raw == {"queue": 3}


async def test_faults_never_create_twice_and_unconfirmed_creations_are_uncertain() -> None:
    faults = {
        "c-1": ["503"],
        "c-2": ["503", "503", "503"],
        "c-3": ["drop-created"],
        "c-4": ["429"],
        "c-5": ["drop"],
        "c-6": ["500-created"],
        "c-7": ["400"],
    }
    async with FakeDanaConnect(faults) as server, server.client() as client:
        run = client.circuits.start_many([circuit_item(i) for i in range(10)], concurrency=3)
        outcomes = by_key(await collect(run))

    assert {key: outcome.status for key, outcome in outcomes.items()} == {
        "c-0": "succeeded",
        "c-1": "succeeded",
        "c-2": "failed",
        "c-3": "uncertain",
        "c-4": "succeeded",
        "c-5": "uncertain",
        "c-6": "uncertain",
        "c-7": "failed",
        "c-8": "succeeded",
        "c-9": "succeeded",
    }
    assert server.received["c-1"] == 2  # the 503 was retried
    assert server.received["c-4"] == 2  # so was the 429, after its Retry-After
    assert server.received["c-3"] == 1  # a POST that may have landed is not replayed
    for key, outcome in outcomes.items():
        assert key is not None
        assert server.created[key] <= 1
        if outcome.status == "succeeded":
            assert server.created[key] == 1
            assert outcome.result == sa.Circuit(
                circuit_id=f"circ-{key}", link=f"{server.base_url}/sign/{key}"
            )
        if outcome.status == "failed":
            assert server.created[key] == 0
        if server.created[key] and outcome.status != "succeeded":
            assert outcome.status == "uncertain"
    assert isinstance(outcomes["c-3"].error, sa.TransportError)
    assert isinstance(outcomes["c-6"].error, sa.ServerError)


async def test_the_server_never_sees_more_than_concurrency_requests() -> None:
    async with FakeDanaConnect() as server, server.client() as client:
        # Each request waits until four are in flight (or all that remain):
        # the run ends only if the engine keeps four going, never five.
        server.fill_to, server.total = 4, 24
        seen: list[sa.BulkProgress] = []
        run = client.circuits.start_many(
            (circuit_item(i) for i in range(24)), concurrency=4, progress=seen.append
        )
        with anyio.fail_after(60):  # a hang guard, not a speed check
            outcomes = await collect(run)

    assert len(outcomes) == 24
    assert all(outcome.ok for outcome in outcomes)
    assert server.max_in_flight == 4
    assert seen[-1].succeeded == 24
    assert seen[-1].bytes_sent > 24 * len(PDF)


async def test_a_bare_async_for_works_against_the_server(tmp_path: Path) -> None:
    async with FakeDanaConnect({"c-2": ["drop-created"]}) as server, server.client() as client:
        run = client.circuits.start_many(
            [circuit_item(i) for i in range(7)], concurrency=2, journal=tmp_path / "j.db"
        )
        outcomes = [outcome async for outcome in run]
    assert sorted(o.status for o in outcomes) == ["succeeded"] * 6 + ["uncertain"]
    assert all(count == 1 for count in server.created.values())


@pytest.mark.parametrize("option", ["report", "resend"])
async def test_on_uncertain_decides_whether_an_uncertain_id_is_sent_again(
    tmp_path: Path, option: str
) -> None:
    journal = tmp_path / "j.db"
    async with FakeDanaConnect({"c-0": ["drop"]}) as server, server.client() as client:
        await collect(client.circuits.start_many([circuit_item(0)], journal=journal))
        (outcome,) = await collect(
            client.circuits.start_many(
                [circuit_item(0)],
                journal=journal,
                on_uncertain=option,  # type: ignore[arg-type]
            )
        )
    if option == "report":
        assert outcome.status == "uncertain"
        assert server.received["c-0"] == 1
    else:
        assert outcome.status == "succeeded"
        assert server.received["c-0"] == 2


async def test_a_token_failure_fails_the_item_because_the_circuit_was_never_sent(
    config: sa.DanaConnectConfig, transport: sa.MockTransport, fake: FakeDanaConnect
) -> None:
    fake.token_script.append(sa.TransportError("the token endpoint dropped the connection"))
    client = sa.SigningClient(
        danaconnect=config, transport=transport, retry=sa.RetryPolicy(max_retries=0)
    )
    async with client:
        (outcome,) = await collect(client.circuits.start_many([circuit_item(0)]))
    # The lost connection was the token request's: no circuit can exist, so it is failed.
    assert outcome.status == "failed"
    assert isinstance(outcome.error, sa.TransportError)
    assert fake.start_requests == []
