"""The exceptions signing_async raises.

Every exception derives from :class:`SigningError`::

    SigningError
    ├── ConfigurationError
    ├── ValidationError (also ValueError)        bad input, caught before sending
    ├── TransportError                           no HTTP answer
    │   ├── ConnectError                         request never reached the server
    │   └── RequestTimeout
    ├── ResponseDecodeError                      2xx whose body is not what the provider documents
    ├── FileWriteError (also OSError)            a download could not be written to disk
    │                                            (not exported: catch OSError or SigningError)
    └── APIError(status, code, message, provider, request_id, body)
        ├── BadRequestError          400
        ├── AuthenticationError      401 (and whatever a provider uses for it)
        ├── PermissionDeniedError    403
        ├── NotFoundError            404
        ├── ConflictError            409
        ├── RateLimitError           429 (retry_after)
        └── ServerError              5xx

No message, ``repr`` or attribute of these exceptions carries a credential:
they are built from the provider's name, the operation and the server's own
error text, never from request headers.

What an error answer proves about the request is written once, in
:data:`STATUS_EFFECTS`: the retry policy reads it to decide what may be
replayed, the bulk engine to tell ``failed`` from ``uncertain``, and
:attr:`APIError.may_have_acted` tells the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "FileWriteError",
    "JournalError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeout",
    "ResponseDecodeError",
    "ServerError",
    "SigningError",
    "TransportError",
    "ValidationError",
]

Effect = Literal["did not act", "may have acted"]
"""What an error answer proves about the request it answers."""

STATUS_EFFECTS: Mapping[int, Effect] = MappingProxyType(
    {
        408: "did not act",  # the server gave up waiting for the request itself
        429: "did not act",  # refused for the rate, before any work
        500: "may have acted",  # the server failed, perhaps after writing
        502: "may have acted",  # a gateway lost its upstream, perhaps after the upstream acted
        503: "did not act",  # refused: no capacity, nothing was started
        504: "may have acted",  # a gateway stopped waiting; the upstream may have finished
    }
)
"""What an error status proves: the server did not act, or it may have.

The statuses listed are the passing ones, worth another attempt: they are
what :class:`~.retry.RetryPolicy` retries by default. Any other status below
500 (a validation refusal, 401/403/405 before processing, 404, 409) did not
act; any other 5xx may have: a server that fails may fail after writing.
Replaying a request that may have been acted on could create a second
contract, so the retry policy does it only for idempotent calls, and the bulk
engine reports such an item ``uncertain``, never ``failed``.
"""


def status_effect(status: int) -> Effect:
    """What an answer with ``status`` proves (see :data:`STATUS_EFFECTS`)."""
    effect = STATUS_EFFECTS.get(status)
    if effect is None:
        effect = "may have acted" if status >= 500 else "did not act"
    return effect


class SigningError(Exception):
    """Base class of every error signing_async raises."""


class ConfigurationError(SigningError):
    """The client is missing a configuration, or a configuration is invalid."""


class ValidationError(SigningError, ValueError):
    """Input was rejected before anything was sent.

    Attributes:
        field: The name of the offending field, as the caller passed it.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class TransportError(SigningError):
    """No HTTP answer was received.

    Attributes:
        request_sent: False when the request certainly never reached the server
            (so replaying it cannot duplicate anything), True when it may have.
    """

    request_sent: bool = True

    def __init__(self, message: str, *, request_sent: bool | None = None) -> None:
        super().__init__(message)
        if request_sent is not None:
            self.request_sent = request_sent


class ConnectError(TransportError):
    """The connection could not be established: the request never left."""

    request_sent = False


class RequestTimeout(TransportError):
    """A connect, read or total deadline passed."""


class ResponseDecodeError(SigningError):
    """A successful answer whose body is not what the provider documents."""


class JournalError(SigningError):
    """A bulk run's journal could not record a state: the run stopped.

    Its requests already answered were recorded or are left in flight (so
    a rerun reports them uncertain, never sends them again); items not sent
    stay pending, and a rerun sends them once the journal can be written.
    The message names the journal (never a password) and the database's
    own words.
    """


class FileWriteError(SigningError, OSError):
    """A download could not be written to disk (a full disk, an I/O error).

    Also an ``OSError``, with the operating system's ``errno`` and
    ``strerror``; ``filename`` is the target path the caller gave (never the
    temporary file). Nothing is left at the target, nor a temporary file.
    """

    def __init__(self, message: str, *, cause: OSError, path: str) -> None:
        super().__init__(message)
        self.errno = cause.errno
        self.strerror = cause.strerror
        self.filename = path

    def __str__(self) -> str:
        # OSError's own __str__ would print "[Errno 28] ...: 'path'" without the operation.
        return str(self.args[0])


class APIError(SigningError):
    """The provider answered with an error status.

    Attributes:
        status: The HTTP status.
        code: The provider's own error code, if it sent one.
        message: The provider's error text.
        provider: The provider's display name.
        request_id: The request id the server sent back, if any.
        body: The raw error body (at most 64 KiB of it).
        may_have_acted: True when the answer does not prove that nothing was
            done: the request reached a server that may have carried it out
            (a 500, or a gateway's 502 or 504, say), so sending it again could
            do it twice. The session never replays such a call unless it is
            idempotent; the message says so too. False for answers that prove
            the request was refused before any work (4xx, 503).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        provider: str,
        operation: str = "",
        code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.provider = provider
        self.operation = operation
        self.request_id = request_id
        self.body = body
        what = f"{provider} {operation}".strip()
        detail = f" {code}" if code else ""
        text = f"{what} failed with HTTP {status}{detail}: {message}"
        if self.may_have_acted:
            text += " (the request reached the server, which may have carried it out)"
        super().__init__(text)

    @property
    def may_have_acted(self) -> bool:
        """Whether the server may have carried the request out (see the class doc)."""
        return status_effect(self.status) == "may have acted"


class BadRequestError(APIError):
    """400: the provider rejected the request as malformed or incomplete."""


class AuthenticationError(APIError):
    """The credentials are missing, invalid or expired."""


class PermissionDeniedError(APIError):
    """403: the credentials lack a permission (a token scope, say)."""


class NotFoundError(APIError):
    """404: the resource does not exist."""


class ConflictError(APIError):
    """409: the resource is not in a state that allows the operation."""


class RateLimitError(APIError):
    """429: too many requests.

    Attributes:
        retry_after: Seconds the server asked to wait, if it said.
    """

    retry_after: float | None = None


class ServerError(APIError):
    """5xx: the provider failed."""
