"""Helpers of the bulk integration tests (also imported by ``documents_child.py``): documents."""

from __future__ import annotations

from typing import Any

from signing_async.sandbox import samples

API_TOKEN = "sandbox-api-token"  # the sandbox's fixed, public test token
PDF = samples.make_pdf(text="kill test")
"""The document every item of the kill test sends, in the child and in the rerun."""

SIGNATURE = {"type": "signature", "page": 1, "x": 100, "y": 700, "w": 200, "h": 50}


def document(index: int, pdf: bytes) -> dict[str, Any]:
    """The keyword arguments of one documents.create call, external id ``ext-{index}``."""
    return {
        "file": pdf,
        "title": f"Contract {index}",
        "signers": [{"role": "Client", "name": "Ana", "email": f"ana{index}@example.com"}],
        "placeholders": [{"role": "Client", "widgets": [SIGNATURE]}],
        "metadata": {"external_id": f"ext-{index}"},
    }
