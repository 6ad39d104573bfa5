"""DANAconnect settings."""

from __future__ import annotations

import re

import attrs

from .._core.errors import ConfigurationError
from .._core.settings import (
    require_basic_user,
    require_credentials,
    require_flags,
    require_id_settings,
)
from .._core.urls import check_base_url

__all__ = ["DanaConnectConfig"]

DEFAULT_BASE_URL = "https://biometric.danaconnect.com"

# One or more DNS labels. Anything else could move the download host: with
# subdomain="evil.example#" the URL's host would be evil.example, and the
# bearer token would go there.
_SUBDOMAIN = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*", re.I
)


def _hidden(_: object) -> str:
    return "'***'"


@attrs.frozen
class DanaConnectConfig:
    """Credentials and hosts for DANAconnect's Biometric Circuit API.

    DANAconnect uses two hosts: the API host (tokens, starting circuits) and a
    per-customer download host, ``https://{subdomain}.esignature-platform.com``.
    Give either ``subdomain`` or a full ``download_base_url``.

    Attributes:
        client_id: The OAuth2 client id.
        client_secret: The OAuth2 client secret (never shown in ``repr``).
        channel: The channel (web-experience id) DANAconnect assigned.
        subdomain: The customer subdomain of the download host.
        base_url: The API host (staging: ``https://biometric.integrationlayer.com``).
        download_base_url: The download host, overriding ``subdomain``.
        allow_insecure: Allow ``http://`` to a non-loopback host.
    """

    client_id: str
    client_secret: str = attrs.field(repr=_hidden)
    channel: str
    subdomain: str | None = None
    base_url: str = DEFAULT_BASE_URL
    download_base_url: str | None = None
    allow_insecure: bool = False

    def __attrs_post_init__(self) -> None:
        require_credentials(self, "client_id", "client_secret")
        require_basic_user(self, "client_id")  # the token request is HTTP Basic
        require_id_settings(self, "channel")
        require_flags(self, "allow_insecure")
        check_base_url(
            self.base_url, "DanaConnectConfig.base_url", allow_insecure=self.allow_insecure
        )
        if self.download_base_url is None:
            if not isinstance(self.subdomain, str) or not self.subdomain:
                raise ConfigurationError(
                    "DanaConnectConfig needs subdomain= (the download host's) or download_base_url="
                )
            if not _SUBDOMAIN.fullmatch(self.subdomain):
                raise ConfigurationError(
                    f"DanaConnectConfig.subdomain must be a host name label, not {self.subdomain!r}"
                )
        if self.download_base_url is not None and not isinstance(self.download_base_url, str):
            raise ConfigurationError("DanaConnectConfig.download_base_url must be a URL string")
        check_base_url(
            self.download_url,
            "DanaConnectConfig.download_base_url",
            allow_insecure=self.allow_insecure,
        )

    @property
    def api_url(self) -> str:
        """The API host, without a trailing slash."""
        return self.base_url.rstrip("/")

    @property
    def download_url(self) -> str:
        """The download host, without a trailing slash."""
        if self.download_base_url is not None:
            return self.download_base_url.rstrip("/")
        return f"https://{self.subdomain}.esignature-platform.com"
