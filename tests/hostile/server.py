"""A raw asyncio HTTP/1.1 server for hostile-server tests, independent of the sandbox.

It parses just enough HTTP to hand each request to a test's handler, which
then writes whatever bytes it likes: a lie about sizes, a drip, garbage, an
answer after acting, or nothing at all. Nothing here agrees with the SDK by
construction; each test says what the server does.

    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        created.append(request.body)
        await answer(writer, 504, b"gateway timeout")

    async with HostileServer(handler) as server:
        config = sa.DanaSignConfig(server_url=server.url, api_token="t")
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

__all__ = ["HostileServer", "RawRequest", "answer", "answer_json"]


@dataclass
class RawRequest:
    """One request as received: method, target, headers (lower-case names), body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""
    reader: asyncio.StreamReader | None = field(default=None, repr=False)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


Handler = Callable[[RawRequest, asyncio.StreamWriter], Awaitable[None]]

_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 500: "Error"}


async def answer(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    *,
    content_length: int | None = None,
) -> None:
    """Write a whole answer; ``content_length`` may lie about ``body``'s size."""
    fields = {"Content-Type": "application/octet-stream", **(headers or {})}
    fields["Content-Length"] = str(len(body) if content_length is None else content_length)
    head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    writer.write(head.encode("latin-1") + b"\r\n" + body)
    await writer.drain()


async def answer_json(
    writer: asyncio.StreamWriter,
    status: int,
    text: str | bytes,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Write a JSON answer whose body is exactly ``text`` (not re-encoded)."""
    body = text.encode() if isinstance(text, str) else text
    await answer(writer, status, body, {"Content-Type": "application/json", **(headers or {})})


class HostileServer:
    """Serves ``handler`` on 127.0.0.1 (a free port) until the ``async with`` ends.

    Args:
        handler: Called once per request with the body already read (unless
            ``read_body`` is false: the handler then reads from
            ``request.reader`` itself, or never does). When it returns
            without closing the writer, the connection is kept for the next
            request (keep-alive), as a real server would.
        read_body: Whether the server reads the request body before calling
            the handler.
    """

    def __init__(self, handler: Handler, *, read_body: bool = True) -> None:
        self._handler = handler
        self._read_body = read_body
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests: list[RawRequest] = []
        self.url = ""

    async def __aenter__(self) -> HostileServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while not writer.is_closing():
                request = await self._read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                await self._handler(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> RawRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        request = RawRequest(method, target, headers, reader=reader)
        if self._read_body:
            request.body = await _read_body(reader, headers)
        return request


async def _read_body(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readline()
    return b""
