"""Auth strategies: how a provider's credentials get onto a request.

The session asks the strategy for headers before each attempt and, when the
provider rejects the credentials, asks it whether renewing them is worth one
replay. Strategies never log and never show their secrets in ``repr``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Protocol

import attrs

from .tokens import AccessToken, TokenCache

__all__ = ["NO_AUTH", "Auth", "BearerTokenAuth", "HeaderAuth", "basic_credentials"]


class Auth(Protocol):
    """How to authenticate a request."""

    async def apply(self, headers: dict[str, str]) -> object:
        """Add the credentials to ``headers``; return what was used, for :meth:`renew`."""
        ...

    async def renew(self, used: object) -> bool:
        """The provider rejected ``used``: renew it, and say whether a replay may succeed."""
        ...


@attrs.frozen
class HeaderAuth:
    """Fixed headers (an API key, a Basic header): nothing to renew."""

    headers: Mapping[str, str] = attrs.field(repr=False, factory=dict)

    async def apply(self, headers: dict[str, str]) -> object:
        """Add the fixed headers."""
        headers.update(self.headers)
        return None

    async def renew(self, used: object) -> bool:
        """Fixed credentials cannot be renewed: never replay."""
        return False


NO_AUTH = HeaderAuth()
"""Sends no credentials."""


@attrs.frozen
class BearerTokenAuth:
    """An OAuth2 bearer token from a :class:`TokenCache`.

    A rejected token is dropped from the cache only if it is still the
    current one (a concurrent caller may have replaced it already), and the
    request is replayed once with a fresh token.
    """

    cache: TokenCache

    async def apply(self, headers: dict[str, str]) -> object:
        """Add ``Authorization: Bearer <token>``, refreshing the token if needed."""
        token = await self.cache.get()
        headers["Authorization"] = f"Bearer {token.value}"
        return token

    async def renew(self, used: object) -> bool:
        """Drop the rejected token (if still current) so the replay fetches a new one."""
        if isinstance(used, AccessToken):
            await self.cache.invalidate(used)
        return True


def basic_credentials(user: str, password: str) -> str:
    """The value of an ``Authorization: Basic`` header."""
    pair = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")
