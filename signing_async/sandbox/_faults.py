"""Fault injection: latency, error statuses, dropped connections, truncated bodies."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any, Literal

import attrs

__all__ = ["Fault", "FaultSet", "UnknownRoute", "default_error_body", "retry_after_headers"]

ANY_ROUTE = "*"

# Routes whose faults would lock the operator out of the sandbox (or that do
# not belong to any provider) are never matched by the "*" wildcard.
_NOT_WILDCARD = frozenset({"control", "unmatched"})

_SOFIA_CODES = {400: "WHK001", 401: "WHK002", 404: "WHK004"}


def _check_latency(_: Fault, __: attrs.Attribute[Any], value: float | tuple[float, float]) -> None:
    if isinstance(value, tuple):
        low, high = value
        if not 0 <= low <= high:
            raise ValueError(f"latency range must satisfy 0 <= min <= max, got {value!r}")
    elif value < 0:
        raise ValueError(f"latency must be >= 0, got {value!r}")


def _to_latency(value: float | tuple[float, float] | list[float]) -> float | tuple[float, float]:
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"latency range needs exactly two numbers, got {value!r}")
        return (float(value[0]), float(value[1]))
    return float(value)


@attrs.frozen(kw_only=True)
class Fault:
    """One fault to inject into matching requests.

    Attributes:
        route: A route name (``"danasign.createdocument"``) or ``"*"`` for every
            provider route (``"*"`` never matches the ``/_sandbox/`` control
            routes, so the sandbox stays controllable).
        status: Answer this status without running the handler (nothing is
            created).
        body: JSON body for ``status``; the default is shaped like the
            provider's own error bodies.
        retry_after: Seconds to announce in ``Retry-After`` (whole seconds,
            rounded up) and ``retry-after-ms`` on the response sent.
        latency: Seconds to wait before handling, or a ``(min, max)`` range
            drawn from the sandbox's seeded random generator.
        drop: ``"before"`` closes the connection without running the handler;
            ``"after"`` runs the handler (its state changes stay) and closes the
            connection instead of answering.
        truncate: Run the handler, send the headers with the full
            Content-Length but only about half the body, then close.
        probability: Chance in ``[0, 1]`` that the fault fires on a match.
        times: How many times the fault fires before it retires; ``None``
            means without end.
    """

    route: str = ANY_ROUTE
    status: int | None = attrs.field(default=None)
    body: Any = None
    retry_after: float | None = None
    latency: float | tuple[float, float] = attrs.field(
        default=0.0, converter=_to_latency, validator=_check_latency
    )
    drop: Literal["before", "after"] | None = attrs.field(
        default=None, validator=attrs.validators.in_([None, "before", "after"])
    )
    truncate: bool = False
    probability: float = 1.0
    times: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {self.status!r}")
        if self.status is not None and self.drop is not None:
            raise ValueError("a fault either answers a status or drops the connection")
        if self.truncate and self.drop is not None:
            raise ValueError("a fault either truncates the body or drops the connection")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {self.probability!r}")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be >= 1 or None, got {self.times!r}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {self.retry_after!r}")

    def matches(self, route: str) -> bool:
        """Whether this fault applies to requests of ``route``."""
        if self.route == ANY_ROUTE:
            return route not in _NOT_WILDCARD
        return self.route == route

    def delay(self, rng: random.Random) -> float:
        """The latency to add to one request, in seconds."""
        if isinstance(self.latency, tuple):
            low, high = self.latency
            return rng.uniform(low, high)
        return self.latency

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from the JSON accepted by ``POST /_sandbox/faults``.

        Raises:
            ValueError: On unknown keys or invalid values.
        """
        known = {field.name for field in attrs.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc

    def to_json(self) -> dict[str, Any]:
        """The fault as JSON-ready data."""
        data = attrs.asdict(self)
        if isinstance(self.latency, tuple):
            data["latency"] = list(self.latency)
        return data


@attrs.define
class _Armed:
    fault: Fault
    fired: int = 0


class UnknownRoute(ValueError):
    """A fault names a route the sandbox does not serve."""


class FaultSet:
    """The faults in force, checked in the order they were added."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._armed: list[_Armed] = []
        # The server's route names, once it has them: a misspelled route
        # would otherwise arm a fault that never fires, silently.
        self.known_routes: frozenset[str] | None = None

    def add(self, fault: Fault) -> Fault:
        """Arm a fault and return it.

        Raises:
            UnknownRoute: Its route is not one the sandbox serves (a
                ValueError whose message lists those it does).
        """
        known = self.known_routes
        if known is not None and fault.route != ANY_ROUTE and fault.route not in known:
            raise UnknownRoute(
                f"route: no route is named {fault.route!r}; known routes:"
                f" {', '.join(sorted(known))} (or {ANY_ROUTE!r} for all)"
            )
        self._armed.append(_Armed(fault))
        return fault

    def remove(self, fault: Fault) -> None:
        """Disarm one fault (the first armed copy of it).

        Raises:
            ValueError: If the fault is not armed.
        """
        for index, armed in enumerate(self._armed):
            if armed.fault is fault:
                del self._armed[index]
                return
        raise ValueError(f"fault not armed: {fault!r}")

    def clear(self) -> int:
        """Disarm every fault; return how many there were."""
        count = len(self._armed)
        self._armed.clear()
        return count

    def pick(self, route: str) -> Fault | None:
        """The fault to apply to one request of ``route``, if any fires.

        The first armed fault that matches the route and wins its probability
        draw fires; a fault that has fired ``times`` times retires.
        """
        for index, armed in enumerate(self._armed):
            fault = armed.fault
            if not fault.matches(route):
                continue
            # Draw only for partial probabilities, so certain faults do not
            # shift the seeded sequence that the uncertain ones depend on.
            if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                continue
            armed.fired += 1
            if fault.times is not None and armed.fired >= fault.times:
                del self._armed[index]
            return fault
        return None

    def __iter__(self) -> Iterator[Fault]:
        return iter([armed.fault for armed in self._armed])

    def __len__(self) -> int:
        return len(self._armed)

    def __bool__(self) -> bool:
        return bool(self._armed)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def default_error_body(route: str, status: int, message: str | None = None) -> dict[str, Any]:
    """An error body shaped like the provider of ``route`` shapes its own.

    Args:
        route: The route's name; only its provider prefix matters.
        status: The HTTP status.
        message: The text; by default the status's reason, marked as injected.
    """
    if message is None:
        message = f"{_reason(status)} (injected by the sandbox)"
    if route.startswith("sofia.") and route != "sofia.storage":
        return {"code": _SOFIA_CODES.get(status, f"HTTP{status}"), "message": message}
    return {"error": message}


def retry_after_headers(seconds: float) -> dict[str, str]:
    """``Retry-After`` in whole seconds (as HTTP requires) plus exact milliseconds."""
    return {
        "Retry-After": str(math.ceil(seconds)),
        "retry-after-ms": str(round(seconds * 1000)),
    }
