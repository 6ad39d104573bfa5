"""signing_async: an async-first SDK for DANAconnect, DANAsign and S.O.F.I.A. e-signatures.

Everything public is importable from here::

    import signing_async as sa

    async with sa.SigningClient(danaconnect=sa.DanaConnectConfig(...)) as client:
        circuit = await client.circuits.start(id="1", signer=..., docs=["contract.pdf"])
"""

from ._client import SigningClient
from ._core.bulk import BulkOutcome, BulkProgress, BulkRun, InvalidItem
from ._core.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    ResponseDecodeError,
    ServerError,
    SigningError,
    TransportError,
    ValidationError,
)
from ._core.retry import RetryPolicy
from ._core.sources import Document, DocumentSource
from ._core.streaming import ByteStream, DownloadedFile
from ._core.timeouts import Timeout
from ._core.tokens import AccessToken, MemoryTokenStore, TokenStore
from ._version import __version__
from .danaconnect import Circuit, CircuitRequest, CircuitSigner, DanaConnectConfig
from .transports import AiohttpTransport, MockTransport, Request, Response, Transport

__all__ = [
    "APIError",
    "AccessToken",
    "AiohttpTransport",
    "AuthenticationError",
    "BadRequestError",
    "BulkOutcome",
    "BulkProgress",
    "BulkRun",
    "ByteStream",
    "Circuit",
    "CircuitRequest",
    "CircuitSigner",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "DanaConnectConfig",
    "Document",
    "DocumentSource",
    "DownloadedFile",
    "InvalidItem",
    "MemoryTokenStore",
    "MockTransport",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "Request",
    "RequestTimeout",
    "Response",
    "ResponseDecodeError",
    "RetryPolicy",
    "ServerError",
    "SigningClient",
    "SigningError",
    "Timeout",
    "TokenStore",
    "Transport",
    "TransportError",
    "ValidationError",
    "__version__",
]
