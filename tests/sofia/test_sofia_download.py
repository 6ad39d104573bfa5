"""``otp_signatures.download_signed``: credentials per origin, the PDF check, atomicity."""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sofia_support import API, BASIC, json_response, signed, signed_pdf, with_info_update

from signing_async import (
    NotFoundError,
    OtpSignature,
    Response,
    ResponseDecodeError,
    SignedDownload,
    TransportError,
    ValidationError,
)
from signing_async.transports import RecordedRequest

HASH = "x9y8z7w6v5u4t3s2"
STORAGE_URL = "https://storage.example.com/signed_contract.pdf"


def _signature(url: str = STORAGE_URL, signature_hash: str | None = HASH) -> OtpSignature:
    return OtpSignature(
        transaction_id="txn-987654",
        status="SIGNED",
        signed_document_url=url,
        signature_hash=signature_hash,
    )


def _pdf_response(pdf: bytes) -> Response:
    return Response(
        200,
        headers={"Content-Type": "application/pdf", "Content-Length": str(len(pdf))},
        content=pdf,
    )


def _serve(pdf: bytes) -> Callable[[RecordedRequest], Response]:
    return lambda request: _pdf_response(pdf)


def _authorization(request: RecordedRequest) -> list[str]:
    return [value for key, value in request.headers.items() if key.lower() == "authorization"]


def _leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


async def test_storage_host_gets_no_authorization_header(make_client, tmp_path) -> None:
    pdf = signed_pdf(HASH)
    client, transport = make_client(_serve(pdf))
    result = await client.otp_signatures.download_signed(_signature(), tmp_path / "signed.pdf")
    (request,) = transport.requests
    assert request.method == "GET"
    assert request.url == STORAGE_URL
    assert _authorization(request) == []
    assert (tmp_path / "signed.pdf").read_bytes() == pdf
    assert result == SignedDownload(
        tmp_path / "signed.pdf", len(pdf), hashlib.sha256(pdf).hexdigest(), hash_verified=True
    )


@pytest.mark.parametrize(
    "url",
    [
        f"{API}/files/signed.pdf",
        f"{API}:443/files/signed.pdf",  # the default port, spelled out
        "https://SANDBOX-sofiapp.bio.credit/files/signed.pdf",  # host names ignore case
        "/files/signed.pdf",  # relative: the API's own
    ],
)
async def test_api_origin_gets_the_basic_header(make_client, tmp_path, url) -> None:
    client, transport = make_client(_serve(signed_pdf(HASH)))
    await client.otp_signatures.download_signed(_signature(url), tmp_path / "signed.pdf")
    (request,) = transport.requests
    assert _authorization(request) == [BASIC]
    assert request.url.lower().startswith(API.lower())


@pytest.mark.parametrize(
    "url",
    [
        "https://sandbox-sofiapp.bio.credit:8443/files/signed.pdf",  # another port
        "https://files.sandbox-sofiapp.bio.credit/signed.pdf",  # a subdomain
        "https://sandbox-sofiapp.bio.credit.evil.example/signed.pdf",
        "http://sandbox-sofiapp.bio.credit/files/signed.pdf",  # another scheme
    ],
)
async def test_other_origins_get_no_authorization(make_client, tmp_path, url) -> None:
    client, transport = make_client(_serve(signed_pdf(HASH)), allow_insecure=True)
    await client.otp_signatures.download_signed(_signature(url), tmp_path / "signed.pdf")
    (request,) = transport.requests
    assert _authorization(request) == []


async def test_plain_http_needs_allow_insecure(make_client, tmp_path) -> None:
    url = "http://storage.example.com/signed.pdf"
    client, transport = make_client(_serve(signed_pdf(HASH)))
    with pytest.raises(ValidationError, match="allow_insecure"):
        await client.otp_signatures.download_signed(_signature(url), tmp_path / "a.pdf")
    assert transport.requests == []
    insecure, transport = make_client(_serve(signed_pdf(HASH)), allow_insecure=True)
    await insecure.otp_signatures.download_signed(_signature(url), tmp_path / "a.pdf")
    assert [request.url for request in transport.requests] == [url]


async def test_plain_http_to_loopback_is_allowed(make_client, tmp_path) -> None:
    client, transport = make_client(_serve(signed_pdf(HASH)))
    url = "http://127.0.0.1:9/signed.pdf"
    await client.otp_signatures.download_signed(url, tmp_path / "a.pdf")
    assert [request.url for request in transport.requests] == [url]


async def test_hash_mismatch_leaves_nothing(make_client, tmp_path) -> None:
    client, _ = make_client(_serve(signed_pdf("another-hash")))
    with pytest.raises(ResponseDecodeError) as caught:
        await client.otp_signatures.download_signed(_signature(), tmp_path / "signed.pdf")
    assert "/SignatureHash" in str(caught.value)
    assert "another-hash" in str(caught.value)
    assert _leftovers(tmp_path) == []


async def test_a_failed_download_keeps_an_older_file_as_it_was(make_client, tmp_path) -> None:
    target = tmp_path / "signed.pdf"
    target.write_bytes(b"older")
    client, _ = make_client(_serve(signed_pdf("another-hash")))
    with pytest.raises(ResponseDecodeError):
        await client.otp_signatures.download_signed(_signature(), target)
    assert target.read_bytes() == b"older"
    assert _leftovers(tmp_path) == ["signed.pdf"]


async def test_hash_is_compared_without_surrounding_spaces(make_client, tmp_path) -> None:
    client, _ = make_client(_serve(signed_pdf(f"  {HASH}\n")))
    result = await client.otp_signatures.download_signed(_signature(), tmp_path / "s.pdf")
    assert result.hash_verified is True


async def test_hash_differing_in_case_is_a_mismatch(make_client, tmp_path) -> None:
    client, _ = make_client(_serve(signed_pdf(HASH.upper())))
    with pytest.raises(ResponseDecodeError):
        await client.otp_signatures.download_signed(_signature(), tmp_path / "s.pdf")
    assert _leftovers(tmp_path) == []


async def test_pdf_without_embedded_hash_is_kept_unverified(make_client, tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="signing_async")
    pdf = signed_pdf(None)
    client, _ = make_client(_serve(pdf))
    result = await client.otp_signatures.download_signed(_signature(), tmp_path / "s.pdf")
    assert result.hash_verified is None  # not checked, which is not a mismatch
    assert (tmp_path / "s.pdf").read_bytes() == pdf
    assert any("carries no /SignatureHash" in r.getMessage() for r in caplog.records)


async def test_bare_url_is_not_hash_checked(make_client, tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="signing_async")
    client, _ = make_client(_serve(signed_pdf("whatever")))
    result = await client.otp_signatures.download_signed(STORAGE_URL, tmp_path / "s.pdf")
    assert isinstance(result, SignedDownload)
    assert result.hash_verified is None  # not checked, which is not a mismatch
    assert any("no signature hash to compare" in r.getMessage() for r in caplog.records)


async def test_signature_without_hash_is_not_checked(make_client, tmp_path) -> None:
    client, _ = make_client(_serve(signed_pdf("whatever")))
    signature = _signature(signature_hash=None)
    result = await client.otp_signatures.download_signed(signature, tmp_path / "s.pdf")
    assert result.hash_verified is None  # not checked, which is not a mismatch


async def test_verified_match_is_logged(make_client, tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="signing_async")
    client, _ = make_client(_serve(signed_pdf(HASH)))
    await client.otp_signatures.download_signed(_signature(), tmp_path / "s.pdf")
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(
        "download signed document txn-987654" in m and "matches the signature hash" in m
        for m in messages
    )


async def test_without_pypdf_the_hash_check_is_skipped(
    make_client, tmp_path, caplog, monkeypatch
) -> None:
    # The optional extra is absent: importing pypdf fails.
    monkeypatch.setitem(sys.modules, "pypdf", None)
    caplog.set_level(logging.INFO, logger="signing_async")
    pdf = signed_pdf("another-hash")
    client, _ = make_client(_serve(pdf))
    result = await client.otp_signatures.download_signed(_signature(), tmp_path / "s.pdf")
    assert result.hash_verified is None  # not checked, which is not a mismatch
    assert (tmp_path / "s.pdf").read_bytes() == pdf
    assert any("signature hash NOT checked" in r.getMessage() for r in caplog.records)


async def test_unreadable_pdf_is_rejected_when_a_hash_is_expected(make_client, tmp_path) -> None:
    client, _ = make_client(_serve(b"%PDF-1.7\nthis is not really a PDF"))
    with pytest.raises(ResponseDecodeError, match="cannot be read"):
        await client.otp_signatures.download_signed(_signature(), tmp_path / "s.pdf")
    assert _leftovers(tmp_path) == []


async def test_an_answer_that_is_not_a_pdf_leaves_nothing(make_client, tmp_path) -> None:
    client, _ = make_client(_serve(b"<html>login page</html>"))
    with pytest.raises(ResponseDecodeError, match="not a PDF"):
        await client.otp_signatures.download_signed(STORAGE_URL, tmp_path / "s.pdf")
    assert _leftovers(tmp_path) == []


async def test_a_truncated_body_leaves_nothing(make_client, tmp_path) -> None:
    pdf = signed_pdf(HASH)

    def short(request: RecordedRequest) -> Response:
        return Response(200, headers={"Content-Length": str(len(pdf) + 100)}, content=pdf)

    client, _ = make_client(short)
    with pytest.raises(TransportError, match="ended after"):
        await client.otp_signatures.download_signed(_signature(), tmp_path / "s.pdf")
    assert _leftovers(tmp_path) == []


async def test_an_error_status_leaves_nothing(make_client, tmp_path) -> None:
    client, transport = make_client(
        lambda request: json_response(404, {"code": "WHK004", "message": "no existe"})
    )
    with pytest.raises(NotFoundError):
        await client.otp_signatures.download_signed(_signature(), tmp_path / "s.pdf")
    assert _leftovers(tmp_path) == []
    assert len(transport.requests) == 1


async def test_a_download_is_retried_on_500(make_client, tmp_path) -> None:
    pdf = signed_pdf(HASH)
    answers = iter([json_response(500, {"message": "oops"}), _pdf_response(pdf)])
    client, transport = make_client(lambda request: next(answers))
    result = await client.otp_signatures.download_signed(_signature(), tmp_path / "s.pdf")
    assert len(transport.requests) == 2
    assert result.size == len(pdf)


async def test_sign_then_download_end_to_end(make_client, tmp_path) -> None:
    pdf = signed_pdf(HASH)

    def handler(request: RecordedRequest) -> Response:
        if request.url.endswith("/sign_document"):
            return json_response(200, signed(url=STORAGE_URL, signature_hash=HASH))
        return _pdf_response(pdf)

    client, transport = make_client(handler)
    signature = await client.otp_signatures.sign("txn-987654", "123456")
    result = await client.otp_signatures.download_signed(signature, tmp_path / "s.pdf")
    assert result.hash_verified is True
    sign_request, download_request = transport.requests
    assert _authorization(sign_request) == [BASIC]
    assert _authorization(download_request) == []


async def test_the_last_revision_info_is_the_one_checked(make_client, tmp_path) -> None:
    # The original revision carries a stale hash; the appended one carries the real one.
    stamped = with_info_update(signed_pdf("stale-hash"), {"/SignatureHash": HASH})
    client, _ = make_client(_serve(stamped))
    result = await client.otp_signatures.download_signed(_signature(), tmp_path / "s.pdf")
    assert result.hash_verified is True
    assert (tmp_path / "s.pdf").read_bytes() == stamped


async def test_a_stale_hash_in_the_last_revision_is_a_mismatch(make_client, tmp_path) -> None:
    stamped = with_info_update(signed_pdf(HASH), {"/SignatureHash": "stale-hash"})
    client, _ = make_client(_serve(stamped))
    with pytest.raises(ResponseDecodeError, match="stale-hash"):
        await client.otp_signatures.download_signed(_signature(), tmp_path / "s.pdf")
    assert _leftovers(tmp_path) == []
