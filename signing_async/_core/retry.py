"""What to retry, and how long to wait: pure decisions, no I/O.

The rule is the one a careful human would apply: replay what cannot have
reached the server, or what is safe to do twice. A POST that may have been
acted on (a read timeout, a connection lost after sending, a 500, a
gateway's 502 or 504) is never replayed: creating a contract twice is worse
than failing loudly. Which answers prove that nothing was done is not
decided here but read from :data:`~.errors.STATUS_EFFECTS`, the table the
bulk engine's verdict reads too.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping, Set
from typing import Literal, NamedTuple

import attrs

from .errors import (
    STATUS_EFFECTS,
    APIError,
    AuthenticationError,
    ConfigurationError,
    TransportError,
    status_effect,
)
from .settings import require_seconds
from .validation import shown

__all__ = ["Next", "RetryPolicy", "next_step", "retry_after_seconds"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@attrs.frozen
class RetryPolicy:
    """How the client retries a failed attempt.

    Retried, for every method: connection failures (the request never left),
    408, 429 and 503 (the server did not act). Retried only for idempotent
    calls (GET and friends, or a call marked idempotent): 500, 502 and 504
    (the server, or the one behind a gateway, may have acted), read timeouts
    and connections lost after the request was sent. The wait before retry
    ``n`` (from 0) is ``min(backoff_initial * 2**n, backoff_max)`` times a
    random factor in ``jitter``, unless the server sent ``Retry-After`` or
    ``retry-after-ms``; a server asking for more than ``max_retry_after``
    seconds is not waited for (the error is raised).

    Attributes:
        max_retries: Retries after the first attempt (0 disables retrying).
        backoff_initial: The first backoff, in seconds.
        backoff_max: The longest backoff, in seconds.
        jitter: The random factor's range, to spread out synchronized clients.
        max_retry_after: The longest ``Retry-After`` honoured, in seconds.
        retry_statuses: Statuses worth another attempt; by default those
            :data:`~.errors.STATUS_EFFECTS` lists. One whose answer does not
            prove that nothing was done (500, 502, 504, any other 5xx but
            503) is retried only for idempotent calls, whatever this set
            says; the others for every method.
        idempotent_retry_statuses: More statuses to retry, for idempotent
            calls only (none by default; 500 is in ``retry_statuses`` and
            already limited to idempotent calls by the rule above).
    """

    max_retries: int = 2
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    jitter: tuple[float, float] = (0.75, 1.0)
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = frozenset(STATUS_EFFECTS)
    idempotent_retry_statuses: frozenset[int] = frozenset()

    def __attrs_post_init__(self) -> None:
        # Checked when the policy is made: each is first used mid-call, after
        # a request has left, where a wrong type would surface as a TypeError.
        retries = self.max_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
            raise ConfigurationError(
                f"RetryPolicy.max_retries must be an integer from 0 to 100, not {shown(retries)}"
            )
        for name in ("backoff_initial", "backoff_max"):
            require_seconds(getattr(self, name), f"RetryPolicy.{name}", zero=True)
        if self.max_retry_after != math.inf:  # inf: whatever the server asks for
            require_seconds(self.max_retry_after, "RetryPolicy.max_retry_after", zero=True)
        jitter = self.jitter
        if (
            not isinstance(jitter, tuple | list)
            or len(jitter) != 2
            or not all(isinstance(end, int | float) and not isinstance(end, bool) for end in jitter)
            or not 0 <= jitter[0] <= jitter[1] <= 10  # NaN fails
        ):
            raise ConfigurationError(
                "RetryPolicy.jitter must be a pair (low, high) of numbers with"
                f" 0 <= low <= high <= 10, not {shown(jitter)}"
            )
        # Frozen and hashable whatever was given: a list or tuple is taken too.
        object.__setattr__(self, "jitter", tuple(jitter))
        for name in ("retry_statuses", "idempotent_retry_statuses"):
            statuses = getattr(self, name)
            if not isinstance(statuses, Set | list | tuple) or not all(
                isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599
                for status in statuses
            ):
                raise ConfigurationError(
                    f"RetryPolicy.{name} must be a set of HTTP statuses (100 to 599),"
                    f" not {shown(statuses)}"
                )
            object.__setattr__(self, name, frozenset(statuses))

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (counting from 0), jitter included."""
        base = min(self.backoff_initial * 2.0**retry, self.backoff_max)
        factor: float = random.uniform(*self.jitter)  # noqa: S311 - jitter, not cryptography
        return base * factor

    def retries_status(self, status: int, *, idempotent: bool) -> bool:
        """Whether an answer with ``status`` may be retried."""
        if idempotent:
            return status in self.retry_statuses or status in self.idempotent_retry_statuses
        return status in self.retry_statuses and status_effect(status) == "did not act"

    def retries_error(self, error: TransportError, *, idempotent: bool) -> bool:
        """Whether a failure to get an answer may be retried."""
        return idempotent or not error.request_sent


class Next(NamedTuple):
    """What to do after a failed attempt (see :func:`next_step`).

    Attributes:
        action: ``"retry"`` after ``delay`` seconds; ``"renew"`` the
            credentials and replay at once if that may help; ``"raise"``.
        delay: The wait before the retry, in seconds.
    """

    action: Literal["retry", "renew", "raise"]
    delay: float = 0.0


_RAISE = Next("raise")
_RENEW = Next("renew")


def next_step(
    policy: RetryPolicy,
    error: TransportError | APIError,
    *,
    idempotent: bool,
    retries: int,
    renewed: bool,
    retry_after: float | None = None,
) -> Next:
    """What to do after an attempt failed with ``error``: no I/O, only the decision.

    A refused credential is renewed once, first. Then a failure is retried
    while retries remain and the policy says replaying is safe, after the
    backoff or the wait the server asked for (one asking for more than
    ``policy.max_retry_after`` is not waited for: the error is raised).

    Args:
        policy: The call's retry policy.
        error: Why the attempt failed: no answer, or an error answer.
        idempotent: Whether the call may be replayed after it may have
            reached the server.
        retries: Retries made so far.
        renewed: Whether the credentials were renewed already.
        retry_after: The wait the error answer asked for (see
            :func:`retry_after_seconds`), if any.
    """
    if isinstance(error, TransportError):
        if retries < policy.max_retries and policy.retries_error(error, idempotent=idempotent):
            return Next("retry", policy.backoff(retries))
        return _RAISE
    if isinstance(error, AuthenticationError) and not renewed:
        return _RENEW
    if retries < policy.max_retries and policy.retries_status(error.status, idempotent=idempotent):
        if retry_after is None:
            return Next("retry", policy.backoff(retries))
        if retry_after <= policy.max_retry_after:
            return Next("retry", retry_after)
    return _RAISE


def _seconds(text: str, per_second: float) -> float | None:
    # float() also accepts "nan" and "inf"; neither is a wait (anyio.sleep rejects NaN).
    try:
        value = float(text) / per_second
    except ValueError:
        return None
    return max(value, 0.0) if math.isfinite(value) else None


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The wait the server asked for, from ``retry-after-ms`` or ``Retry-After``.

    Args:
        headers: The answer's headers.
        now: The current time (a Unix timestamp) an HTTP-date is measured
            from; the clock's by default.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        seconds = _seconds(millis, 1000.0)
        if seconds is not None:
            return seconds
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _seconds(value, 1.0)
    if seconds is not None:
        return seconds
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - (time.time() if now is None else now), 0.0)
