"""Helpers shared by the sandbox tests (a unique module name: conftest is not importable safely)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

TokenFactory = Callable[[], Awaitable[str]]


def basic(user: str, password: str) -> str:
    """A Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def widget(**changes: object) -> dict[str, object]:
    """A DANAsign signature widget on page 1."""
    return {"type": "signature", "page": 1, "x": 120, "y": 520, "w": 220, "h": 60, **changes}


def valid_bodies(pdf: bytes, jpeg: bytes) -> dict[str, dict[str, Any]]:
    """A valid JSON body for each provider route that takes one, by route name.

    Transaction ids, contact e-mails and references repeat: a second use of a
    body may be refused as a duplicate, which is a 4xx like any other.
    """
    return {
        "danaconnect.start_circuit": {
            "id": "ref-1",
            "signer": {"name": "Jhon Doe", "email": "john@example.com", "nif": "12345678A"},
            "docs": [{"name": "doc.pdf", "size": len(pdf), "content": _b64(pdf)}],
        },
        "danasign.contacts.create": {"name": "Ana", "email": "ana@example.com", "phone": "555"},
        "danasign.contacts.batch": {"contacts": [{"Name": "Luis", "Email": "luis@example.com"}]},
        "danasign.createdocument": {
            "file": _b64(pdf),
            "filename": "contrato.pdf",
            "title": "Contrato",
            "signers": [
                {
                    "role": "R1",
                    "name": "María",
                    "email": "maria@example.com",
                    "identityVerification": {"enabled": True, "threshold": 85},
                }
            ],
            "placeholders": [{"role": "R1", "widgets": [widget()]}],
            "prefill": [{**widget(type="textbox"), "options": {"name": "cliente", "fontSize": 10}}],
            "settings": {"sendInOrder": True, "timeToCompleteDays": 12},
            "metadata": {"externalId": "DOC-1", "tags": ["a"]},
        },
        "danasign.createdocument_template": {
            "signers": [{"role": "Party A", "name": "Ana", "email": "ana@example.com"}],
            "defaults": [{"name": "company", "default": "ACME"}],
            "metadata": {"externalId": "TPL-1"},
        },
        "sofia.create_signature": {
            "tenant_id": "sandbox-tenant",
            "transaction_id": "txn-1",
            "phone": "+573001234567",
            "email": "user@example.com",
            "user_selfie": _b64(jpeg),
            "image_front": _b64(jpeg),
            "document_sign": _b64(pdf),
        },
        "sofia.sign_document": {"transaction_id": "txn-1", "otp_code": "123456"},
    }
