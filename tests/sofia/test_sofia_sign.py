"""``otp_signatures.sign``: request, answer, and what is (not) retried."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sofia_support import API, BASIC, json_response, signed

from signing_async import BadRequestError, OtpSignature, TransportError
from signing_async.transports import RecordedRequest


async def test_sign_sends_the_code_and_decodes_the_signature(make_client) -> None:
    client, transport = make_client(lambda request: json_response(200, signed()))
    signature = await client.otp_signatures.sign("txn-987654", " 123456 ")
    (request,) = transport.requests
    assert request.method == "POST"
    assert request.url == f"{API}/sign_document"
    assert request.headers["Authorization"] == BASIC
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"transaction_id": "txn-987654", "otp_code": "123456"}
    assert signature == OtpSignature(
        transaction_id="txn-987654",
        status="SIGNED",
        signed_document_url="https://storage.example.com/signed_contract.pdf",
        signature_hash="x9y8z7w6v5u4t3s2",
        timestamp=dt.datetime(2025, 9, 5, 21, 14, tzinfo=dt.timezone.utc),
        trace_log_id="654321",
    )


async def test_leading_zeros_of_the_otp_survive(make_client) -> None:
    client, transport = make_client(lambda request: json_response(200, signed()))
    await client.otp_signatures.sign("txn-987654", "004200")
    assert json.loads(transport.requests[0].content)["otp_code"] == "004200"


async def test_camel_case_answer_and_numeric_trace_id(make_client) -> None:
    answer = {
        "transactionId": "txn-1",
        "status": "SIGNED",
        "signedDocumentUrl": "https://storage.example.com/s.pdf",
        "signatureHash": "abc",
        "traceLogId": 654321,
        "region": "co",
    }
    client, _ = make_client(lambda request: json_response(200, answer))
    signature = await client.otp_signatures.sign("txn-1", "123456")
    assert signature.signed_document_url == "https://storage.example.com/s.pdf"
    assert signature.trace_log_id == "654321"
    assert signature.timestamp is None
    assert signature.raw == {"region": "co"}


async def test_sign_is_never_retried_on_400(make_client) -> None:
    client, transport = make_client(
        lambda request: json_response(400, {"code": "WHK001", "message": "OTP inválido"})
    )
    with pytest.raises(BadRequestError) as caught:
        await client.otp_signatures.sign("txn-1", "000000")
    assert len(transport.requests) == 1
    assert caught.value.code == "WHK001"
    assert caught.value.message == "OTP inválido"


async def test_sign_is_not_replayed_after_a_dropped_connection(make_client) -> None:
    def drop(request: RecordedRequest) -> object:
        raise TransportError("server closed the connection", request_sent=True)

    client, transport = make_client(drop)
    with pytest.raises(TransportError):
        await client.otp_signatures.sign("txn-1", "123456")
    assert len(transport.requests) == 1


async def test_sign_answer_without_a_url_is_a_decode_error(make_client) -> None:
    from signing_async import ResponseDecodeError

    client, _ = make_client(
        lambda request: json_response(200, {"transaction_id": "t", "status": "SIGNED"})
    )
    with pytest.raises(ResponseDecodeError, match="sign document t"):
        await client.otp_signatures.sign("t", "123456")
