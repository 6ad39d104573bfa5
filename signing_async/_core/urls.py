"""URLs: base URL checks (HTTPS everywhere except on loopback), path segments, redaction."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit

from .errors import ConfigurationError
from .validation import require_id

__all__ = [
    "check_base_url",
    "is_loopback",
    "path_segment",
    "redact_url",
    "redact_urls",
    "same_origin",
]


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
    if not url.isprintable():
        # Control characters would split the request line; a lone surrogate
        # is not text at all. Not echoed: it cannot be shown as it is.
        raise ConfigurationError(f"{field} must not contain control characters or surrogates")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsed only to refuse a bad one here, not on the first call
    except ValueError:
        # Shown as log lines show URLs: it may carry user:password.
        raise ConfigurationError(f"{field} is not a valid URL: {redact_url(url)!r}") from None
    if parts.username is not None or parts.password is not None:
        # Never echo it: the user:password part is a credential.
        raise ConfigurationError(f"{field} must not carry user:password; pass credentials apart")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(
            f"{field} must be an absolute http(s) URL, not {redact_url(url)!r}"
        )
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


def path_segment(value: object, field: str) -> str:
    """``value`` checked as an identifier and quoted as one URL path segment.

    Every id the SDK puts into a URL path goes through here: ``/``, ``?``,
    ``#`` and ``%`` are percent-encoded, and what encoding cannot make safe
    (``.``, ``..``, control characters, an oversized id) is refused.

    Raises:
        ValidationError: ``value`` is not a usable identifier, naming ``field``.
    """
    return quote(require_id(value, field), safe="")


def redact_url(url: str) -> str:
    """``url`` fit for a log line or a message: no ``user:password@``, no query string.

    The query string goes too: it is where a careless API puts secrets. Plain
    string work, no URL parser: this must not fail on whatever it is given.
    """
    url = url.split("?", 1)[0].split("#", 1)[0]
    scheme, slashes, rest = url.partition("//")
    authority, slash, path = rest.partition("/")
    if not slashes or "@" not in authority:
        return url
    host = authority.rsplit("@", 1)[1]
    return f"{scheme}//***@{host}{slash}{path}"


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_urls(text: str) -> str:
    """``text`` with every URL in it redacted (:func:`redact_url`).

    For the words of an HTTP library's error, which may quote the URL whole
    (aiohttp's ``url='...'``): a presigned download URL carries its
    signature in the query string.
    """
    return _URL_IN_TEXT.sub(lambda found: redact_url(found.group()), text)
