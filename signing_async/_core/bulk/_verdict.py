"""What a failed attempt means: certainly not created, or perhaps created.

Pure decisions, no I/O. The rule: an item is ``failed`` only when nothing
can have been created; whenever the provider may have acted on the request,
it is ``uncertain``, because sending it again could create a second
contract.
"""

from __future__ import annotations

from typing import Literal

from ..errors import APIError, ResponseDecodeError, TransportError, ValidationError

__all__ = ["DID_NOT_ACT", "Verdict", "verdict"]

Verdict = Literal["failed", "uncertain"]

DID_NOT_ACT = frozenset({502, 503, 504})
"""5xx answers that mean the request was not processed.

They are the statuses the core retry policy replays even for a POST: a
gateway with no healthy upstream (502), a server refusing work (503), a
gateway giving up (504). Keeping the bulk verdict in line with that policy
matters: an item the session would have replayed is not called uncertain.
Every other 5xx (500 above all) may come from a server that crashed after
writing, so it is uncertain.
"""


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
        if error.status < 500 or error.status in DID_NOT_ACT:
            return "failed"
        return "uncertain"
    if isinstance(error, ResponseDecodeError):
        return "uncertain"  # a 2xx: created, but the answer could not be read
    return "uncertain"  # unknown failure after sending: assume the worst
