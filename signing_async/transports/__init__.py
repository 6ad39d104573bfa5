"""Transports: how requests reach the wire.

A transport sends one :class:`Request` and returns a :class:`Response` whose
body is streamed. :class:`AiohttpTransport` is the default;
:class:`MockTransport` answers from a function, for tests.
"""

from ._aiohttp import AiohttpTransport
from ._base import Request, RequestBody, Response, ResponseStream, StreamBody, Transport
from ._mock import MockTransport, RecordedRequest

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
