"""Watching requests leave: a hook for whoever must know when a request goes out.

The bulk engine must write "in flight" to its journal *before* a request that
creates something can reach the server, and it counts the bytes a run sends.
Only the session knows the moment a request is handed to the transport, so
the engine sets a :class:`SendObserver` in a context variable around each
item and the session calls it. Nothing is observed outside such a context,
and the session does no extra work there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar, Token
from typing import Protocol

from .transport import RequestBody, StreamBody, aclose_iterator

__all__ = ["SendObserver", "current_observer", "metered", "observe_sends"]


class SendObserver(Protocol):
    """Told about the requests sent in the context it was set for."""

    async def sending(self) -> None:
        """Called right before each attempt of a call that is not idempotent.

        It runs after authentication (a token request is not the request
        being watched) and before the transport gets the request. If it
        raises, the request is not sent and the exception propagates.
        """
        ...

    def sent(self, size: int) -> None:
        """Called as body bytes are handed to the transport (retries count again)."""
        ...


_observer: ContextVar[SendObserver | None] = ContextVar("signing_async_send_observer", default=None)


# The observer of the current context, if any. The variable's own method, not a
# function wrapping it: the session asks on every request.
current_observer: Callable[[], SendObserver | None] = _observer.get


class observe_sends:  # lower case: used as a function, ``with observe_sends(observer):``
    """Let ``observer`` watch every request sent inside the ``with`` block.

    A class, not a ``contextmanager`` generator: a bulk run enters one per
    item, and the generator's machinery costs several times more.
    """

    __slots__ = ("_observer", "_token")

    _token: Token[SendObserver | None]

    def __init__(self, observer: SendObserver) -> None:
        self._observer = observer

    def __enter__(self) -> None:
        self._token = _observer.set(self._observer)

    def __exit__(self, *exc_info: object) -> None:
        _observer.reset(self._token)


def metered(body: RequestBody, observer: SendObserver) -> RequestBody:
    """``body``, reporting its bytes to ``observer`` as the transport reads them.

    A streamed body is counted chunk by chunk, so a progress display moves
    during a long upload; plain bytes are counted at once.
    """
    if not isinstance(body, StreamBody):
        if body:
            observer.sent(len(body))
        return body
    source = body.open

    async def counted() -> AsyncIterator[bytes]:
        chunks = source()
        try:
            async for chunk in chunks:
                observer.sent(len(chunk))
                yield chunk
        finally:
            await aclose_iterator(chunks)  # closed with this one, not by the GC

    return StreamBody(body.length, counted)
