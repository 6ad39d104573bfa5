"""Which failures are certain (``failed``) and which may have created something (``uncertain``)."""

from __future__ import annotations

import pytest

from signing_async import (
    APIError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    RateLimitError,
    RequestTimeout,
    ResponseDecodeError,
    ServerError,
    TransportError,
    ValidationError,
)
from signing_async._core.bulk._verdict import verdict


def api_error(cls: type[APIError], status: int) -> APIError:
    return cls("boom", status=status, provider="P", operation="create")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValidationError("docs", "missing"), "failed"),
        (ConnectError("refused"), "failed"),
        (RequestTimeout("connect timed out", request_sent=False), "failed"),
        (RequestTimeout("read timed out"), "uncertain"),
        (TransportError("connection lost after sending"), "uncertain"),
        (api_error(BadRequestError, 400), "failed"),
        (api_error(ConflictError, 409), "failed"),
        (api_error(RateLimitError, 429), "failed"),
        (api_error(ServerError, 500), "uncertain"),
        (api_error(ServerError, 502), "failed"),
        (api_error(ServerError, 503), "failed"),
        (api_error(ServerError, 504), "failed"),
        (api_error(ServerError, 507), "uncertain"),
        (ResponseDecodeError("a 2xx whose body is not JSON"), "uncertain"),
        (RuntimeError("something unexpected"), "uncertain"),
    ],
)
def test_what_a_failure_after_sending_means(error: Exception, expected: str) -> None:
    assert verdict(error, sent=True) == expected


@pytest.mark.parametrize(
    "error",
    [
        TransportError("token endpoint dropped the connection"),
        api_error(ServerError, 500),
        ConfigurationError("client closed"),
        RuntimeError("bug before sending"),
    ],
)
def test_nothing_can_exist_when_the_request_never_left(error: Exception) -> None:
    assert verdict(error, sent=False) == "failed"
