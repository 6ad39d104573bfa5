"""The application factory and the middleware that logs, counts and injects faults."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import NoReturn

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from . import _control, _danaconnect, _sofia, console, danasign
from ._faults import Fault, default_error_body, retry_after_headers
from ._http import (
    MAX_BODY,
    Handler,
    RouteSpec,
    SandboxFileResponse,
    json_response,
)
from ._log import LoggedRequest, current_entry
from ._state import STATE_KEY, SandboxState

__all__ = ["ConnectionDropped", "drop_connection", "make_app"]

# Every provider's emulation, listed once: a module or subpackage offering
# routes() and setup(app, state).
_PROVIDERS = (_danaconnect, danasign, _sofia)

ROUTE_NAMES = web.AppKey("signing_async_sandbox_route_names", dict[AbstractRoute, str])
# The console's own pages: served as they are, outside the log and the faults,
# so watching the sandbox changes nothing it reports.
CONSOLE_ROUTES = web.AppKey("signing_async_sandbox_console_routes", frozenset[AbstractRoute])

_TRUNCATE_CHUNK = 1 << 20


class ConnectionDropped(asyncio.CancelledError):
    """Raised from a handler after closing its connection on purpose.

    aiohttp treats a ``CancelledError`` escaping a handler like a peer that
    went away: it writes no response, logs no error, closes that connection
    and keeps serving others (the approach its maintainers give for closing
    without an answer, aio-libs/aiohttp#3495). Any other exception would make
    it answer 500 instead.
    """


def drop_connection(request: web.BaseRequest) -> NoReturn:
    """Close the request's connection now and stop handling it.

    ``transport.close()`` (not ``abort()``) flushes what was already written,
    which truncated answers rely on, then closes the socket.
    """
    transport = request.transport
    if transport is not None:
        transport.close()
    raise ConnectionDropped


async def _send_truncated(request: web.Request, response: web.StreamResponse) -> NoReturn:
    """Send the headers with the full Content-Length, about half the body, then close."""
    if isinstance(response, SandboxFileResponse):
        path = response.sandbox_path
        total = path.stat().st_size
        body: bytes | None = None
    elif isinstance(response, web.Response) and isinstance(response.body, bytes | bytearray):
        body = bytes(response.body)
        total = len(body)
    else:  # pragma: no cover - every sandbox handler answers bytes or a file
        raise TypeError(f"cannot truncate a {type(response).__name__}")
    half = total // 2 if total > 1 else 0
    if half == 0:
        drop_connection(request)
    stream = web.StreamResponse(status=response.status, reason=response.reason)
    for name, value in response.headers.items():
        if name.lower() not in ("content-length", "transfer-encoding"):
            stream.headers.add(name, value)
    stream.content_length = total
    await stream.prepare(request)
    if body is not None:
        await stream.write(body[:half])
    else:
        with path.open("rb") as handle:
            remaining = half
            while remaining:
                chunk = handle.read(min(remaining, _TRUNCATE_CHUNK))
                await stream.write(chunk)
                remaining -= len(chunk)
    drop_connection(request)


async def _respond(
    request: web.Request,
    handler: Handler,
    route: str,
    fault: Fault,
    state: SandboxState,
    entry: LoggedRequest,
) -> web.StreamResponse:
    def applied(effect: str) -> None:
        # Logged as it happens, so tests can tell what a fault did without
        # measuring time, and a request cut short shows how far it got.
        entry.faults = (*entry.faults, effect)

    delay = fault.delay(state.rng)
    if delay > 0:
        await asyncio.sleep(delay)
        entry.latency = delay
        applied("latency")
    if fault.drop == "before":
        applied("drop-before")
        drop_connection(request)
    response: web.StreamResponse
    if fault.status is not None:
        applied("status")
        body = fault.body if fault.body is not None else default_error_body(route, fault.status)
        response = json_response(body, status=fault.status)
    else:
        response = await handler(request)
    if fault.drop == "after":
        applied("drop-after")
        drop_connection(request)
    if fault.retry_after is not None:
        applied("retry-after")
        response.headers.update(retry_after_headers(fault.retry_after))
    if fault.truncate:
        applied("truncate")
        await _send_truncated(request, response)
    return response


# Paths of routes that do not match, by provider: their 404 and 405 answers
# take the provider's error envelope, as the provider's own answers do. (The
# storage host answers {"error"}, like the other providers and the control routes.)
_SOFIA_PATHS = ("/create_signature", "/sign_document")
_DANASIGN_PATHS = ("/api/1.0/", "/api/tokens/")


def _provider_route(path: str) -> str:
    if path.startswith(_SOFIA_PATHS):
        return "sofia.unmatched"
    if path.startswith(_DANASIGN_PATHS):
        return "danasign.unmatched"
    return "unmatched"


def _refusal(
    route: str, status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return json_response(default_error_body(route, status, message), status, headers)


def _router_refusal(request: web.Request, exc: web.HTTPException) -> web.Response | None:
    """The provider's JSON answer for the router's own 404 and 405, which are text/plain.

    A DANAsign client reads any 405 as "invalid API token" unless it says
    otherwise: the message says "method not allowed" and ``Allow`` lists the
    methods, as HTTP requires and the provider's token refusals never do.
    """
    route = _provider_route(request.path)
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        message = f"method not allowed: {request.method} {request.path} accepts {allowed}"
        return _refusal(route, 405, message, {"Allow": allowed})
    if isinstance(exc, web.HTTPNotFound):
        return _refusal(route, 404, f"no such route: {request.path}")
    return None


def _compressed(request: web.Request) -> bool:
    """Whether a matched route's request has a compressed body (unmatched ones answer 404/405)."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    return (
        request.match_info.http_exception is None
        and request.body_exists
        and encoding not in ("", "identity")
    )


@web.middleware
async def _sandbox_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.route in request.app[CONSOLE_ROUTES]:
        return await handler(request)
    state = request.app[STATE_KEY]
    route = request.app[ROUTE_NAMES].get(request.match_info.route, "unmatched")
    entry = state.log.start(
        route=route,
        method=request.method,
        path=request.path,
        query=dict(request.query),
        headers=request.headers,
    )
    status: int | None = None
    context_token = current_entry.set(entry)
    response: web.StreamResponse
    try:
        if _compressed(request):
            # No provider documents compressed uploads; refusing them is
            # simpler and safer than inflating them under a limit.
            response = _refusal(
                route, 415, "compressed request bodies are not accepted (Content-Encoding)"
            )
        elif (fault := state.faults.pick(route)) is None:
            response = await handler(request)
        else:
            response = await _respond(request, handler, route, fault, state, entry)
        status = response.status
        return response
    except web.HTTPException as exc:
        if (refusal := _router_refusal(request, exc)) is not None:
            status = refusal.status
            return refusal
        status = exc.status
        raise
    except ConnectionResetError:
        # The client went away while this request was handled (it gave up
        # during a latency fault, say) and reading its body failed: nobody is
        # left to answer. Close quietly, as for a dropped connection, instead
        # of letting aiohttp log an error and record an answer never sent.
        drop_connection(request)
    except Exception:
        status = 500  # aiohttp answers an unhandled exception with a 500
        raise
    finally:
        current_entry.reset(context_token)
        length = request.content_length
        entry.body_size = length if length is not None else request.content.total_bytes
        state.log.finish(entry, status)


async def _close_state(app: web.Application) -> None:
    app[STATE_KEY].close()


def _all_routes() -> Iterable[RouteSpec]:
    for provider in _PROVIDERS:
        yield from provider.routes()
    yield from _control.routes()
    yield from console.routes()


def make_app(state: SandboxState) -> web.Application:
    """Build the sandbox application serving all three providers on one port.

    Args:
        state: The state to serve; it is closed (its files deleted) when the
            application is cleaned up.
    """
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_sandbox_middleware])
    app[STATE_KEY] = state
    names: dict[AbstractRoute, str] = {}
    for method, path, handler, name in _all_routes():
        names[app.router.add_route(method, path, handler)] = name
    app[ROUTE_NAMES] = names
    app[CONSOLE_ROUTES] = frozenset(
        app.router.add_route(method, path, handler) for method, path, handler in console.pages()
    )
    state.faults.known_routes = frozenset(names.values())
    for provider in _PROVIDERS:
        provider.setup(app, state)
    app.on_cleanup.append(_close_state)
    return app
