"""Helpers shared by the sandbox tests (a unique module name: conftest is not importable safely)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

TokenFactory = Callable[[], Awaitable[str]]


def basic(user: str, password: str) -> str:
    """A Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
