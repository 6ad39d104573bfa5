"""One provider's server, as every provider talks to it.

An :class:`Endpoint` knows what each call to a provider shares (the
provider's name, its base URL, its auth strategy, its error mapping) and
splits a call the way gidgethub's ``sansio`` does:

- :meth:`Endpoint.call` builds the :class:`~.session.Call`: pure, no I/O;
- :meth:`Endpoint.json`, :meth:`Endpoint.stream` and :meth:`Endpoint.download`
  hand it to the session, which does the I/O;
- :meth:`Endpoint.decode` turns the answer into a model: pure again.

The operation's name travels in the ``Call``, so every message (a refusal,
an answer that does not fit its model, a broken transfer) names the
provider and the operation without the caller threading it through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlencode

from .auth import NO_AUTH, Auth
from .error_mapping import ErrorMapper
from .serde import decode
from .session import Call, CoreSession
from .streaming import ByteStream, DownloadedFile, FileCheck, download_target
from .timeouts import Timeout
from .transport import RequestBody, Transport

__all__ = ["ACCEPT_JSON", "SEND_JSON", "Endpoint", "what"]

T = TypeVar("T")

# Shared by every call and never changed (the session copies them). Plain
# dicts: the session merges them on every request, and a read-only proxy
# merges several times slower.
ACCEPT_JSON: Mapping[str, str] = {"Accept": "application/json"}
"""Headers of a call that sends no body and expects JSON."""
SEND_JSON: Mapping[str, str] = {"Accept": "application/json", "Content-Type": "application/json"}
"""Headers of a call that sends JSON and expects JSON."""


def what(call: Call) -> str:
    """How messages name ``call``: the provider, then the operation."""
    return f"{call.provider} {call.operation}"


class Endpoint:
    """A provider's server: base URL, auth, error mapping and name, shared by its calls.

    Args:
        session: The client's core session.
        provider: The provider's display name, for messages.
        base_url: Prepended to every path (no trailing slash).
        errors: How the provider's error answers map to exceptions.
        auth: The auth strategy of a call that names none.
    """

    def __init__(
        self,
        session: CoreSession,
        *,
        provider: str,
        base_url: str,
        errors: ErrorMapper,
        auth: Auth = NO_AUTH,
    ) -> None:
        self.session = session
        self.provider = provider
        self.base_url = base_url
        self.errors = errors
        self.auth = auth

    @property
    def transport(self) -> Transport:
        """The client's transport (a bulk run sizes its connection pool)."""
        return self.session.transport

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] = ACCEPT_JSON,
        body: RequestBody = b"",
        auth: Auth | None = None,
        timeout: Timeout | None = None,
        idempotent: bool | None = None,
        secret_answer: bool = False,
        absolute: bool = False,
    ) -> Call:
        """Build one call; nothing is sent.

        Args:
            operation: What is done, for messages (``start circuit 42``).
            method: The HTTP method.
            path: The path under the base URL, already quoted; with
                ``absolute``, a whole URL.
            query: Query parameters.
            headers: Headers besides the credentials.
            body: The request body.
            auth: Overrides the endpoint's auth strategy.
            timeout: Overrides the client's timeouts.
            idempotent: Whether a replay is harmless (see :class:`~.session.Call`).
            secret_answer: The answer carries a credential: never quote it in errors.
            absolute: ``path`` is a whole URL (a download link the server gave).

        Raises:
            ValidationError: ``timeout`` is not a Timeout.
        """
        url = path if absolute else f"{self.base_url}{path}"
        if query:
            url = f"{url}?{urlencode(query)}"
        return Call(
            self.provider,
            operation,
            method,
            url,
            self.errors,
            headers=headers,
            body=body,
            auth=self.auth if auth is None else auth,
            timeout=timeout,
            idempotent=idempotent,
            secret_answer=secret_answer,
        )

    def json(self, call: Call) -> Awaitable[Any]:
        """Send ``call``; awaited, it gives the answer's JSON.

        (The session's own coroutine, not one of this method's: a request
        resumes several times, each time through every coroutine awaiting it.)
        """
        return self.session.json(call)

    def decode(self, call: Call, data: Any, cls: type[T]) -> T:
        """Structure ``data``, the answer to ``call``, into ``cls``.

        Raises:
            ResponseDecodeError: The data does not fit; the message names the
                provider and the operation.
        """
        return decode(data, cls, what=what(call))

    @asynccontextmanager
    async def stream(self, call: Call) -> AsyncIterator[ByteStream]:
        """Send ``call`` and yield its successful answer as a byte stream."""
        async with self.session.stream(call) as response:
            yield ByteStream(response, what=what(call))

    async def download(
        self,
        call: Call,
        path: object,
        *,
        check: FileCheck | None = None,
        checksum: bool = True,
    ) -> DownloadedFile:
        """Send ``call`` and write its answer to ``path``, atomically.

        ``path`` is checked before anything is sent (see
        :func:`~.streaming.download_target`).

        Args:
            call: The download.
            path: The target file; its folder must exist.
            check: Inspects the complete file before it is renamed into place.
            checksum: Compute the file's SHA-256 while it is written.
        """
        async with download_target(path) as target, self.stream(call) as stream:
            return await target.write(stream, what=what(call), check=check, checksum=checksum)
