"""What a failed attempt means: certainly not created, or perhaps created.

Pure decisions, no I/O. The rule: an item is ``failed`` only when nothing
can have been created; whenever the provider may have acted on the request,
it is ``uncertain``, because sending it again could create a second
contract.
"""

from __future__ import annotations

from typing import Literal

from ..errors import (
    STATUS_EFFECTS,
    APIError,
    AuthenticationError,
    PermissionDeniedError,
    ResponseDecodeError,
    TransportError,
    ValidationError,
)

__all__ = ["Verdict", "describe", "refused", "verdict"]

Verdict = Literal["failed", "uncertain"]


def verdict(error: Exception, *, sent: bool) -> Verdict:
    """``"failed"`` or ``"uncertain"`` for an item whose send raised ``error``.

    Args:
        error: What the send raised (after the session's own retries).
        sent: Whether the request was handed to the network at all; when it
            was not (bad input, no token, a closed client), nothing can exist.
    """
    if not sent:
        return "failed"
    if isinstance(error, ValidationError):
        # Raised while the body was being streamed (a file changed under us):
        # the server received a truncated request it cannot have accepted.
        return "failed"
    if isinstance(error, TransportError):
        return "uncertain" if error.request_sent else "failed"
    if isinstance(error, APIError):
        # The core's table of what a status proves, the one the retry policy
        # reads: an answer the session would replay for a POST is "failed",
        # one it would not replay (500, 502, 504) is "uncertain".
        return "uncertain" if error.may_have_acted else "failed"
    if isinstance(error, ResponseDecodeError):
        return "uncertain"  # a 2xx: created, but the answer could not be read
    return "uncertain"  # unknown failure after sending: assume the worst


def refused(error: Exception) -> bool:
    """Whether the provider refused the item for what it holds, so resending it is pointless.

    A 4xx answer is about the item itself (a 400 with a field error, a 404
    template, a 409 external id), except a refusal of the credentials or of
    access (:class:`~signing_async.AuthenticationError`,
    :class:`~signing_async.PermissionDeniedError`, whatever status the
    provider uses for them) and the statuses that prove nothing was done
    (408, 429: :data:`~signing_async.errors.STATUS_EFFECTS`). A rerun of the
    job reports a refused item again instead of sending it; every other
    failure (a 503, a refused connection, an item that never left) is
    transient, and a rerun sends it.
    """
    if not isinstance(error, APIError) or isinstance(
        error, (AuthenticationError, PermissionDeniedError)
    ):
        return False
    return 400 <= error.status < 500 and error.status not in STATUS_EFFECTS


def describe(error: BaseException) -> str:
    """An item's error as a journal records it: its type and text, as text any database takes.

    The text of an error is not checked as an answer is, and may hold what a
    database refuses (from a server's words, say): a lone surrogate, which is
    not valid UTF-8, or a NUL, which PostgreSQL's text cannot hold. Each is
    written as its escape (``\\ud800``, ``\\x00``) instead of failing the run.
    """
    text = f"{type(error).__name__}: {error}"
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode()
