"""The ``/_sandbox/`` control routes shared by all providers (faults, log, reset)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ._faults import Fault
from ._http import RouteSpec, is_number, json_response
from ._jsonbody import BodyError, read_small_json
from ._state import STATE_KEY, SandboxState

__all__ = ["arm_fault", "routes"]

_MAX_TOKEN_LIFETIME = 10 * 365 * 24 * 3600  # ten years


def _error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status=status)


async def _json_object(request: web.Request) -> dict[str, Any]:
    body = await read_small_json(request)
    if not isinstance(body, dict):
        raise BodyError("body must be a JSON object")
    return body


def arm_fault(state: SandboxState, data: Mapping[str, Any]) -> Fault:
    """Arm the fault ``data`` describes (Fault's fields), as ``POST /_sandbox/faults`` does.

    Raises:
        ValueError: Unknown fields, invalid values or a route the sandbox does
            not serve; the message names the field.
    """
    fault = Fault.from_json(data)
    state.faults.add(fault)  # refuses a route it does not know
    return fault


async def add_fault(request: web.Request) -> web.StreamResponse:
    """``POST /_sandbox/faults`` — arm a fault described by Fault's fields."""
    try:
        fault = arm_fault(request.app[STATE_KEY], await _json_object(request))
    except BodyError as exc:
        return _error(exc.status, str(exc))
    except (ValueError, OverflowError) as exc:
        return _error(400, str(exc))
    return json_response({"fault": fault.to_json()}, status=201)


async def list_faults(request: web.Request) -> web.StreamResponse:
    """``GET /_sandbox/faults`` — the armed faults, in the order they are checked."""
    return json_response({"faults": [fault.to_json() for fault in request.app[STATE_KEY].faults]})


async def clear_faults(request: web.Request) -> web.StreamResponse:
    """``DELETE /_sandbox/faults`` — disarm every fault."""
    return json_response({"cleared": request.app[STATE_KEY].faults.clear()})


async def list_requests(request: web.Request) -> web.StreamResponse:
    """``GET /_sandbox/requests`` — the request log without headers, and the peaks."""
    log = request.app[STATE_KEY].log
    return json_response(
        {
            "requests": [entry.to_json() for entry in log],
            "max_in_flight": log.max_in_flight(),
            "max_in_flight_by_route": log.max_in_flight_by_route(),
        }
    )


async def reset(request: web.Request) -> web.StreamResponse:
    """``POST /_sandbox/reset`` — clear state, log and faults."""
    request.app[STATE_KEY].reset()
    return json_response({"reset": True})


async def set_token_lifetime(request: web.Request) -> web.StreamResponse:
    """``POST /_sandbox/token_lifetime`` ``{"seconds": 2}`` — lifetime of new tokens."""
    try:
        body = await _json_object(request)
    except BodyError as exc:
        return _error(exc.status, str(exc))
    seconds = body.get("seconds")
    # is_number admits only finite values; the bound keeps float() and the
    # token expiry arithmetic away from huge integers.
    if not is_number(seconds) or not 0 < seconds <= _MAX_TOKEN_LIFETIME:
        return _error(400, f"seconds: must be a number > 0 and <= {_MAX_TOKEN_LIFETIME}")
    request.app[STATE_KEY].token_lifetime = float(seconds)
    return json_response({"seconds": seconds})


def routes() -> list[RouteSpec]:
    """The generic control routes (providers add their own under ``/_sandbox/``)."""
    return [
        ("POST", "/_sandbox/faults", add_fault, "control"),
        ("GET", "/_sandbox/faults", list_faults, "control"),
        ("DELETE", "/_sandbox/faults", clear_faults, "control"),
        ("GET", "/_sandbox/requests", list_requests, "control"),
        ("POST", "/_sandbox/reset", reset, "control"),
        ("POST", "/_sandbox/token_lifetime", set_token_lifetime, "control"),
    ]
