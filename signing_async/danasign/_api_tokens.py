"""``client.api_tokens``: sessions from the API token, and who the token is."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .._core.endpoint import what
from .._core.session import CoreSession
from .._core.timeouts import Timeout
from .._core.tokens import check_token
from ._config import DanaSignConfig
from ._endpoint import DanaSignEndpoint
from ._models import ApiSession, WhoAmI

__all__ = ["ApiTokens"]


class ApiTokens:
    """What the API token can do for itself.

    Obtained as ``client.api_tokens``. These routes take the token as
    ``x-danassign-api-key``.
    """

    def __init__(self, session: CoreSession, config: DanaSignConfig) -> None:
        self._endpoint = DanaSignEndpoint(session, config)

    async def create_session(self, *, timeout: Timeout | None = None) -> ApiSession:
        """Create a Parse session for the token's user.

        The session token does not expire on its own; it dies when the API
        token is revoked or the session is logged out. Calling this twice
        creates two sessions, so a failure after sending is not replayed.

        Args:
            timeout: Overrides the client's timeouts for this call.

        Returns:
            The session, its token hidden from ``repr``.

        Raises:
            AuthenticationError: The API token is missing or invalid (HTTP 405).
            ResponseDecodeError: The answer holds no session token, or one that
                cannot be sent in a header (empty, not visible ASCII).
        """
        endpoint = self._endpoint
        call = endpoint.request(
            "create session", "POST", "/api/tokens/session", timeout=timeout, secret_answer=True
        )
        session = endpoint.answer(call, await endpoint.json(call), ApiSession)
        # Refused here rather than in the caller's next request header.
        check_token(session.session_token, what=what(call))
        return session

    async def whoami(self, *, timeout: Timeout | None = None) -> WhoAmI:
        """Who the API token belongs to, and its scopes.

        Args:
            timeout: Overrides the client's timeouts for this call.

        Raises:
            AuthenticationError: The API token is missing or invalid (HTTP 405).
        """
        endpoint = self._endpoint
        call = endpoint.request("whoami", "GET", "/api/tokens/whoami", timeout=timeout)
        who = endpoint.answer(call, await endpoint.json(call), WhoAmI)
        user = who.user
        if isinstance(user, Mapping):
            # The user may come as a nested object only; lift what it says.
            who = attrs.evolve(
                who,
                user_id=who.user_id or _text(user, "objectId", "id", "userId"),
                email=who.email or _text(user, "email", "Email"),
                name=who.name or _text(user, "name", "Name"),
            )
        token = who.token
        if not who.scopes and isinstance(token, Mapping) and isinstance(token.get("scopes"), list):
            who = attrs.evolve(who, scopes=tuple(str(scope) for scope in token["scopes"]))
        return who


def _text(mapping: Mapping[str, object], *keys: str) -> str | None:
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value:
            return value
    return None
