"""The providers' bulk operations, as one table for the tests that hold for every provider.

Each row says which client namespace and ``*_many`` method a provider's bulk
run goes through, how to make its item ``index``, which attribute of a result
identifies the created object, and which sandbox route creates one (the
sandbox's request log counts what it created there).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

import signing_async as sa
from signing_async.sandbox import Sandbox, samples

SIGNATURE = {"type": "signature", "page": 1, "x": 100, "y": 700, "w": 200, "h": 50}


@attrs.frozen
class BulkProvider:
    """One provider's bulk operation."""

    name: str
    namespace: str
    method: str
    item: Callable[[int, Path], dict[str, Any]]
    """The keyword arguments of item ``index`` (its files written under the folder)."""
    key: Callable[[int], str]
    """Item ``index``'s key (what a journal records it by)."""
    result_id: str
    """The attribute of a result naming the object created."""
    route: str
    """The sandbox route of the single-item call."""

    def many(self, client: sa.SigningClient) -> Callable[..., sa.BulkRun[Any]]:
        """The provider's ``*_many`` method on ``client``."""
        method: Callable[..., sa.BulkRun[Any]] = getattr(
            getattr(client, self.namespace), self.method
        )
        return method

    def created(self, sandbox: Sandbox) -> int:
        """How many objects the sandbox created on this route (its 2xx answers)."""
        return sum(
            entry.status is not None and 200 <= entry.status < 300
            for entry in sandbox.requests_for(self.route)
        )


def _circuit(index: int, folder: Path) -> dict[str, Any]:
    return {
        "id": f"c-{index}",
        "signer": {"name": f"Signer {index}", "email": f"s{index}@example.com", "nif": f"N{index}"},
        "docs": [samples.write_pdf(folder / f"contract-{index}.pdf")],
    }


def _document(index: int, folder: Path) -> dict[str, Any]:
    return {
        "file": samples.write_pdf(folder / f"contract-{index}.pdf"),
        "title": f"Contract {index}",
        "signers": [{"role": "Client", "name": "Ana", "email": f"ana{index}@example.com"}],
        "placeholders": [{"role": "Client", "widgets": [SIGNATURE]}],
        "metadata": {"external_id": f"doc-{index}"},
    }


def _otp_signature(index: int, folder: Path) -> dict[str, Any]:
    selfie, front = folder / "selfie.jpg", folder / "front.png"
    if not selfie.exists():
        selfie.write_bytes(samples.make_jpeg())
        front.write_bytes(samples.make_png())
    return {
        "transaction_id": f"txn-{index}",
        "user_selfie": selfie,
        "image_front": front,
        "document_sign": samples.write_pdf(folder / f"contract-{index}.pdf"),
        "phone": "+573001234567",
        "email": f"user{index}@example.com",
    }


BULK_PROVIDERS = [
    BulkProvider(
        name="danaconnect",
        namespace="circuits",
        method="start_many",
        item=_circuit,
        key=lambda index: f"c-{index}",
        result_id="circuit_id",
        route="danaconnect.start_circuit",
    ),
    BulkProvider(
        name="danasign",
        namespace="documents",
        method="create_many",
        item=_document,
        key=lambda index: f"doc-{index}",
        result_id="document_id",
        route="danasign.createdocument",
    ),
    BulkProvider(
        name="sofia",
        namespace="otp_signatures",
        method="create_many",
        item=_otp_signature,
        key=lambda index: f"txn-{index}",
        result_id="transaction_id",
        route="sofia.create_signature",
    ),
]
