"""Small helpers shared by the emulated providers: JSON answers, auth, time, files."""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import string
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeGuard

from aiohttp import web

from ._blobs import Blob

__all__ = [
    "MAX_BODY",
    "Handler",
    "RouteSpec",
    "SandboxFileResponse",
    "bearer_token",
    "blob_response",
    "is_int",
    "is_number",
    "iso",
    "json_response",
    "media_type",
    "nonempty_str",
    "now",
    "object_id",
    "parse_basic",
    "valid_email",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RouteSpec = tuple[str, str, Handler, str]  # method, path, handler, route name

# Bodies of the routes that carry documents may be this large.
MAX_BODY = (1 << 30) + (16 << 20)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ALPHABET = string.ascii_letters + string.digits


class SandboxFileResponse(web.FileResponse):
    """A file answer that remembers its path, so faults can truncate it."""

    def __init__(self, path: Path, *, content_type: str, headers: dict[str, str] | None = None):
        super().__init__(path, headers={"Content-Type": content_type, **(headers or {})})
        self.sandbox_path = path


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer with compact separators."""
    return web.json_response(
        data, status=status, headers=headers, dumps=lambda v: json.dumps(v, separators=(",", ":"))
    )


def blob_response(blob: Blob, content_type: str) -> web.StreamResponse:
    """Serve a blob: from memory, or streamed from its file with Content-Length."""
    if blob.path is not None:
        return SandboxFileResponse(blob.path, content_type=content_type)
    return web.Response(body=blob.data, content_type=content_type)


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """The user and password of a Basic ``Authorization`` header, or ``None``."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, or non-ASCII header text
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def bearer_token(header: str | None) -> str | None:
    """The token of a Bearer ``Authorization`` header, or ``None``."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def valid_email(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a string that looks like an e-mail address."""
    return isinstance(value, str) and _EMAIL.fullmatch(value) is not None


def nonempty_str(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a string with something besides whitespace."""
    return isinstance(value, str) and bool(value.strip())


def is_int(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a JSON integer (``true`` does not count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[float]:
    """Whether ``value`` is a finite JSON number (``true``, ``NaN``, infinities do not count)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return is_int(value)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, as the providers write it."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(timezone.utc)


def object_id() -> str:
    """A ten-character id like Parse's ``objectId`` values."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


def media_type(request: web.BaseRequest) -> str:
    """The request's media type, lower-cased, without parameters."""
    return request.content_type.lower()
