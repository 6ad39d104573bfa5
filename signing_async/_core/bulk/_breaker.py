"""The circuit breaker: a systemic failure stops a bulk run instead of failing every item.

A wrong API token fails every item the same way, and so does a server that
cannot be reached; sending a million items to learn that a million times
costs hours. The breaker watches the answers of the items sent and trips on:

- an authentication or permission refusal (:class:`AuthenticationError`,
  :class:`PermissionDeniedError`: HTTP 401, 403, DANAsign's 405): every
  other item would be refused alike;
- ``connect_failures`` consecutive :class:`ConnectError` s (10 by default):
  the server is not reachable. Any answer from the server breaks the run of
  failures; items that failed without a request (bad input) do not count.

Pure decisions, no I/O; the engine acts on them: it pulls no more items,
holds the items not yet sent (they stay *pending* in the journal, so the
next run sends them) and ends the run with :class:`BulkStopped`.
"""

from __future__ import annotations

from typing import Literal

from ..errors import (
    AuthenticationError,
    ConnectError,
    PermissionDeniedError,
    SigningError,
    ValidationError,
)
from ._verdict import describe

__all__ = ["DEFAULT_CONNECT_FAILURES", "Breaker", "BulkStopped", "StopReason"]

DEFAULT_CONNECT_FAILURES = 10
"""Consecutive connection failures that stop a run, unless told otherwise."""

StopReason = Literal["authentication", "permission", "connection"]
"""Why a run stopped: credentials refused, access refused, or no connection."""


class BulkStopped(SigningError):
    """A bulk run stopped early: a systemic failure, not one item's problem.

    Raised by a bulk run's iteration *after* every outcome already available
    has been yielded (the outcomes of the items that were sent, the failing
    ones included). Items the run had not sent stay pending: with a journal,
    the next run with the same journal sends them (and the failed ones
    again); nothing is sent twice.

    Attributes:
        reason: ``"authentication"`` (the provider refused the credentials),
            ``"permission"`` (it refused access) or ``"connection"`` (the
            server could not be reached, ``connect_failures`` times in a row).
        error: The error that tripped the breaker (the last one, for
            ``"connection"``).
        connect_failures: For ``"connection"``: the consecutive failures seen.
    """

    def __init__(
        self, message: str, *, reason: StopReason, error: Exception, connect_failures: int = 0
    ) -> None:
        super().__init__(message)
        self.reason: StopReason = reason
        self.error = error
        self.connect_failures = connect_failures


class Breaker:
    """Watches the answers of a run's items and says when to stop.

    Args:
        connect_failures: Consecutive connection failures that trip it; None
            never trips on connections (authentication still does).
    """

    def __init__(self, connect_failures: int | None = DEFAULT_CONNECT_FAILURES) -> None:
        if connect_failures is not None and (
            not isinstance(connect_failures, int)
            or isinstance(connect_failures, bool)
            or connect_failures < 1
        ):
            raise ValidationError(
                "stop_after_connect_failures",
                f"must be a positive integer or None, not {connect_failures!r}",
            )
        self._limit = connect_failures
        self._streak = 0

    def record(self, answer: object) -> BulkStopped | None:
        """Take one sent item's answer (its result or its error); the stop, if it trips."""
        if isinstance(answer, AuthenticationError | PermissionDeniedError):
            reason: StopReason = (
                "authentication" if isinstance(answer, AuthenticationError) else "permission"
            )
            what = "the credentials" if reason == "authentication" else "access"
            return BulkStopped(
                f"the run stopped: the provider refused {what} ({describe(answer)});"
                " the items not sent stay pending: fix the configuration and run again",
                reason=reason,
                error=answer,
            )
        if isinstance(answer, ConnectError):
            self._streak += 1
            if self._limit is not None and self._streak >= self._limit:
                return BulkStopped(
                    f"the run stopped: {self._streak} requests in a row could not connect"
                    f" (last: {answer}); the items not sent stay pending: check the server"
                    " address and the network, then run again",
                    reason="connection",
                    error=answer,
                    connect_failures=self._streak,
                )
            return None
        if isinstance(answer, ValidationError):
            return None  # refused before any connection: says nothing about the server
        self._streak = 0  # the server answered (or the request left): it is reachable
        return None
