"""DANAsign settings."""

from __future__ import annotations

import attrs

from .._core.settings import require_credentials, require_flags, require_settings
from .._core.urls import check_base_url

__all__ = ["DanaSignConfig"]


def _hidden(_: object) -> str:
    return "'***'"


@attrs.frozen
class DanaSignConfig:
    """The server and API token of a DANAsign deployment.

    The token is created in DANAsign's admin UI (Settings > API Tokens) with
    the scopes the calls need: ``contacts:write``, ``documents:write``,
    ``documents:read``.

    Attributes:
        server_url: The customer's DANAsign server, e.g. ``https://sign.acme.example``.
        api_token: The API token (never shown in ``repr``).
        allow_insecure: Allow ``http://`` to a non-loopback host.
    """

    server_url: str
    api_token: str = attrs.field(repr=_hidden)
    allow_insecure: bool = False

    def __attrs_post_init__(self) -> None:
        require_settings(self, "server_url")
        require_credentials(self, "api_token")
        require_flags(self, "allow_insecure")
        check_base_url(
            self.server_url, "DanaSignConfig.server_url", allow_insecure=self.allow_insecure
        )

    @property
    def base_url(self) -> str:
        """The server URL without a trailing slash."""
        return self.server_url.rstrip("/")
