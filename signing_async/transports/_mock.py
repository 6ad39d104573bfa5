"""A transport that answers from a function, for tests."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

import attrs

from .._core.transport import Request, Response, StreamBody, aclose_iterator

__all__ = ["MockTransport", "RecordedRequest"]


@attrs.frozen
class RecordedRequest:
    """A request as the handler sees it: its body already read into ``content``."""

    method: str
    url: str
    headers: dict[str, str] = attrs.field(repr=False)
    content: bytes = attrs.field(repr=False)
    request: Request = attrs.field(repr=False)


Handler = Callable[[RecordedRequest], "Response | Awaitable[Response]"]


class MockTransport:
    """Answers every request by calling ``handler``, sync or async.

    The handler receives a :class:`RecordedRequest` whose streamed body has
    been read, so tests can assert on the exact bytes. It may raise any
    :class:`~signing_async.TransportError` to simulate a network failure.

    Example:
        >>> transport = MockTransport(lambda request: Response(200, content=b"{}"))
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[RecordedRequest] = []
        self.closed = False

    async def send(self, request: Request) -> Response:
        """Read the body, record the request and return the handler's response."""
        body = request.body
        if isinstance(body, StreamBody):
            chunks = body.open()
            try:
                content = b"".join([chunk async for chunk in chunks])
            finally:
                await aclose_iterator(chunks)
            if len(content) != body.length:
                raise AssertionError(
                    f"stream body yielded {len(content)} bytes, announced {body.length}"
                )
        else:
            content = body
        recorded = RecordedRequest(
            request.method, request.url, dict(request.headers), content, request
        )
        self.requests.append(recorded)
        result = self._handler(recorded)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def aclose(self) -> None:
        """Mark the transport closed."""
        self.closed = True
