"""PostgreSQL connection URIs: told apart from file paths, shown without their password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["is_dsn", "safe_dsn"]


def is_dsn(value: object) -> bool:
    """Whether ``value`` is a PostgreSQL connection URI (``postgresql://…``)."""
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def safe_dsn(dsn: str) -> str:
    """``dsn`` with its password replaced by ``***``, for messages and logs."""
    try:
        parts = urlsplit(dsn)
        password = parts.password
    except ValueError:
        return "postgresql://…"
    if password is None:
        return dsn
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
