"""DANAsign's ``/api/tokens`` endpoints: sessions for an API token, and who it is."""

from __future__ import annotations

import secrets

from aiohttp import web

from .._http import json_response
from ._http import authorize
from ._state import DANASIGN, USER

__all__ = ["create_session", "whoami"]


async def create_session(request: web.Request) -> web.StreamResponse:
    """``POST /api/tokens/session``."""
    if (denied := authorize(request, None)) is not None:
        return denied
    state = request.app[DANASIGN]
    scopes = state.api_tokens[request.headers["x-danassign-api-key"]]
    session = f"r:{secrets.token_hex(16)}"
    state.sessions[session] = scopes
    return json_response(
        {
            "sessionToken": session,
            "userId": USER["userId"],
            "scopes": list(scopes),
            "token": {
                "name": "Sandbox API token",
                "scopes": list(scopes),
                "userId": USER["userId"],
            },
        }
    )


async def whoami(request: web.Request) -> web.StreamResponse:
    """``GET /api/tokens/whoami``."""
    if (denied := authorize(request, None)) is not None:
        return denied
    scopes = request.app[DANASIGN].api_tokens[request.headers["x-danassign-api-key"]]
    return json_response({"data": {**USER, "scopes": list(scopes)}})
