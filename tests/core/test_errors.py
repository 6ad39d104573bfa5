"""The exception tree and the error mapper that fills it."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

import signing_async as sa
from signing_async._core.error_mapping import ErrorMapper


def test_hierarchy() -> None:
    assert issubclass(sa.ValidationError, sa.SigningError)
    assert issubclass(sa.ValidationError, ValueError)
    for cls in (sa.ConfigurationError, sa.TransportError, sa.ResponseDecodeError, sa.APIError):
        assert issubclass(cls, sa.SigningError)
    assert issubclass(sa.ConnectError, sa.TransportError)
    assert issubclass(sa.RequestTimeout, sa.TransportError)
    for cls in (
        sa.BadRequestError,
        sa.AuthenticationError,
        sa.PermissionDeniedError,
        sa.NotFoundError,
        sa.ConflictError,
        sa.RateLimitError,
        sa.ServerError,
    ):
        assert issubclass(cls, sa.APIError)


def test_transport_error_request_sent() -> None:
    assert sa.TransportError("x").request_sent is True
    assert sa.TransportError("x", request_sent=False).request_sent is False
    assert sa.ConnectError("x").request_sent is False
    assert sa.RequestTimeout("x").request_sent is True
    assert sa.RequestTimeout("x", request_sent=False).request_sent is False


def test_validation_error() -> None:
    error = sa.ValidationError("signer.email", "not valid")
    assert (error.field, error.problem, str(error)) == (
        "signer.email",
        "not valid",
        "signer.email: not valid",
    )


def test_api_error_message() -> None:
    error = sa.NotFoundError(
        "no such template", status=404, provider="DANAsign", operation="get template 7"
    )
    assert str(error) == "DANAsign get template 7 failed with HTTP 404: no such template"
    coded = sa.BadRequestError("bad", status=400, provider="S.O.F.I.A.", code="WHK001")
    assert str(coded) == "S.O.F.I.A. failed with HTTP 400 WHK001: bad"


MAPPER = ErrorMapper(
    "Acme",
    statuses={405: sa.AuthenticationError},
    codes={"WHK004": sa.NotFoundError, "WHK002": sa.AuthenticationError},
)


def error(status: int, body: bytes, headers: dict[str, str] | None = None) -> sa.APIError:
    return MAPPER.error("op", status, CIMultiDict(headers or {}), body)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, sa.BadRequestError),
        (401, sa.AuthenticationError),
        (403, sa.PermissionDeniedError),
        (404, sa.NotFoundError),
        (405, sa.AuthenticationError),
        (409, sa.ConflictError),
        (429, sa.RateLimitError),
        (500, sa.ServerError),
        (599, sa.ServerError),
        (402, sa.APIError),
        (422, sa.APIError),
    ],
)
def test_status(status: int, cls: type[sa.APIError]) -> None:
    assert type(error(status, b"")) is cls


def test_code_wins_over_status() -> None:
    mapped = error(400, b'{"code": "WHK004", "message": "transaction unknown"}')
    assert type(mapped) is sa.NotFoundError
    assert (mapped.code, mapped.message, mapped.status) == ("WHK004", "transaction unknown", 400)

    assert type(error(500, b'{"error_code": "WHK002"}')) is sa.AuthenticationError
    assert type(error(400, b'{"code": "OTHER"}')) is sa.BadRequestError


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"message": "m", "error": "e"}', "m"),
        (b'{"error": "e"}', "e"),
        (b'{"description": "d"}', "d"),
        (b'{"detail": "x"}', "x"),
        (b'{"error": {"code": "C9", "message": "inner"}}', "inner"),
        (b'{"error": ""}', '{"error": ""}'),
        (b'{"status": 1}', '{"status": 1}'),
        (b"   ", "no error text"),
    ],
)
def test_message(body: bytes, message: str) -> None:
    assert error(400, body).message == message


def test_request_id_and_retry_after() -> None:
    mapped = error(429, b"{}", {"X-Correlation-ID": "abc", "Retry-After": "30"})
    assert isinstance(mapped, sa.RateLimitError)
    assert mapped.request_id == "abc"
    assert mapped.retry_after == 30
    assert error(429, b"{}").retry_after is None  # type: ignore[attr-defined]


def test_body_kept() -> None:
    assert error(400, b'{"error": "e"}').body == {"error": "e"}
    assert error(502, b"<html>").body == b"<html>"


def test_an_oauth_error_body_gives_code_and_description() -> None:
    body = b'{"error": "invalid_client", "error_description": "Client authentication failed"}'
    error = ErrorMapper("DANAconnect").error("get access token", 401, {}, body)
    assert isinstance(error, sa.AuthenticationError)
    assert error.code == "invalid_client"
    assert error.message == "Client authentication failed"
