"""Helpers for DANAsign tests: constants, JSON answers, request inspection, real PDFs."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pypdf import PdfWriter

import signing_async as sa
from signing_async.transports import RecordedRequest

SERVER = "https://sign.acme.example"
TOKEN = "dsk_live_7f3a9c1e5b2d8046"
FAST = sa.RetryPolicy(backoff_initial=0, backoff_max=0)

Handler = Callable[[RecordedRequest], sa.Response]
MakeClient = Callable[[Handler], tuple[sa.SigningClient, sa.MockTransport]]


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> sa.Response:
    """A JSON answer."""
    return sa.Response(
        status,
        headers={"Content-Type": "application/json", **(headers or {})},
        content=json.dumps(data).encode(),
    )


def body(request: RecordedRequest) -> Any:
    """The JSON body a request carried."""
    return json.loads(request.content)


def query(request: RecordedRequest) -> dict[str, str]:
    """The query parameters of a request (single values)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


def path(request: RecordedRequest) -> str:
    """The path of a request's URL."""
    return urlsplit(request.url).path


def make_pdf(*pages: tuple[float, float], rotate: int = 0) -> bytes:
    """A real PDF with blank pages of the given (width, height) in points."""
    writer = PdfWriter()
    for width, height in pages:
        page = writer.add_blank_page(width=width, height=height)
        if rotate:
            page.rotate(rotate)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
