"""Shared data for the S.O.F.I.A. tests: credentials, files, answers, PDFs."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pypdf

from signing_async import Response, SofiaConfig

CLIENT_ID = "acme-client"
SECRET = "s3cr3t-Sofia-pa55"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
TENANT = "empresa-123"
API = "https://sandbox-sofiapp.bio.credit"

# Only the magic numbers matter to the SDK; the rest is arbitrary binary,
# CR and LF bytes included, so that a sloppy multipart encoder would show.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 9 + b"\r\n--\r\n\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(reversed(range(256))) * 7 + b"IEND"
JPEG_BACK = b"\xff\xd8\xff\xdb" + b"\x00\r\n\x01" * 300 + b"\xff\xd9"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"


def config(**overrides: Any) -> SofiaConfig:
    """A config with the test credentials."""
    values: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "tenant_id": TENANT,
        "base_url": API,
    }
    values.update(overrides)
    return SofiaConfig(**values)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer."""
    return Response(
        status,
        headers={"Content-Type": "application/json", **(headers or {})},
        content=json.dumps(payload).encode(),
    )


def created(transaction_id: str = "txn-987654") -> dict[str, Any]:
    """The documented ``create_signature`` answer."""
    return {
        "transaction_id": transaction_id,
        "status": "PENDING_OTP",
        "timestamp": "2025-09-05T21:12:00Z",
        "storage_paths": {
            "user_selfie": "https://storage.example.com/selfie.jpg",
            "image_front": "https://storage.example.com/id_front.jpg",
            "image_back": None,
            "document_sign": "https://storage.example.com/contract.pdf",
        },
    }


def signed(
    transaction_id: str = "txn-987654",
    url: str = "https://storage.example.com/signed_contract.pdf",
    signature_hash: str = "x9y8z7w6v5u4t3s2",
) -> dict[str, Any]:
    """The documented ``sign_document`` answer."""
    return {
        "transaction_id": transaction_id,
        "status": "SIGNED",
        "signed_document_url": url,
        "signature_hash": signature_hash,
        "timestamp": "2025-09-05T21:14:00Z",
        "trace_log_id": "654321",
    }


def signed_pdf(signature_hash: str | None) -> bytes:
    """A real one-page PDF, with ``/SignatureHash`` in its Info dict when given."""
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if signature_hash is not None:
        writer.add_metadata({"/SignatureHash": signature_hash, "/Producer": "S.O.F.I.A. test"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def parse_multipart(content_type: str, body: bytes) -> list[EmailMessage]:
    """Split a multipart/form-data body into its parts with the stdlib parser."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    assert isinstance(message, EmailMessage)
    assert message.is_multipart(), "not a multipart body"
    assert not message.defects, message.defects
    parts = message.get_payload()
    assert isinstance(parts, list)
    return parts


def part_name(part: EmailMessage) -> str:
    """The ``name`` of a form-data part."""
    name = part.get_param("name", header="content-disposition")
    assert isinstance(name, str)
    return name


def with_info_update(pdf: bytes, entries: Mapping[str, str]) -> bytes:
    """Append a hand-written incremental update whose new Info dict holds ``entries``.

    This is how a signing service stamps a finished PDF without rewriting it:
    the original bytes stay as they are, a new revision overrides the Info.
    """
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    size = int(reader.trailer["/Size"])
    root = reader.trailer.raw_get("/Root").idnum
    previous = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    base = pdf if pdf.endswith(b"\n") else pdf + b"\n"
    body = " ".join(f"{key} ({value})" for key, value in entries.items())
    obj = f"{size} 0 obj\n<< {body} >>\nendobj\n".encode()
    xref_at = len(base) + len(obj)
    tail = (
        f"xref\n{size} 1\n{len(base):010d} 00000 n \n"
        f"trailer\n<< /Size {size + 1} /Root {root} 0 R /Info {size} 0 R /Prev {previous} >>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    ).encode()
    return base + obj + tail
