"""RetryPolicy decisions and Retry-After parsing: pure functions, no I/O."""

from __future__ import annotations

import email.utils
import math

import pytest
from multidict import CIMultiDict

import signing_async as sa
from signing_async import ConnectError, RequestTimeout, RetryPolicy, TransportError
from signing_async._core.errors import STATUS_EFFECTS, status_effect
from signing_async._core.retry import retry_after_seconds


@pytest.mark.parametrize(
    ("retry", "base"), [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (10, 8.0)]
)
def test_backoff_formula(retry: int, base: float) -> None:
    policy = RetryPolicy()
    waits = [policy.backoff(retry) for _ in range(300)]

    assert all(0.75 * base <= wait <= base for wait in waits)
    assert len(set(waits)) > 1  # jittered, not constant


def test_backoff_settings() -> None:
    policy = RetryPolicy(backoff_initial=0.1, backoff_max=0.25, jitter=(1.0, 1.0))
    assert [policy.backoff(n) for n in range(4)] == [0.1, 0.2, 0.25, 0.25]
    assert RetryPolicy(backoff_initial=0).backoff(5) == 0


def test_defaults() -> None:
    policy = RetryPolicy()
    assert policy.max_retries == 2
    assert policy.max_retry_after == 60


@pytest.mark.parametrize("status", [408, 429, 503])
def test_statuses_retried_for_every_method(status: int) -> None:
    policy = RetryPolicy()
    assert policy.retries_status(status, idempotent=False)
    assert policy.retries_status(status, idempotent=True)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_statuses_retried_only_when_idempotent(status: int) -> None:
    # A 502 or 504 comes from a gateway whose upstream may have acted.
    policy = RetryPolicy()
    assert policy.retries_status(status, idempotent=True)
    assert not policy.retries_status(status, idempotent=False)


def test_no_setting_replays_a_post_that_may_have_been_acted_on() -> None:
    # A policy written for the old rule (502 and 504 for every method) or
    # asking for more 5xx still never replays them for a POST.
    policy = RetryPolicy(retry_statuses=frozenset({408, 429, 500, 502, 503, 504, 507}))
    for status in (500, 502, 504, 507):
        assert not policy.retries_status(status, idempotent=False)
        assert policy.retries_status(status, idempotent=True)
    assert policy.retries_status(503, idempotent=False)


def test_idempotent_retry_statuses_still_accepted() -> None:
    policy = RetryPolicy(idempotent_retry_statuses=frozenset({409}))
    assert policy.retries_status(409, idempotent=True)
    assert not policy.retries_status(409, idempotent=False)
    assert not RetryPolicy().retries_status(409, idempotent=True)


def test_only_what_did_not_act_is_retried_for_a_post() -> None:
    assert STATUS_EFFECTS == {
        408: "did not act",
        429: "did not act",
        500: "may have acted",
        502: "may have acted",
        503: "did not act",
        504: "may have acted",
    }
    assert RetryPolicy().retry_statuses == set(STATUS_EFFECTS)
    assert status_effect(400) == status_effect(401) == status_effect(405) == "did not act"
    assert status_effect(501) == status_effect(507) == "may have acted"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 422, 501, 505])
def test_statuses_never_retried(status: int) -> None:
    policy = RetryPolicy()
    assert not policy.retries_status(status, idempotent=True)
    assert not policy.retries_status(status, idempotent=False)


def test_transport_errors() -> None:
    policy = RetryPolicy()
    never_sent = [ConnectError("refused"), RequestTimeout("connect", request_sent=False)]
    maybe_sent = [RequestTimeout("read"), TransportError("reset")]
    for error in never_sent:
        assert policy.retries_error(error, idempotent=False)
        assert policy.retries_error(error, idempotent=True)
    for error in maybe_sent:
        assert error.request_sent
        assert not policy.retries_error(error, idempotent=False)
        assert policy.retries_error(error, idempotent=True)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("max_retries", -1),
        ("max_retries", True),
        ("max_retries", 1.5),
        ("max_retries", "2"),
        ("max_retries", None),
        ("backoff_initial", -1),
        ("backoff_initial", float("inf")),
        ("backoff_max", float("nan")),
        ("max_retry_after", -1.0),
        ("max_retry_after", float("nan")),
        ("jitter", "ab"),
        ("jitter", (float("nan"), 1.0)),
        ("jitter", (1.0, 0.5)),
        ("retry_statuses", None),
        ("retry_statuses", {503, "429"}),
        ("idempotent_retry_statuses", {99}),
    ],
)
def test_a_bad_policy_is_refused_when_made_naming_its_setting(setting: str, value: object) -> None:
    # Each is first used mid-call, after a request has left: a wrong type
    # there was a TypeError after the request, and inf a sleep for ever.
    with pytest.raises(sa.ConfigurationError, match=f"RetryPolicy.{setting} must be"):
        RetryPolicy(**{setting: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"Retry-After": " 12 "}, 12.0),
        ({"Retry-After": "-3"}, 0.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After-Ms": "250", "Retry-After": "9"}, 0.25),
        ({"retry-after-ms": "soon", "Retry-After": "9"}, 9.0),
        ({"retry-after-ms": "nan", "Retry-After": "9"}, 9.0),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "-inf"}, None),
        ({"Retry-After": "tomorrow"}, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
    ],
)
def test_retry_after_values(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(CIMultiDict(headers)) == expected


def test_retry_after_http_date_in_the_future() -> None:
    now = 1_700_000_000.0  # a whole second: HTTP dates have no fractions
    header = email.utils.formatdate(now + 120, usegmt=True)

    assert retry_after_seconds(CIMultiDict({"Retry-After": header}), now=now) == 120.0


def test_statuses_and_jitter_may_be_given_as_lists_and_are_kept_frozen() -> None:
    policy = RetryPolicy(retry_statuses=[503, 429], jitter=[0.5, 1.0], max_retry_after=math.inf)
    assert policy.retry_statuses == frozenset({503, 429})
    assert policy.jitter == (0.5, 1.0)
    assert hash(policy) == hash(
        RetryPolicy(
            retry_statuses=frozenset({429, 503}), jitter=(0.5, 1.0), max_retry_after=math.inf
        )
    )
