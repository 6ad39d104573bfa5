"""What every DANAsign handler shares: error bodies, token and scope checks, JSON bodies, paging."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .._http import json_response, media_type
from .._jsonbody import BodyError, read_small_json
from .._uploads import Invalid
from ._state import DANASIGN

__all__ = ["authorize", "error", "json_object", "page_of", "paging"]


def error(status: int, message: str) -> web.Response:
    """DANAsign's error body, ``{"error": message}``, with ``status``."""
    return json_response({"error": message}, status=status)


def _scopes(request: web.Request, header: str, *, sessions: bool) -> tuple[str, ...] | None:
    state = request.app[DANASIGN]
    token = request.headers.get(header)
    if token is not None and token in state.api_tokens:
        return state.api_tokens[token]
    if sessions:
        session = request.headers.get("X-Parse-Session-Token")
        if session is not None and session in state.sessions:
            return state.sessions[session]
    return None


def authorize(request: web.Request, scope: str | None) -> web.Response | None:
    """405 for a missing or unknown token (DANAsign's code for it), 403 for a missing scope."""
    if request.path.startswith("/api/tokens/"):
        scopes = _scopes(request, "x-danassign-api-key", sessions=False)
    else:
        scopes = _scopes(request, "x-api-token", sessions=True)
    if scopes is None:
        return error(405, "Invalid API token")
    if scope is not None and scope not in scopes:
        return error(403, f"missing scope {scope}")
    return None


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's small JSON body, which must be an object.

    Raises:
        BodyError: A body that is not JSON, or not an object (400), or too
            large (413).
    """
    if media_type(request) != "application/json":
        raise BodyError("Content-Type must be application/json")
    body = await read_small_json(request)
    if not isinstance(body, dict):
        raise BodyError("body must be a JSON object")
    return body


def paging(request: web.Request) -> tuple[int, int]:
    """``limit`` (1..100, default 20) and ``skip`` (>= 0, default 0).

    Raises:
        Invalid: If either is out of range or not an integer.
    """
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        raise Invalid("limit must be an integer between 1 and 100") from None
    if not 1 <= limit <= 100:
        raise Invalid("limit must be an integer between 1 and 100")
    try:
        skip = int(request.query.get("skip", "0"))
    except ValueError:
        raise Invalid("skip must be an integer >= 0") from None
    if skip < 0:
        raise Invalid("skip must be an integer >= 0")
    return limit, skip


def page_of(items: list[dict[str, Any]], limit: int, skip: int) -> dict[str, Any]:
    """One page of ``items`` with its ``pagination`` block."""
    page = items[skip : skip + limit]
    return {
        "data": page,
        "pagination": {
            "limit": limit,
            "skip": skip,
            "total": len(items),
            "hasMore": skip + len(page) < len(items),
        },
    }
