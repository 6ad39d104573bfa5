"""S.O.F.I.A. end to end: request a signature, sign with the OTP, fetch the signed PDF.

The sandbox serves its storage host as ``localhost`` while the API is
``127.0.0.1`` (same port), so the download goes to another origin, as a
storage bucket would be in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest

import signing_async as sa
from signing_async.sandbox import Fault, Sandbox

from .support import WAIT, Samples, basic, listing


@pytest.fixture
async def json_client(sb: Sandbox) -> AsyncIterator[sa.SigningClient]:
    """A client that uploads S.O.F.I.A. files as Base64 JSON."""
    credentials = sb.credentials
    config = sa.SofiaConfig(
        client_id=credentials.sofia_client_id,
        client_secret=credentials.sofia_client_secret,
        tenant_id=credentials.sofia_tenant_id,
        base_url=sb.url,
        upload_encoding="json",
    )
    async with sb.client(sofia=config) as client:
        yield client


async def request(
    client: sa.SigningClient, files: Samples, transaction_id: str
) -> sa.OtpSignatureRequest:
    return await client.otp_signatures.create(
        transaction_id=transaction_id,
        user_selfie=files.jpeg,
        image_front=files.png,
        image_back=sa.Document(files.png, "back.png"),
        document_sign=files.contract,
        phone="+573001234567",
        email="ana@example.com",
    )


@pytest.mark.parametrize("encoding", ["multipart", "json"])
async def test_the_whole_otp_flow(
    sb: Sandbox,
    client: sa.SigningClient,
    json_client: sa.SigningClient,
    files: Samples,
    tmp_path: Path,
    encoding: str,
) -> None:
    sdk = json_client if encoding == "json" else client
    target = tmp_path / "signed.pdf"
    with anyio.fail_after(WAIT):
        pending = await request(sdk, files, "txn-1")
        signature = await sdk.otp_signatures.sign("txn-1", sb.otp("txn-1"))
        downloaded = await sdk.otp_signatures.download_signed(signature, target)

    assert pending.transaction_id == "txn-1"
    assert pending.status == "PENDING_OTP"
    assert set(pending.storage_paths) == {
        "user_selfie",
        "image_front",
        "image_back",
        "document_sign",
    }
    (create,) = sb.requests_for("sofia.create_signature")
    expected_type = "multipart/form-data" if encoding == "multipart" else "application/json"
    assert create.headers["Content-Type"].startswith(expected_type)
    assert create.status == 201

    assert signature.status == "SIGNED"
    assert signature.signature_hash
    assert urlsplit(signature.signed_document_url).hostname == "localhost"
    original = files.contract.read_bytes()
    content = target.read_bytes()
    assert content.startswith(original)
    assert len(content) > len(original)
    assert downloaded.hash_verified is True
    assert downloaded.size == len(content)
    assert listing(tmp_path) == ["in", "signed.pdf"]

    # The API calls carried the Basic credentials; the storage host got none.
    credentials = sb.credentials
    expected = basic(credentials.sofia_client_id, credentials.sofia_client_secret)
    for route in ("sofia.create_signature", "sofia.sign_document"):
        assert [entry.headers["Authorization"] for entry in sb.requests_for(route)] == [expected]
    (storage,) = sb.requests_for("sofia.storage")
    assert storage.status == 200
    assert "Authorization" not in storage.headers


async def test_a_wrong_otp_is_a_bad_request_and_not_retried(
    sb: Sandbox, client: sa.SigningClient, files: Samples
) -> None:
    await request(client, files, "txn-otp")
    wrong = "000000" if sb.otp("txn-otp") != "000000" else "111111"

    with pytest.raises(sa.BadRequestError) as caught:
        await client.otp_signatures.sign("txn-otp", wrong)

    assert caught.value.code == "WHK001"
    assert caught.value.status == 400
    assert "invalid OTP (2 attempts left)" in str(caught.value)
    assert len(sb.requests_for("sofia.sign_document")) == 1
    # The right code still works after one mistake.
    signature = await client.otp_signatures.sign("txn-otp", sb.otp("txn-otp"))
    assert signature.status == "SIGNED"


async def test_three_wrong_otps_lock_the_transaction(
    sb: Sandbox, client: sa.SigningClient, files: Samples
) -> None:
    await request(client, files, "txn-lock")
    right = sb.otp("txn-lock")
    wrong = "000000" if right != "000000" else "111111"
    errors = []
    for _ in range(3):
        with pytest.raises(sa.BadRequestError) as caught:
            await client.otp_signatures.sign("txn-lock", wrong)
        errors.append(caught.value)
    with pytest.raises(sa.BadRequestError) as locked:
        await client.otp_signatures.sign("txn-lock", right)

    assert [error.code for error in errors] == ["WHK001"] * 3
    assert "transaction locked" in errors[-1].message
    assert locked.value.code == "WHK001"
    assert "locked after too many invalid OTP codes" in locked.value.message
    assert [e.status for e in sb.requests_for("sofia.sign_document")] == [400, 400, 400, 400]


async def test_an_unknown_transaction_is_not_found(sb: Sandbox, client: sa.SigningClient) -> None:
    with pytest.raises(sa.NotFoundError) as caught:
        await client.otp_signatures.sign("txn-nowhere", "123456")
    assert caught.value.code == "WHK004"
    assert caught.value.status == 404
    assert len(sb.requests_for("sofia.sign_document")) == 1


async def test_bad_credentials_are_an_authentication_error(sb: Sandbox, files: Samples) -> None:
    config = sa.SofiaConfig(
        client_id=sb.credentials.sofia_client_id,
        client_secret="not-the-secret",
        tenant_id=sb.credentials.sofia_tenant_id,
        base_url=sb.url,
    )
    async with sb.client(sofia=config) as client:
        with pytest.raises(sa.AuthenticationError) as caught:
            await request(client, files, "txn-auth")
    assert caught.value.code == "WHK002"
    assert caught.value.status == 401
    assert "not-the-secret" not in str(caught.value)
    assert len(sb.requests_for("sofia.create_signature")) == 1
    with pytest.raises(KeyError):
        sb.otp("txn-auth")


async def test_a_duplicate_transaction_id_is_a_bad_request(
    sb: Sandbox, client: sa.SigningClient, files: Samples
) -> None:
    await request(client, files, "txn-dup")
    with pytest.raises(sa.BadRequestError) as caught:
        await request(client, files, "txn-dup")
    assert caught.value.status == 400
    assert caught.value.code == "WHK001"
    assert "duplicate transaction_id" in str(caught.value)
    assert [e.status for e in sb.requests_for("sofia.create_signature")] == [201, 400]


async def test_a_create_dropped_after_the_server_acted_is_not_replayed(
    sb: Sandbox, client: sa.SigningClient, files: Samples, tmp_path: Path
) -> None:
    sb.faults.add(Fault(route="sofia.create_signature", drop="after", times=1))

    with anyio.fail_after(WAIT), pytest.raises(sa.TransportError) as caught:
        await request(client, files, "txn-drop")

    assert caught.value.request_sent is True
    assert "S.O.F.I.A." in str(caught.value)
    assert [e.status for e in sb.requests_for("sofia.create_signature")] == [None]
    # The transaction exists: the signer got a code, and it signs.
    signature = await client.otp_signatures.sign("txn-drop", sb.otp("txn-drop"))
    assert signature.transaction_id == "txn-drop"
    downloaded = await client.otp_signatures.download_signed(signature, tmp_path / "s.pdf")
    assert downloaded.hash_verified is True


async def test_a_truncated_signed_pdf_leaves_nothing_behind(
    sb: Sandbox, client: sa.SigningClient, files: Samples, tmp_path: Path
) -> None:
    await request(client, files, "txn-cut")
    signature = await client.otp_signatures.sign("txn-cut", sb.otp("txn-cut"))
    sb.faults.add(Fault(route="sofia.storage", truncate=True, times=1))
    out = tmp_path / "out"
    out.mkdir()

    with anyio.fail_after(WAIT), pytest.raises(sa.TransportError) as caught:
        await client.otp_signatures.download_signed(signature, out / "signed.pdf")

    assert "S.O.F.I.A. download signed document txn-cut" in str(caught.value)
    assert listing(out) == []
