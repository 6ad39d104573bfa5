"""``otp_signatures.create_many``: on a MockTransport and through the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sofia_support import JPEG, PDF, PNG, created, json_response

import signing_async as sa
from signing_async.sandbox import Sandbox, samples
from signing_async.transports import RecordedRequest

MakeClient = Callable[..., tuple[sa.SigningClient, sa.MockTransport]]


def item(index: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "transaction_id": f"txn-{index}",
        "user_selfie": JPEG,
        "image_front": PNG,
        "document_sign": PDF,
        "phone": "+573001234567",
        "email": f"user{index}@example.com",
    }
    values.update(overrides)
    return values


def answer(request: RecordedRequest) -> sa.Response:
    transaction_id = json.loads(request.content)["transaction_id"]
    return json_response(201, {**created(transaction_id), "region": "co"})


async def collect(
    run: sa.BulkRun[sa.OtpSignatureRequest],
) -> dict[str | None, sa.BulkOutcome[sa.OtpSignatureRequest]]:
    async with run as outcomes:
        found = [outcome async for outcome in outcomes]
    by_key = {outcome.key: outcome for outcome in found}
    assert len(by_key) == len(found)
    return by_key


def sent(transport: sa.MockTransport) -> list[str]:
    return sorted(json.loads(request.content)["transaction_id"] for request in transport.requests)


async def test_create_many_takes_mappings_and_request_objects(make_client: MakeClient) -> None:
    client, transport = make_client(answer, upload_encoding="json")
    request_object = sa.NewOtpSignature(**item(1), image_back=JPEG)
    outcomes = await collect(
        client.otp_signatures.create_many([item(0), request_object], concurrency=2)
    )

    assert sent(transport) == ["txn-0", "txn-1"]
    assert {outcome.status for outcome in outcomes.values()} == {"succeeded"}
    result = outcomes["txn-1"].result
    assert isinstance(result, sa.OtpSignatureRequest)
    assert result.transaction_id == "txn-1"
    assert result.status == "PENDING_OTP"
    assert "image_back" in next(
        json.loads(r.content) for r in transport.requests if b'"txn-1"' in r.content
    )
    assert "JFIF" not in repr(request_object)


async def test_bad_items_fail_with_clear_messages_and_the_others_go_on(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client, transport = make_client(answer, upload_encoding="json")
    items: list[Any] = [
        item(0, user_selfie=tmp_path / "missing.jpg"),
        item(1, document_sign=JPEG),
        item(2, email="not-an-email"),
        item(3, image_front=b"GIF89a"),
        {k: v for k, v in item(4).items() if k != "phone"},
        {k: v for k, v in item(5).items() if k != "transaction_id"},
        {**item(6), "otp": "123"},
        item(7),
    ]
    run = client.otp_signatures.create_many(items)
    async with run as outcomes:
        found = sorted([outcome async for outcome in outcomes], key=lambda o: o.index)

    assert [outcome.status for outcome in found] == ["failed"] * 7 + ["succeeded"]
    messages = [str(outcome.error) for outcome in found]
    assert messages[0].startswith("user_selfie: ")
    assert "missing.jpg" in messages[0]
    assert messages[1].startswith("document_sign: ")
    assert "is not a PDF" in messages[1]
    assert messages[2] == "email: not a valid e-mail address: 'not-an-email'"
    assert messages[3] == "image_front: image_front is not a JPEG or PNG image"
    assert messages[4] == "phone: is required"
    assert messages[5] == "transaction_id: must be a non-empty string"
    assert found[5].key is None
    assert messages[6].startswith("otp: unknown key for NewOtpSignature")
    assert sent(transport) == ["txn-7"]


async def test_a_journal_rerun_skips_done_requests(make_client: MakeClient, tmp_path: Path) -> None:
    journal = tmp_path / "otp.db"
    client, transport = make_client(answer, upload_encoding="json")
    items = [item(index) for index in range(3)]
    first = await collect(client.otp_signatures.create_many(items, journal=journal))
    again = await collect(client.otp_signatures.create_many(items, journal=journal))

    assert len(transport.requests) == 3
    assert {outcome.status for outcome in again.values()} == {"skipped"}
    for key, outcome in again.items():
        assert outcome.result == first[key].result
        assert outcome.result is not None
        assert outcome.result.storage_paths == first[key].result.storage_paths  # type: ignore[union-attr]
        assert outcome.result.raw == {"region": "co"}


async def test_create_many_through_the_sandbox(tmp_path: Path) -> None:
    pdf = samples.write_pdf(tmp_path / "contract.pdf")
    selfie = tmp_path / "selfie.jpg"
    selfie.write_bytes(samples.make_jpeg())
    front = tmp_path / "front.png"
    front.write_bytes(samples.make_png())
    items: list[Any] = [
        item(index, user_selfie=selfie, image_front=front, document_sign=pdf) for index in range(6)
    ]
    items.append(item(2, user_selfie=selfie, image_front=front, document_sign=pdf))
    async with Sandbox() as sb, sb.client() as client:
        run = client.otp_signatures.create_many(items, concurrency=3)
        async with run as outcomes:
            found = sorted([outcome async for outcome in outcomes], key=lambda o: o.index)
        signature = await client.otp_signatures.sign("txn-4", sb.otp("txn-4"))
        requests = sb.requests_for("sofia.create_signature")
        peak = sb.max_in_flight("sofia.create_signature")

    assert [outcome.status for outcome in found] == ["succeeded"] * 6 + ["failed"]
    assert "already used by item 2" in str(found[6].error)
    assert len(requests) == 6
    assert 1 <= peak <= 3
    assert signature.status == "SIGNED"
