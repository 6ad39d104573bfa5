"""Bad input is refused before anything is sent, naming the field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import signing_async as sa

GOOD_SIGNER = {"name": "Ana", "email": "ana@example.com", "nif": "12345678Z"}


def signer(**changes: str) -> dict[str, str]:
    return {**GOOD_SIGNER, **changes}


async def expect_rejected(
    client: sa.SigningClient, transport: sa.MockTransport, field: str, **kwargs: Any
) -> sa.ValidationError:
    arguments: dict[str, Any] = {"id": "1", "signer": GOOD_SIGNER, **kwargs}
    with pytest.raises(sa.ValidationError) as caught:
        await client.circuits.start(**arguments)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.field == field
    assert str(error).startswith(f"{field}: ")
    assert transport.requests == []
    return error


@pytest.mark.parametrize(
    ("docs", "field", "problem"),
    [
        ([], "docs", "at least one document"),
        (b"", "docs[0]", "empty"),
        ([sa.Document(b"", "empty.pdf")], "docs[0]", "empty"),
        (b"PK\x03\x04 a zip", "docs[0]", "not a PDF"),
        ([sa.Document(b"hello", "hello.pdf")], "docs[0]", "hello.pdf is not a PDF"),
        ([b"%PDF-1.4 ok", b"%PDX"], "docs[1]", "not a PDF"),
        ([42], "docs[0]", "expected a path, bytes or Document, not int"),
    ],
)
async def test_bad_documents(
    client: sa.SigningClient,
    transport: sa.MockTransport,
    docs: Any,
    field: str,
    problem: str,
) -> None:
    error = await expect_rejected(client, transport, field, docs=docs)
    assert problem in error.problem


async def test_documents_on_disk(
    client: sa.SigningClient, transport: sa.MockTransport, tmp_path: Path, pdf_bytes: bytes
) -> None:
    missing = tmp_path / "missing.pdf"
    error = await expect_rejected(client, transport, "docs[0]", docs=missing)
    assert "no such file" in error.problem
    assert "missing.pdf" in error.problem

    (tmp_path / "empty.pdf").write_bytes(b"")
    error = await expect_rejected(client, transport, "docs[0]", docs=[tmp_path / "empty.pdf"])
    assert "empty" in error.problem

    (tmp_path / "notes.txt").write_text("hello")
    error = await expect_rejected(
        client, transport, "docs[1]", docs=[pdf_bytes, str(tmp_path / "notes.txt")]
    )
    assert "notes.txt is not a PDF" in error.problem

    error = await expect_rejected(client, transport, "docs[0]", docs=[tmp_path])
    assert "directory" in error.problem


@pytest.mark.parametrize(
    ("who", "field"),
    [
        (signer(name=""), "signer.name"),
        (signer(name="   "), "signer.name"),
        (signer(nif=""), "signer.nif"),
        (signer(email=""), "signer.email"),
        (signer(email="ana@"), "signer.email"),
        (signer(email="ana example@example.com"), "signer.email"),
        (signer(email="@example.com"), "signer.email"),
        (signer(email="ana@example"), "signer.email"),
        ({"name": "Ana", "email": "ana@example.com"}, "signer.nif"),
        ({**GOOD_SIGNER, "phone": "1"}, "signer.phone"),
        (sa.CircuitSigner(name="Ana", email="nope", nif="1"), "signer.email"),
        ("Ana <ana@example.com>", "signer"),
    ],
)
async def test_bad_signer(
    client: sa.SigningClient,
    transport: sa.MockTransport,
    pdf_bytes: bytes,
    who: Any,
    field: str,
) -> None:
    await expect_rejected(client, transport, field, signer=who, docs=pdf_bytes)


@pytest.mark.parametrize("circuit_id", ["", "  ", None])
async def test_bad_circuit_id(
    client: sa.SigningClient, transport: sa.MockTransport, pdf_bytes: bytes, circuit_id: Any
) -> None:
    await expect_rejected(client, transport, "id", id=circuit_id, docs=pdf_bytes)


async def test_bad_download_id(
    client: sa.SigningClient, transport: sa.MockTransport, tmp_path: Path
) -> None:
    with pytest.raises(sa.ValidationError, match="circuit_id"):
        await client.circuits.download_to("", tmp_path / "x.zip")
    with pytest.raises(sa.ValidationError, match="circuit_id"):
        async with client.circuits.download(" "):
            pass  # pragma: no cover - never entered
    assert transport.requests == []
    assert os.listdir(tmp_path) == []
