"""No credential (secret, Basic value) nor OTP shows in a repr, an error or a log record."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from sofia_support import (
    BASIC,
    CLIENT_ID,
    JPEG,
    PDF,
    PNG,
    SECRET,
    config,
    json_response,
    signed_pdf,
)

from signing_async import (
    MockTransport,
    OtpSignature,
    Response,
    RetryPolicy,
    SigningClient,
    SigningError,
    TransportError,
)
from signing_async.transports import RecordedRequest

OTP = "918273"
BASIC_TOKEN = BASIC.split(" ", 1)[1]
FORBIDDEN = (SECRET, BASIC_TOKEN, base64.b64encode(SECRET.encode()).decode(), OTP)


def _assert_clean(text: str) -> None:
    for secret in FORBIDDEN:
        assert secret not in text


async def test_nothing_secret_in_logs_errors_or_reprs(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the SDK's and its dependencies'
    answers = {
        "/create_signature": [
            json_response(503, {"message": "busy"}),
            json_response(401, {"code": "WHK002", "message": "Autenticación fallida"}),
        ],
        "/sign_document": [json_response(400, {"errorCode": "WHK001", "error": "OTP inválido"})],
        "/files/signed.pdf": [json_response(500, {"message": "x"}), None],
    }
    pdf = signed_pdf("other")

    def handler(request: RecordedRequest) -> object:
        path = "/" + request.url.split("/", 3)[3]
        if path == "/broken":
            raise TransportError("connection reset by peer", request_sent=True)
        answer = answers[path].pop(0)
        if answer is None:
            return Response(200, content=pdf)
        return answer

    transport = MockTransport(handler)
    client = SigningClient(
        sofia=config(), transport=transport, retry=RetryPolicy(backoff_initial=0.0)
    )
    errors: list[SigningError] = []
    async with client:
        namespace = client.otp_signatures
        with pytest.raises(SigningError) as caught:
            await namespace.create(
                transaction_id="txn-1",
                user_selfie=JPEG,
                image_front=PNG,
                document_sign=PDF,
                phone="3001234567",
                email="user@example.com",
            )
        errors.append(caught.value)
        with pytest.raises(SigningError) as caught:
            await namespace.sign("txn-1", OTP)
        errors.append(caught.value)
        with pytest.raises(SigningError) as caught:
            await namespace.sign("txn-1", "12x")
        errors.append(caught.value)
        with pytest.raises(SigningError) as caught:
            await namespace.download_signed(
                "https://sandbox-sofiapp.bio.credit/broken", tmp_path / "a.pdf"
            )
        errors.append(caught.value)
        with pytest.raises(SigningError) as caught:
            await namespace.download_signed(
                OtpSignature("txn-1", "SIGNED", "/files/signed.pdf", signature_hash="mine"),
                tmp_path / "b.pdf",
            )
        errors.append(caught.value)
        reprs = [repr(client), repr(namespace), repr(config()), *map(repr, transport.requests)]
        reprs += [repr(request.request) for request in transport.requests]

    # The calls really carried the credentials, so a leak had a chance to happen.
    assert all(request.headers["Authorization"] == BASIC for request in transport.requests)
    assert len(errors) == 5
    assert len(caplog.records) >= 6
    for record in caplog.records:
        _assert_clean(record.getMessage())
    _assert_clean(caplog.text)
    for error in errors:
        _assert_clean(str(error))
        _assert_clean(repr(error))
    for text in reprs:
        _assert_clean(text)
    assert CLIENT_ID in repr(config())  # the repr is not just empty
