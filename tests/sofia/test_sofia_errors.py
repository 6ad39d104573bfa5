"""S.O.F.I.A.'s error codes, in every spelling of the body, become the right exceptions."""

from __future__ import annotations

from typing import Any

import pytest
from sofia_support import json_response

from signing_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
)

CODES = [
    (400, "WHK001", BadRequestError),
    (401, "WHK002", AuthenticationError),
    (404, "WHK004", NotFoundError),
]


def _bodies(code: str, text: str) -> list[dict[str, Any]]:
    # Every spelling the provider is known to use for the code and for the text.
    return [
        {"code": code, "message": text},
        {"error_code": code, "error": text},
        {"errorCode": code, "description": text},
        {"code": code, "description": text, "status": "error"},
        {"errorCode": code, "error": text, "timestamp": "2025-09-05T21:14:00Z"},
    ]


CASES = [
    pytest.param(status, code, cls, body, id=f"{code}-{index}")
    for status, code, cls in CODES
    for index, body in enumerate(_bodies(code, "texto del servidor"))
]


@pytest.mark.parametrize(("status", "code", "cls", "body"), CASES)
async def test_code_in_every_spelling(make_client, status, code, cls, body) -> None:
    client, transport = make_client(lambda request: json_response(status, body))
    with pytest.raises(APIError) as caught:
        await client.otp_signatures.sign("txn-1", "123456")
    error = caught.value
    assert type(error) is cls
    assert error.code == code
    assert error.status == status
    assert error.message == "texto del servidor"
    assert error.provider == "S.O.F.I.A."
    assert "S.O.F.I.A. sign document txn-1" in str(error)
    assert code in str(error)
    assert len(transport.requests) == 1


@pytest.mark.parametrize(("status", "code", "cls"), CODES)
async def test_the_code_wins_over_an_unusual_status(make_client, status, code, cls) -> None:
    # A server that answers 422 (or anything) with a known code still maps by code.
    client, _ = make_client(lambda request: json_response(422, {"code": code, "message": "m"}))
    with pytest.raises(cls) as caught:
        await client.otp_signatures.sign("txn-1", "123456")
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (418, APIError),
        (500, ServerError),
    ],
)
async def test_unknown_code_falls_back_to_the_status(make_client, status, cls) -> None:
    client, _ = make_client(
        lambda request: json_response(status, {"code": "WHK999", "message": "nuevo"})
    )
    with pytest.raises(APIError) as caught:
        await client.otp_signatures.create(
            transaction_id="txn-1",
            user_selfie=b"\xff\xd8\xff\xe0",
            image_front=b"\xff\xd8\xff\xe0",
            document_sign=b"%PDF-1.4\n",
            phone="3001234567",
            email="user@example.com",
        )
    assert type(caught.value) is cls
    assert caught.value.code == "WHK999"
    assert caught.value.message == "nuevo"


async def test_body_that_is_not_json_keeps_the_text(make_client) -> None:
    from signing_async import Response

    client, _ = make_client(lambda request: Response(404, content=b"<html>Not Found</html>"))
    with pytest.raises(NotFoundError) as caught:
        await client.otp_signatures.sign("txn-1", "123456")
    assert caught.value.code is None
    assert "Not Found" in caught.value.message


async def test_authentication_error_is_not_replayed(make_client) -> None:
    client, transport = make_client(
        lambda request: json_response(401, {"code": "WHK002", "message": "Autenticación fallida"})
    )
    with pytest.raises(AuthenticationError):
        await client.otp_signatures.sign("txn-1", "123456")
    # Fixed Basic credentials cannot be renewed: one attempt only.
    assert len(transport.requests) == 1
