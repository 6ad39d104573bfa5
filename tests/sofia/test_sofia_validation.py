"""Bad input is rejected before anything is sent, naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sofia_support import JPEG, PDF, PNG, created, json_response

from signing_async import Document, ValidationError
from signing_async.transports import RecordedRequest

GIF = b"GIF89a" + b"\x00" * 40
DOCX = b"PK\x03\x04" + b"\x00" * 40


def _valid(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "selfie.jpg").write_bytes(JPEG)
    return {
        "transaction_id": "txn-1",
        "user_selfie": tmp_path / "selfie.jpg",
        "image_front": PNG,
        "document_sign": PDF,
        "phone": "+573001234567",
        "email": "user@example.com",
    }


def _never(request: RecordedRequest) -> object:
    raise AssertionError("nothing should have been sent")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("transaction_id", ""),
        ("transaction_id", "   "),
        ("tenant_id", ""),
        ("phone", ""),
        ("phone", "  "),
        ("phone", "12"),  # refused before the files are read and uploaded
        ("phone", "+57 300 123 4567 890 12"),
        ("phone", "call me"),
        ("phone", "+57-300-ABC-4567"),
        ("email", ""),
        ("email", "not-an-email"),
        ("email", "user@localhost"),
        ("user_selfie", b""),
        ("user_selfie", "/nonexistent/selfie.jpg"),
        ("user_selfie", GIF),
        ("user_selfie", PDF),
        ("image_front", b""),
        ("image_front", Document(GIF, "front.gif")),
        ("image_back", b""),
        ("image_back", DOCX),
        ("document_sign", b""),
        ("document_sign", JPEG),
        ("document_sign", DOCX),
        ("document_sign", 42),
    ],
)
async def test_create_rejects_before_sending(make_client, tmp_path, field, value) -> None:
    client, transport = make_client(_never)
    arguments = _valid(tmp_path) | {field: value}
    with pytest.raises(ValidationError) as caught:
        await client.otp_signatures.create(**arguments)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert transport.requests == []


async def test_missing_file_on_disk_and_empty_file_are_named(make_client, tmp_path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    client, transport = make_client(_never)
    with pytest.raises(ValidationError, match="document_sign: the document is empty"):
        await client.otp_signatures.create(**_valid(tmp_path) | {"document_sign": empty})
    with pytest.raises(ValidationError, match="no such file") as caught:
        await client.otp_signatures.create(
            **_valid(tmp_path) | {"image_front": tmp_path / "missing.png"}
        )
    assert caught.value.field == "image_front"
    assert transport.requests == []


async def test_the_valid_baseline_is_sent(make_client, tmp_path) -> None:
    # Guards the parametrized test: without the bad field, the same call goes out.
    client, transport = make_client(lambda request: json_response(201, created("txn-1")))
    await client.otp_signatures.create(**_valid(tmp_path))
    assert len(transport.requests) == 1


@pytest.mark.parametrize(
    "otp",
    [
        "",
        "   ",
        "12a456",
        "12 34",
        "-123",
        "\uff11\uff12\uff13",  # fullwidth digits: str.isdigit() would accept them
        123456,  # an int would lose leading zeros
        None,
    ],
)
async def test_sign_rejects_bad_otp(make_client, otp) -> None:
    client, transport = make_client(_never)
    with pytest.raises(ValidationError) as caught:
        await client.otp_signatures.sign("txn-1", otp)
    assert caught.value.field == "otp_code"
    assert transport.requests == []


async def test_bad_otp_is_not_echoed_in_the_message(make_client) -> None:
    client, _ = make_client(_never)
    with pytest.raises(ValidationError) as caught:
        await client.otp_signatures.sign("txn-1", "98x765")
    assert "98x765" not in str(caught.value)


@pytest.mark.parametrize("transaction_id", ["", "  "])
async def test_sign_rejects_empty_transaction_id(make_client, transaction_id) -> None:
    client, transport = make_client(_never)
    with pytest.raises(ValidationError) as caught:
        await client.otp_signatures.sign(transaction_id, "123456")
    assert caught.value.field == "transaction_id"
    assert transport.requests == []


@pytest.mark.parametrize(
    "url", ["", "   ", "ftp://storage.example.com/a.pdf", "http://storage.example.com/a.pdf"]
)
async def test_download_rejects_bad_urls(make_client, tmp_path, url) -> None:
    client, transport = make_client(_never)
    with pytest.raises(ValidationError) as caught:
        await client.otp_signatures.download_signed(url, tmp_path / "out.pdf")
    assert caught.value.field == "signature_or_url"
    assert transport.requests == []
    assert not (tmp_path / "out.pdf").exists()


async def test_download_rejects_other_types(make_client, tmp_path) -> None:
    client, transport = make_client(_never)
    with pytest.raises(ValidationError, match="signature_or_url"):
        await client.otp_signatures.download_signed(42, tmp_path / "out.pdf")  # type: ignore[arg-type]
    assert transport.requests == []


@pytest.mark.parametrize("phone", ["+573001234567", "3001234567", "+57 (300) 123-4567", "123456"])
async def test_usual_phone_spellings_are_accepted(make_client, tmp_path, phone) -> None:
    client, transport = make_client(lambda request: json_response(201, created("txn-1")))
    await client.otp_signatures.create(**(_valid(tmp_path) | {"phone": phone}))
    assert len(transport.requests) == 1
