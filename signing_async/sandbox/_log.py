"""The request log: what arrived, how it ended, and how many ran at once."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import attrs
from multidict import CIMultiDict

__all__ = ["LoggedRequest", "RequestLog", "current_entry", "note_external_id"]


@attrs.define(slots=True, kw_only=True)
class LoggedRequest:
    """One request as the sandbox saw it.

    Entries are created when a request arrives and completed when it ends, so
    the log stays in arrival order; ``finished`` is ``None`` while the request
    is still being handled.

    Attributes:
        route: The route name, e.g. ``"danasign.createdocument"``; ``"control"``
            for ``/_sandbox/*`` and ``"unmatched"`` for paths no route serves.
        method: The HTTP method.
        path: The request path, without the query string.
        query: The query parameters (the first value wins for repeated keys,
            as with ``request.query[key]``).
        headers: A copy of the request headers as received (names keep their
            case and repeats are kept), looked up case-insensitively, so
            ``"Authorization" in entry.headers`` holds whatever case the
            client used.
        status: The status sent, or ``None`` when the connection was dropped.
        started: ``time.monotonic()`` when the request arrived.
        finished: ``time.monotonic()`` when it ended, or ``None``.
        in_flight: Requests of any route being handled when this one started,
            itself included.
        external_id: DANAsign ``metadata.externalId`` of a document creation.
        body_size: The declared Content-Length, or the bytes received when the
            body was sent without one.
        faults: What an injected fault did to this request, in order:
            ``"latency"``, ``"drop-before"``, ``"status"``, ``"drop-after"``,
            ``"retry-after"``, ``"truncate"``; empty when no fault fired.
        latency: Seconds the request was held by a latency fault before it was
            handled (recorded once the wait is over), ``0.0`` otherwise.
    """

    route: str
    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str] = attrs.field(repr=False)  # they hold credentials
    status: int | None = None
    started: float
    finished: float | None = None
    in_flight: int
    external_id: str | None = None
    body_size: int = 0
    faults: tuple[str, ...] = ()
    latency: float = 0.0

    @property
    def duration(self) -> float | None:
        """Seconds between arrival and end, or ``None`` while in flight."""
        return None if self.finished is None else self.finished - self.started

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON-ready data, without headers (they hold credentials)."""
        return {
            "route": self.route,
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "status": self.status,
            "started": self.started,
            "finished": self.finished,
            "in_flight": self.in_flight,
            "external_id": self.external_id,
            "body_size": self.body_size,
            "faults": list(self.faults),
            "latency": self.latency,
        }


class RequestLog:
    """The ordered request log with live and peak in-flight counters."""

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []
        self._in_flight = 0
        self._in_flight_by_route: dict[str, int] = {}
        self._max_in_flight = 0
        self._max_by_route: dict[str, int] = {}

    def start(
        self,
        *,
        route: str,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> LoggedRequest:
        """Record a request that has just arrived and count it as in flight."""
        self._in_flight += 1
        per_route = self._in_flight_by_route.get(route, 0) + 1
        self._in_flight_by_route[route] = per_route
        self._max_in_flight = max(self._max_in_flight, self._in_flight)
        self._max_by_route[route] = max(self._max_by_route.get(route, 0), per_route)
        entry = LoggedRequest(
            route=route,
            method=method,
            path=path,
            query=dict(query),
            headers=CIMultiDict(headers),
            started=time.monotonic(),
            in_flight=self._in_flight,
        )
        self._entries.append(entry)
        return entry

    def finish(self, entry: LoggedRequest, status: int | None) -> None:
        """Complete an entry and count it out of flight."""
        entry.status = status
        entry.finished = time.monotonic()
        self._in_flight -= 1
        self._in_flight_by_route[entry.route] -= 1

    @property
    def entries(self) -> list[LoggedRequest]:
        """A copy of the log, in arrival order."""
        return list(self._entries)

    def for_route(self, route: str) -> list[LoggedRequest]:
        """The entries of one route, in arrival order."""
        return [entry for entry in self._entries if entry.route == route]

    def max_in_flight(self, route: str | None = None) -> int:
        """The peak number of requests handled at once, per route or overall."""
        if route is None:
            return self._max_in_flight
        return self._max_by_route.get(route, 0)

    def max_in_flight_by_route(self) -> dict[str, int]:
        """The peak per route, for every route seen since the last clear."""
        return dict(self._max_by_route)

    def clear(self) -> None:
        """Forget every entry and peak; requests still in flight stay counted."""
        self._entries.clear()
        # Peaks restart from what is running now, so a request that outlives a
        # reset cannot drive a live counter below the recorded peak.
        self._max_in_flight = self._in_flight
        self._max_by_route = {k: v for k, v in self._in_flight_by_route.items() if v}

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


# The entry of the request being handled in this task. A context variable
# rather than request storage: the middleware and the handler share the task,
# and this works on every aiohttp release the package supports.
current_entry: ContextVar[LoggedRequest | None] = ContextVar(
    "signing_async_sandbox_current_entry", default=None
)


def note_external_id(external_id: str | None) -> None:
    """Record a DANAsign ``metadata.externalId`` on the current request's log entry."""
    entry = current_entry.get()
    if entry is not None:
        entry.external_id = external_id
