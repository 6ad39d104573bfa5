"""next_step: what follows a failed attempt, decided without I/O or an event loop."""

from __future__ import annotations

import pytest

from signing_async import ConnectError, RequestTimeout, RetryPolicy
from signing_async._core.error_mapping import ErrorMapper
from signing_async._core.errors import APIError
from signing_async._core.retry import Next, next_step

ERRORS = ErrorMapper("Acme")
# No jitter: the backoff is then exact.
POLICY = RetryPolicy(max_retries=2, backoff_initial=1.0, backoff_max=8.0, jitter=(1.0, 1.0))


def answer(status: int) -> APIError:
    return ERRORS.error("create thing", status, {}, b"")


def test_a_refused_credential_is_renewed_once_first() -> None:
    assert next_step(POLICY, answer(401), idempotent=False, retries=0, renewed=False) == Next(
        "renew"
    )
    assert next_step(POLICY, answer(401), idempotent=True, retries=0, renewed=True) == Next("raise")


@pytest.mark.parametrize(("retries", "delay"), [(0, 1.0), (1, 2.0)])
def test_a_passing_refusal_is_retried_after_the_backoff(retries: int, delay: float) -> None:
    step = next_step(POLICY, answer(503), idempotent=False, retries=retries, renewed=False)
    assert step == Next("retry", delay)


def test_no_retry_once_the_retries_are_spent() -> None:
    assert next_step(POLICY, answer(503), idempotent=True, retries=2, renewed=False).action == (
        "raise"
    )


def test_a_post_that_may_have_been_acted_on_is_never_replayed() -> None:
    for status in (500, 502, 504):
        assert next_step(POLICY, answer(status), idempotent=False, retries=0, renewed=False) == (
            Next("raise")
        )
        assert next_step(POLICY, answer(status), idempotent=True, retries=0, renewed=False) == (
            Next("retry", 1.0)
        )


def test_the_wait_the_server_asked_for_wins_up_to_the_limit() -> None:
    def step(retry_after: float) -> Next:
        return next_step(
            POLICY, answer(429), idempotent=False, retries=0, renewed=False, retry_after=retry_after
        )

    assert step(3.5) == Next("retry", 3.5)
    assert step(POLICY.max_retry_after) == Next("retry", POLICY.max_retry_after)
    assert step(POLICY.max_retry_after + 1) == Next("raise")


def test_a_client_error_is_raised_at_once() -> None:
    for status in (400, 403, 404, 409):
        assert next_step(POLICY, answer(status), idempotent=True, retries=0, renewed=False) == (
            Next("raise")
        )


def test_no_answer_is_retried_only_when_a_replay_is_safe() -> None:
    never_sent = ConnectError("refused")
    lost = RequestTimeout("read timeout", request_sent=True)
    assert next_step(POLICY, never_sent, idempotent=False, retries=0, renewed=False) == Next(
        "retry", 1.0
    )
    assert next_step(POLICY, lost, idempotent=False, retries=0, renewed=False) == Next("raise")
    assert next_step(POLICY, lost, idempotent=True, retries=1, renewed=False) == Next("retry", 2.0)
    assert next_step(POLICY, never_sent, idempotent=True, retries=2, renewed=False) == Next("raise")
