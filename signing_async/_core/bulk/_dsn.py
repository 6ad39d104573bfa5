"""PostgreSQL connection URIs: told apart from file paths, shown without their password."""

from __future__ import annotations

from urllib.parse import unquote

__all__ = ["is_dsn", "safe_dsn", "without_passwords"]

_SECRET_KEYS = frozenset({"password", "sslpassword"})
"""Query parameters libpq takes a password from, as well as from the userinfo."""


def is_dsn(value: object) -> bool:
    """Whether ``value`` is a PostgreSQL connection URI (``postgresql://…``)."""
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


class _Parts:
    """A URI cut as libpq cuts it, by plain string work (no URL parser).

    A URI libpq takes (several hosts, ``h1:5432,h2:5432``) or one it refuses
    must be shown, not raise. libpq ends the userinfo at the last ``@``
    before the first ``/`` (a password may hold ``?`` or ``#``), reads the
    query to the end (``#`` included) and decodes its keys (``%70assword``).
    """

    def __init__(self, dsn: str) -> None:
        self.scheme, slashes, rest = dsn.partition("://")
        self.valid = bool(slashes)
        slash = rest.find("/")
        at = (rest if slash < 0 else rest[:slash]).rfind("@")
        self.userinfo = rest[:at] if at >= 0 else None
        after = rest[at + 1 :]
        question = after.find("?")
        self.hosts_and_path = after if question < 0 else after[:question]
        self.query = None if question < 0 else after[question + 1 :].split("&")

    def secrets(self) -> list[str]:
        """The passwords as written, in the userinfo and the query."""
        found = []
        if self.userinfo is not None and ":" in self.userinfo:
            found.append(self.userinfo.split(":", 1)[1])
        for parameter in self.query or ():
            key, equals, value = parameter.partition("=")
            if equals and unquote(key).lower() in _SECRET_KEYS:
                found.append(value)
        return found

    def shown(self) -> str:
        shown = f"{self.scheme}://"
        if self.userinfo is not None:
            user, colon, _ = self.userinfo.partition(":")
            shown += f"{user}{':***' if colon else ''}@"
        shown += self.hosts_and_path
        if self.query is not None:
            hidden = []
            for parameter in self.query:
                key, equals, _ = parameter.partition("=")
                secret = equals and unquote(key).lower() in _SECRET_KEYS
                hidden.append(f"{key}=***" if secret else parameter)
            shown += "?" + "&".join(hidden)
        return shown


def safe_dsn(dsn: str) -> str:
    """``dsn`` with every password replaced by ``***``, for messages and logs.

    The password of the userinfo (``user:password@``) and of the query string
    (``?password=``, ``&sslpassword=``) are hidden.
    """
    parts = _Parts(dsn)
    return parts.shown() if parts.valid else "postgresql://…"


def without_passwords(text: str, dsn: str) -> str:
    """``text`` (a driver's message about ``dsn``) with ``dsn``'s passwords replaced by ``***``.

    libpq quotes the part of a URI it cannot parse, a badly percent-encoded
    password included.
    """
    parts = _Parts(dsn)
    if not parts.valid:
        return text
    forms = {form for raw in parts.secrets() for form in (raw, unquote(raw)) if form}
    for secret in sorted(forms, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
