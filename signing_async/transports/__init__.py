"""Transports: how requests reach the wire.

A transport sends one :class:`Request` and returns a :class:`Response` whose
body is streamed. :class:`AiohttpTransport` is the default;
:class:`HttpxTransport` (the ``[httpx]`` extra) also runs under trio;
:class:`MockTransport` answers from a function, for tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._core.transport import Request, RequestBody, Response, ResponseStream, StreamBody, Transport
from ._aiohttp import AiohttpTransport
from ._mock import MockTransport, RecordedRequest

if TYPE_CHECKING:
    from ._httpx import HttpxTransport as HttpxTransport

__all__ = [
    "AiohttpTransport",
    "MockTransport",
    "RecordedRequest",
    "Request",
    "RequestBody",
    "Response",
    "ResponseStream",
    "StreamBody",
    "Transport",
]


def __getattr__(name: str) -> object:
    # httpx is an optional extra: it is imported on first use of HttpxTransport
    # only, and its absence is reported then (naming the extra), not at import.
    if name == "HttpxTransport":
        from ._httpx import HttpxTransport

        return HttpxTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
