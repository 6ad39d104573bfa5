"""signing_async: an async-first SDK for DANAconnect, DANAsign and S.O.F.I.A. e-signatures.

Everything public is importable from here::

    import signing_async as sa

    async with sa.SigningClient(danaconnect=sa.DanaConnectConfig(...)) as client:
        circuit = await client.circuits.start(id="1", signer=..., docs=["contract.pdf"])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._client import SigningClient
from ._core.bulk import BulkOutcome, BulkProgress, BulkRun, BulkStopped, InvalidItem, Journal
from ._core.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    JournalError,
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
from ._core.pagination import AsyncPager, Page
from ._core.retry import RetryPolicy
from ._core.sources import Document, DocumentSource
from ._core.streaming import ByteStream, DownloadedFile
from ._core.timeouts import Timeout
from ._core.tokens import AccessToken, MemoryTokenStore, TokenStore
from ._version import __version__
from .danaconnect import Circuit, CircuitRequest, CircuitSigner, DanaConnectConfig
from .danasign import (
    ApiSession,
    BatchResult,
    Bcc,
    Contact,
    CreatedDocument,
    DanaSignConfig,
    DocumentMetadata,
    DocumentRequest,
    DocumentSettings,
    DocumentStatus,
    DocumentSummary,
    IdentityVerification,
    NewContact,
    Placeholder,
    Prefill,
    PrefillOptions,
    Signer,
    Template,
    TemplateDefault,
    TemplateDocument,
    TemplatePlaceholder,
    TemplateSigner,
    TemplateSummary,
    TemplateWidget,
    WhoAmI,
    Widget,
)
from .sofia import NewOtpSignature, OtpSignature, OtpSignatureRequest, SignedDownload, SofiaConfig
from .transports import AiohttpTransport, MockTransport, Request, Response, Transport

if TYPE_CHECKING:
    # Explicit re-exports ("x as x"): names for type checkers, imported lazily at run time.
    from . import bulk as bulk
    from . import sandbox as sandbox
    from .transports import HttpxTransport as HttpxTransport

# HttpxTransport is importable from here but not listed in __all__: it needs
# the [httpx] extra, and ``from signing_async import *`` must work without it.

__all__ = [
    "APIError",
    "AccessToken",
    "AiohttpTransport",
    "ApiSession",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "BatchResult",
    "Bcc",
    "BulkOutcome",
    "BulkProgress",
    "BulkRun",
    "BulkStopped",
    "ByteStream",
    "Circuit",
    "CircuitRequest",
    "CircuitSigner",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "Contact",
    "CreatedDocument",
    "DanaConnectConfig",
    "DanaSignConfig",
    "Document",
    "DocumentMetadata",
    "DocumentRequest",
    "DocumentSettings",
    "DocumentSource",
    "DocumentStatus",
    "DocumentSummary",
    "DownloadedFile",
    "IdentityVerification",
    "InvalidItem",
    "Journal",
    "JournalError",
    "MemoryTokenStore",
    "MockTransport",
    "NewContact",
    "NewOtpSignature",
    "NotFoundError",
    "OtpSignature",
    "OtpSignatureRequest",
    "Page",
    "PermissionDeniedError",
    "Placeholder",
    "Prefill",
    "PrefillOptions",
    "RateLimitError",
    "Request",
    "RequestTimeout",
    "Response",
    "ResponseDecodeError",
    "RetryPolicy",
    "ServerError",
    "SignedDownload",
    "Signer",
    "SigningClient",
    "SigningError",
    "SofiaConfig",
    "Template",
    "TemplateDefault",
    "TemplateDocument",
    "TemplatePlaceholder",
    "TemplateSigner",
    "TemplateSummary",
    "TemplateWidget",
    "Timeout",
    "TokenStore",
    "Transport",
    "TransportError",
    "ValidationError",
    "WhoAmI",
    "Widget",
    "__version__",
]


_LAZY_MODULES = frozenset({"bulk", "cli", "sandbox"})
"""Tooling subpackages, imported on first use: ``import signing_async`` stays light."""


def __getattr__(name: str) -> object:
    # HttpxTransport needs the optional [httpx] extra: resolved on first use.
    if name == "HttpxTransport":
        from .transports import HttpxTransport

        return HttpxTransport
    if name in _LAZY_MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
