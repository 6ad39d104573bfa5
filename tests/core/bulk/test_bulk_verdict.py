"""Which failures are certain (``failed``) and which may have created something (``uncertain``)."""

from __future__ import annotations

import pytest

from signing_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    ResponseDecodeError,
    RetryPolicy,
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
        (api_error(AuthenticationError, 401), "failed"),
        (api_error(PermissionDeniedError, 403), "failed"),
        (api_error(AuthenticationError, 405), "failed"),  # DANAsign's bad token
        (api_error(APIError, 408), "failed"),
        (api_error(ConflictError, 409), "failed"),
        (api_error(RateLimitError, 429), "failed"),
        (api_error(ServerError, 500), "uncertain"),
        # A gateway's 502 or 504 may come after its upstream created the item.
        (api_error(ServerError, 502), "uncertain"),
        (api_error(ServerError, 503), "failed"),
        (api_error(ServerError, 504), "uncertain"),
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


@pytest.mark.parametrize(
    "status", [400, 401, 403, 404, 405, 408, 409, 422, 429, 500, 501, 502, 503, 504, 507]
)
def test_the_verdict_and_the_retry_policy_read_one_table(status: int) -> None:
    # An answer the session replays even for a POST proves nothing was
    # created; one it never replays for a POST may have created something.
    error = api_error(ServerError if status >= 500 else APIError, status)
    uncertain = verdict(error, sent=True) == "uncertain"
    assert uncertain == error.may_have_acted == (status >= 500 and status != 503)
    assert not (uncertain and RetryPolicy().retries_status(status, idempotent=False))
