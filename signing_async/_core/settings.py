"""Checks shared by the provider configs, run when a config is created."""

from __future__ import annotations

from .errors import ConfigurationError

__all__ = ["require_settings"]

_CONTROL = frozenset(chr(code) for code in (*range(32), 127))


def require_settings(config: object, *names: str) -> None:
    """Each named attribute of ``config`` must be a non-blank, single-line string.

    Credentials end up in HTTP headers: a line break would split the header
    (and aiohttp would refuse it with a traceback much later), so it is
    refused here, naming the field but never echoing its value.
    """
    owner = type(config).__name__
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{owner}.{name} must be a non-empty string")
        if not _CONTROL.isdisjoint(value):
            raise ConfigurationError(f"{owner}.{name} must not contain control characters")
