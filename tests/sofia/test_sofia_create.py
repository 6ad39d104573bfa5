"""``otp_signatures.create``: the request on the wire, in both encodings."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from sofia_support import (
    API,
    BASIC,
    JPEG,
    JPEG_BACK,
    PDF,
    PNG,
    TENANT,
    created,
    json_response,
    parse_multipart,
    part_name,
)

from signing_async import Document, OtpSignatureRequest, TransportError
from signing_async._core.sources import SMALL_FILE_LIMIT
from signing_async.transports import RecordedRequest


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """The four files on disk."""
    paths = {
        "user_selfie": tmp_path / "selfie.jpg",
        "image_front": tmp_path / "id_front.png",
        "image_back": tmp_path / "id_back.jpg",
        "document_sign": tmp_path / "contract.pdf",
    }
    for (_, path), data in zip(paths.items(), (JPEG, PNG, JPEG_BACK, PDF), strict=True):
        path.write_bytes(data)
    return paths


def _ok(request: RecordedRequest) -> object:
    return json_response(201, created())


async def test_multipart_parts_are_the_files(make_client, files) -> None:
    client, transport = make_client(_ok)
    result = await client.otp_signatures.create(
        transaction_id="txn-987654",
        user_selfie=files["user_selfie"],
        image_front=files["image_front"],
        image_back=files["image_back"],
        document_sign=files["document_sign"],
        phone="+573001234567",
        email="user@example.com",
    )
    (request,) = transport.requests
    assert request.method == "POST"
    assert request.url == f"{API}/create_signature"
    assert request.headers["Authorization"] == BASIC
    assert request.headers["Accept"] == "application/json"
    content_type = request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    assert request.headers["Content-Length"] == str(len(request.content))

    parts = {part_name(part): part for part in parse_multipart(content_type, request.content)}
    assert set(parts) == {
        "tenant_id",
        "transaction_id",
        "phone",
        "email",
        "user_selfie",
        "image_front",
        "image_back",
        "document_sign",
    }
    expected_files = {
        "user_selfie": (JPEG, "image/jpeg", "selfie.jpg"),
        "image_front": (PNG, "image/png", "id_front.png"),
        "image_back": (JPEG_BACK, "image/jpeg", "id_back.jpg"),
        "document_sign": (PDF, "application/pdf", "contract.pdf"),
    }
    for name, (data, content_type_, filename) in expected_files.items():
        part = parts[name]
        assert part.get_payload(decode=True) == data, name
        assert part.get_content_type() == content_type_, name
        assert part.get_filename() == filename, name
    fields = {"tenant_id": TENANT, "transaction_id": "txn-987654"}
    fields |= {"phone": "+573001234567", "email": "user@example.com"}
    for name, value in fields.items():
        assert parts[name].get_filename() is None
        assert parts[name].get_payload(decode=True) == value.encode()

    assert result == OtpSignatureRequest(
        transaction_id="txn-987654",
        status="PENDING_OTP",
        timestamp=dt.datetime(2025, 9, 5, 21, 12, tzinfo=dt.timezone.utc),
        storage_paths={
            "user_selfie": "https://storage.example.com/selfie.jpg",
            "image_front": "https://storage.example.com/id_front.jpg",
            "document_sign": "https://storage.example.com/contract.pdf",
        },
    )


async def test_multipart_without_image_back_has_no_such_part(make_client, files) -> None:
    client, transport = make_client(_ok)
    await client.otp_signatures.create(
        transaction_id="txn-1",
        user_selfie=files["user_selfie"],
        image_front=files["image_front"],
        document_sign=files["document_sign"],
        phone="+573001234567",
        email="user@example.com",
    )
    (request,) = transport.requests
    names = [
        part_name(p) for p in parse_multipart(request.headers["Content-Type"], request.content)
    ]
    assert "image_back" not in names
    assert names.count("document_sign") == 1


async def test_tenant_id_argument_overrides_config(make_client) -> None:
    client, transport = make_client(_ok)
    await client.otp_signatures.create(
        transaction_id="txn-1",
        user_selfie=JPEG,
        image_front=JPEG,
        document_sign=PDF,
        phone="3001234567",
        email="user@example.com",
        tenant_id="other-tenant",
    )
    (request,) = transport.requests
    parts = {
        part_name(p): p for p in parse_multipart(request.headers["Content-Type"], request.content)
    }
    assert parts["tenant_id"].get_payload(decode=True) == b"other-tenant"


async def test_bytes_sources_get_names_matching_their_type(make_client) -> None:
    client, transport = make_client(_ok)
    await client.otp_signatures.create(
        transaction_id="txn-1",
        user_selfie=PNG,
        image_front=Document(JPEG, "front-side.jpeg"),
        document_sign=PDF,
        phone="3001234567",
        email="user@example.com",
    )
    (request,) = transport.requests
    parts = {
        part_name(p): p for p in parse_multipart(request.headers["Content-Type"], request.content)
    }
    assert parts["user_selfie"].get_filename() == "user_selfie.png"
    assert parts["user_selfie"].get_content_type() == "image/png"
    assert parts["image_front"].get_filename() == "front-side.jpeg"
    assert parts["document_sign"].get_filename() == "document_sign.pdf"
    assert parts["document_sign"].get_payload(decode=True) == PDF


async def test_json_encoding_sends_base64_files(make_client, files) -> None:
    # Larger than a file read whole when loaded: streamed, with its exact length.
    streamed_pdf = PDF + b"\n" * SMALL_FILE_LIMIT
    files["document_sign"].write_bytes(streamed_pdf)
    client, transport = make_client(_ok, upload_encoding="json")
    await client.otp_signatures.create(
        transaction_id="txn-987654",
        user_selfie=files["user_selfie"],
        image_front=files["image_front"],
        image_back=files["image_back"],
        document_sign=files["document_sign"],
        phone="+573001234567",
        email="user@example.com",
    )
    (request,) = transport.requests
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Authorization"] == BASIC
    assert request.headers["Content-Length"] == str(len(request.content))
    payload = json.loads(request.content)
    assert set(payload) == {
        "tenant_id",
        "transaction_id",
        "phone",
        "email",
        "user_selfie",
        "image_front",
        "image_back",
        "document_sign",
    }
    assert payload["tenant_id"] == TENANT
    assert payload["transaction_id"] == "txn-987654"
    assert payload["phone"] == "+573001234567"
    assert payload["email"] == "user@example.com"
    for name, data in (
        ("user_selfie", JPEG),
        ("image_front", PNG),
        ("image_back", JPEG_BACK),
        ("document_sign", streamed_pdf),
    ):
        assert base64.b64decode(payload[name], validate=True) == data, name


async def test_json_encoding_without_image_back_omits_the_key(make_client) -> None:
    client, transport = make_client(_ok, upload_encoding="json")
    await client.otp_signatures.create(
        transaction_id="txn-1",
        user_selfie=JPEG,
        image_front=PNG,
        document_sign=PDF,
        phone="3001234567",
        email="user@example.com",
    )
    payload = json.loads(transport.requests[0].content)
    assert "image_back" not in payload
    assert base64.b64decode(payload["document_sign"]) == PDF


async def test_json_encoding_streams_a_file_larger_than_one_chunk(make_client, tmp_path) -> None:
    # 2.5 MiB + 1 byte: several Base64 chunks and a remainder that is not a multiple of 3.
    data = b"%PDF-1.4\n" + bytes(range(256)) * (10 * 1024) + b"\x00"
    (tmp_path / "big.pdf").write_bytes(data)
    client, transport = make_client(_ok, upload_encoding="json")
    await client.otp_signatures.create(
        transaction_id="txn-1",
        user_selfie=JPEG,
        image_front=PNG,
        document_sign=tmp_path / "big.pdf",
        phone="3001234567",
        email="user@example.com",
    )
    (request,) = transport.requests
    assert request.headers["Content-Length"] == str(len(request.content))
    assert base64.b64decode(json.loads(request.content)["document_sign"]) == data


async def test_create_is_not_replayed_after_a_dropped_connection(make_client) -> None:
    def drop(request: RecordedRequest) -> object:
        raise TransportError("connection reset after the body was sent", request_sent=True)

    client, transport = make_client(drop)
    with pytest.raises(TransportError) as caught:
        await client.otp_signatures.create(
            transaction_id="txn-1",
            user_selfie=JPEG,
            image_front=PNG,
            document_sign=PDF,
            phone="3001234567",
            email="user@example.com",
        )
    assert len(transport.requests) == 1
    assert caught.value.request_sent is True
    assert "create signature txn-1" in str(caught.value)


async def test_create_is_retried_on_503(make_client) -> None:
    answers = iter([json_response(503, {"message": "busy"}), json_response(201, created())])
    client, transport = make_client(lambda request: next(answers))
    result = await client.otp_signatures.create(
        transaction_id="txn-987654",
        user_selfie=JPEG,
        image_front=PNG,
        document_sign=PDF,
        phone="3001234567",
        email="user@example.com",
    )
    assert result.status == "PENDING_OTP"
    assert len(transport.requests) == 2
    # The replayed stream body is complete again.
    assert transport.requests[0].content == transport.requests[1].content


async def test_unknown_answer_keys_are_kept_in_raw(make_client) -> None:
    answer = {**created(), "requestedBy": "api", "storage_paths": {"document_sign": "u"}}
    client, _ = make_client(lambda request: json_response(200, answer))
    result = await client.otp_signatures.create(
        transaction_id="txn-987654",
        user_selfie=JPEG,
        image_front=PNG,
        document_sign=PDF,
        phone="3001234567",
        email="user@example.com",
    )
    assert result.raw == {"requestedBy": "api"}
    assert result.storage_paths == {"document_sign": "u"}
