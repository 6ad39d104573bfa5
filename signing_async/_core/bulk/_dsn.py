"""PostgreSQL connection URIs: told apart from file paths, shown without their password."""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["is_dsn", "safe_dsn", "without_passwords"]

_SECRET_PARAMETER = re.compile(r"(?i)([?&](?:ssl)?password=)([^&#]*)")
"""A password given as a query parameter, which libpq takes as well as in the userinfo."""


def is_dsn(value: object) -> bool:
    """Whether ``value`` is a PostgreSQL connection URI (``postgresql://…``)."""
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def _split(dsn: str) -> tuple[str, str | None, str, str] | None:
    """``scheme``, ``user[:password]`` (None without ``@``), hosts, and the rest; None if no URI.

    Plain string work, no URL parser: a URI libpq takes (several hosts,
    ``h1:5432,h2:5432``) or one it refuses must be shown, not raise.
    """
    scheme, slashes, rest = dsn.partition("://")
    if not slashes:
        return None
    end = min([found for mark in "/?#" if (found := rest.find(mark)) >= 0], default=len(rest))
    userinfo, at, hosts = rest[:end].rpartition("@")
    return scheme, userinfo if at else None, hosts, rest[end:]


def safe_dsn(dsn: str) -> str:
    """``dsn`` with every password replaced by ``***``, for messages and logs.

    The password of the userinfo (``user:password@``) and of the query string
    (``?password=``, ``&sslpassword=``) are hidden.
    """
    split = _split(dsn)
    if split is None:
        return "postgresql://…"
    scheme, userinfo, hosts, tail = split
    if userinfo is not None:
        user, colon, _ = userinfo.partition(":")
        hosts = f"{user}{':***' if colon else ''}@{hosts}"
    tail = _SECRET_PARAMETER.sub(r"\g<1>***", tail)
    return f"{scheme}://{hosts}{tail}"


def without_passwords(text: str, dsn: str) -> str:
    """``text`` (a driver's message about ``dsn``) with ``dsn``'s passwords replaced by ``***``.

    libpq quotes the part of a URI it cannot parse, a badly percent-encoded
    password included.
    """
    split = _split(dsn)
    if split is None:
        return text
    _, userinfo, _, tail = split
    found = [match.group(2) for match in _SECRET_PARAMETER.finditer(tail)]
    if userinfo is not None and ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    for secret in sorted(
        {form for raw in found for form in (raw, unquote(raw)) if form}, key=len, reverse=True
    ):
        text = text.replace(secret, "***")
    return text
