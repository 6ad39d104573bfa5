"""Base URL checks: HTTPS everywhere except on loopback."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .errors import ConfigurationError

__all__ = ["check_base_url", "is_loopback", "same_origin"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, field: str, *, allow_insecure: bool = False) -> str:
    """Validate a base URL and return it without a trailing slash.

    ``http://`` is refused unless the host is loopback (the sandbox) or
    ``allow_insecure`` is set: credentials must not cross a network in clear.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"{field} must be a URL string")
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        # Never echo it: the user:password part is a credential.
        raise ConfigurationError(f"{field} must not carry user:password; pass credentials apart")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"{field} must be an absolute http(s) URL, not {url!r}")
    if parts.scheme == "http" and not allow_insecure and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{field} uses plain http:// for {parts.hostname}; use https:// "
            "(or pass allow_insecure=True if you really mean it)"
        )
    return url.rstrip("/")


def same_origin(url: str, other: str) -> bool:
    """Whether two URLs share scheme, host and port (default ports made explicit)."""

    def origin(value: str) -> tuple[str, str, int | None]:
        parts = urlsplit(value)
        default = {"http": 80, "https": 443}.get(parts.scheme)
        return parts.scheme, (parts.hostname or "").lower(), parts.port or default

    return origin(url) == origin(other)
