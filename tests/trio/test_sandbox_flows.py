"""Every provider through the real sandbox on HttpxTransport, under asyncio and trio alike.

The sandbox serves from its own asyncio loop in a background thread (see
``conftest.py``); each test reaches its request log and signer helpers
through that loop, or through its ``/_sandbox/`` control routes over HTTP.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import pytest
import sniffio

import signing_async as sa
from signing_async.sandbox import Fault, Sandbox, samples

from .conftest import ThreadedSandbox

pytestmark = pytest.mark.anyio

WAIT = 20.0
"""An upper bound on each test's SDK calls: a hang fails the test instead of stalling the run."""

CIRCUIT_SIGNER = sa.CircuitSigner(name="Ana Pérez", email="ana@example.com", nif="12345678Z")
SIGNERS = [
    sa.Signer(role="Client", name="Ana Pérez", email="ana@example.com"),
    sa.Signer(role="Provider", name="Luis Gómez", email="luis@example.com"),
]
PLACEHOLDERS = [
    sa.Placeholder(
        role=role,
        widgets=[sa.Widget(type="signature", page=1, x=x, y=520, w=200, h=60)],
    )
    for role, x in (("Client", 72), ("Provider", 320))
]


def on_backend(anyio_backend: str) -> None:
    """Fail unless the test runs on the event loop its id names."""
    # Were pytest-asyncio in auto mode, it would run the [trio] variant on asyncio.
    assert sniffio.current_async_library() == anyio_backend


def listing(folder: Path) -> list[str]:
    """The names in ``folder``, hidden ones included, sorted."""
    return sorted(path.name for path in folder.iterdir())


def statuses(sandbox: Sandbox, route: str) -> list[int | None]:
    """The statuses the sandbox answered on ``route``, in order (run on its loop)."""
    return [entry.status for entry in sandbox.requests_for(route)]


async def test_danaconnect_start_complete_download(
    anyio_backend: str, sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    on_backend(anyio_backend)
    contract = samples.write_pdf(tmp_path / "contract.pdf", pages=2, text="Contract")
    annex = samples.make_pdf(text="Annex")
    target = tmp_path / "signed.zip"

    with anyio.fail_after(WAIT):
        async with sandbox.client() as client:
            circuit = await client.circuits.start(
                id="trio-1", signer=CIRCUIT_SIGNER, docs=[contract, sa.Document(annex, "annex.pdf")]
            )
            with pytest.raises(sa.ConflictError):  # nobody has signed yet
                await client.circuits.download_to(circuit.circuit_id, target)
            # The signer's part, done in-process on the sandbox's own loop.
            await sandbox.run(lambda sb: sb.complete_circuit(circuit.circuit_id))
            downloaded = await client.circuits.download_to(circuit.circuit_id, target)

    assert circuit.circuit_id.isdigit()
    content = target.read_bytes()
    assert downloaded.size == len(content)
    assert downloaded.sha256 == hashlib.sha256(content).hexdigest()
    with zipfile.ZipFile(target) as archive:
        assert archive.read("contract.pdf").startswith(contract.read_bytes())
        assert archive.read("annex.pdf").startswith(annex)
    assert listing(tmp_path) == ["contract.pdf", "signed.zip"]
    assert await sandbox.call(lambda sb: statuses(sb, "danaconnect.token")) == [200]
    assert await sandbox.call(lambda sb: statuses(sb, "danaconnect.start_circuit")) == [200]
    assert await sandbox.call(lambda sb: statuses(sb, "danaconnect.download")) == [409, 200]


async def test_danasign_contacts_create_batch_and_paginated_list(
    anyio_backend: str, sandbox: ThreadedSandbox
) -> None:
    on_backend(anyio_backend)
    with anyio.fail_after(WAIT):
        async with sandbox.client() as client:
            single = await client.contacts.create(name="Ana Pérez", email="ana@example.com")
            batch = await client.contacts.create_batch(
                [
                    sa.NewContact(name=f"Person {n:02d}", email=f"person{n:02d}@example.com")
                    for n in range(24)
                ]
            )
            listed = [contact async for contact in client.contacts.list(page_size=10)]

    assert single.object_id
    assert (batch.success, batch.failed) == (24, 0)
    assert len(listed) == 25
    assert len({contact.object_id for contact in listed}) == 25
    assert {contact.email for contact in listed} == {"ana@example.com"} | {
        f"person{n:02d}@example.com" for n in range(24)
    }
    pages = await sandbox.call(lambda sb: sb.requests_for("danasign.contacts.list"))
    assert [(entry.query["limit"], entry.query["skip"]) for entry in pages] == [
        ("10", "0"),
        ("10", "10"),
        ("10", "20"),
    ]


async def test_danasign_documents_with_two_signers_listed_by_status(
    anyio_backend: str, sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    on_backend(anyio_backend)
    on_disk = samples.write_pdf(tmp_path / "contract.pdf", pages=2, text="Contract")
    in_memory = sa.Document(samples.make_pdf(text="Terms"), "terms.pdf")

    with anyio.fail_after(WAIT):
        async with sandbox.client() as client:
            created = [
                await client.documents.create(
                    file=on_disk if number == 0 else in_memory,
                    title=f"Contract {number}",
                    signers=SIGNERS,
                    placeholders=PLACEHOLDERS,
                    metadata=sa.DocumentMetadata(external_id=f"trio-doc-{number}"),
                )
                for number in range(3)
            ]
            signed = created[0].document_id
            await sandbox.call(lambda sb: sb.set_document_status(signed, "completed"))
            sent = [doc async for doc in client.documents.list(sa.DocumentStatus.SENT, page_size=1)]
            completed = [doc async for doc in client.documents.list(sa.DocumentStatus.COMPLETED)]

    assert {doc.status for doc in created} == {"sent"}
    assert sorted(doc.document_id for doc in sent) == sorted(d.document_id for d in created[1:])
    assert [doc.document_id for doc in completed] == [created[0].document_id]
    counts = await sandbox.call(lambda sb: [sb.created_count(f"trio-doc-{n}") for n in range(3)])
    assert counts == [1, 1, 1]
    creations = await sandbox.call(lambda sb: sb.requests_for("danasign.createdocument"))
    assert [entry.external_id for entry in creations] == ["trio-doc-0", "trio-doc-1", "trio-doc-2"]
    # The file went as Base64 inside JSON, streamed from disk with an exact length.
    assert creations[0].body_size > on_disk.stat().st_size * 4 // 3
    # A document a page: two full pages, then an empty one ends the listing.
    pages = await sandbox.call(lambda sb: sb.requests_for("danasign.documentlist"))
    sent_pages = [(e.query["limit"], e.query["skip"]) for e in pages if e.path.endswith("/sent")]
    assert sent_pages == [("1", "0"), ("1", "1"), ("1", "2")]


async def test_danasign_template_get_and_create_from_it(
    anyio_backend: str, sandbox: ThreadedSandbox
) -> None:
    on_backend(anyio_backend)
    with anyio.fail_after(WAIT):
        async with sandbox.client() as client:
            (nda,) = [template async for template in client.templates.list(search="nda")]
            template = await client.templates.get(nda.object_id)
            document = await client.documents.create_from_template(
                nda.object_id,
                signers=[
                    sa.TemplateSigner(role="Party A", name="Ana Pérez", email="ana@example.com"),
                    sa.TemplateSigner(role="Party B", name="Luis Gómez", email="luis@example.com"),
                ],
                metadata=sa.DocumentMetadata(external_id="trio-tpl"),
            )
            drafts = [doc async for doc in client.documents.list(sa.DocumentStatus.DRAFT)]

    assert template.object_id == nda.object_id
    assert len(template.placeholders) == 2
    assert document.template_id == nda.object_id
    assert document.status == "draft"
    assert [doc.document_id for doc in drafts] == [document.document_id]
    assert await sandbox.call(lambda sb: sb.created_count("trio-tpl")) == 1


@pytest.mark.parametrize("encoding", ["multipart", "json"])
async def test_sofia_create_sign_and_download_from_the_storage_host(
    anyio_backend: str, sandbox: ThreadedSandbox, tmp_path: Path, encoding: str
) -> None:
    on_backend(anyio_backend)
    contract = samples.write_pdf(tmp_path / "contract.pdf", text="Contract")
    target = tmp_path / "signed.pdf"
    credentials = sandbox.credentials
    config = sa.SofiaConfig(
        client_id=credentials.sofia_client_id,
        client_secret=credentials.sofia_client_secret,
        tenant_id=credentials.sofia_tenant_id,
        base_url=sandbox.url,
        upload_encoding=encoding,  # type: ignore[arg-type]
    )

    with anyio.fail_after(WAIT):
        async with sandbox.client(sofia=config) as client, httpx.AsyncClient() as http:
            pending = await client.otp_signatures.create(
                transaction_id="txn-trio",
                user_selfie=samples.make_jpeg(),
                image_front=samples.make_png(),
                document_sign=contract,
                phone="+573001234567",
                email="ana@example.com",
            )
            # The code the signer would receive, from the control route.
            answer = await http.get(f"{sandbox.url}/_sandbox/otp/txn-trio")
            otp = answer.raise_for_status().json()["otp_code"]
            signature = await client.otp_signatures.sign("txn-trio", otp)
            downloaded = await client.otp_signatures.download_signed(signature, target)

    assert pending.status == "PENDING_OTP"
    assert signature.status == "SIGNED"
    # Another origin than the API's: same port, another host name.
    assert urlsplit(sandbox.url).hostname == "127.0.0.1"
    assert urlsplit(signature.signed_document_url).hostname == "localhost"
    assert signature.signed_document_url.startswith(sandbox.storage_url)
    content = target.read_bytes()
    assert content.startswith(contract.read_bytes())
    assert downloaded.hash_verified is True
    assert downloaded.size == len(content)
    assert downloaded.sha256 == hashlib.sha256(content).hexdigest()
    assert listing(tmp_path) == ["contract.pdf", "signed.pdf"]
    (create,) = await sandbox.call(lambda sb: sb.requests_for("sofia.create_signature"))
    expected = "multipart/form-data" if encoding == "multipart" else "application/json"
    assert create.headers["Content-Type"].startswith(expected)
    (storage,) = await sandbox.call(lambda sb: sb.requests_for("sofia.storage"))
    assert storage.status == 200
    assert "Authorization" not in storage.headers  # credentials stay with the API host


def document(index: int, pdf: bytes) -> dict[str, Any]:
    """The keyword arguments of one ``documents.create`` call, external id ``bulk-{index}``."""
    return {
        "file": pdf,
        "title": f"Contract {index}",
        "signers": [{"role": "Client", "name": "Ana", "email": f"ana{index}@example.com"}],
        "placeholders": [{"role": "Client", "widgets": [PLACEHOLDERS[0].widgets[0]]}],
        "metadata": {"external_id": f"bulk-{index}"},
    }


async def test_a_bulk_run_with_a_journal_creates_each_document_once(
    anyio_backend: str, sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    on_backend(anyio_backend)
    count = 12
    pdf = samples.make_pdf(text="Bulk")
    items = [document(index, pdf) for index in range(count)]
    journal = tmp_path / "documents.db"
    route = "danasign.createdocument"
    # Two refusals to retry: the backoff sleeps run on the test's loop.
    await sandbox.call(lambda sb: sb.faults.add(Fault(route=route, status=503, times=2)))

    with anyio.fail_after(WAIT):
        async with sandbox.client() as client:
            run = client.documents.create_many(items, concurrency=4, journal=journal)
            async with run as outcomes:
                first = [outcome async for outcome in outcomes]
            # Run again on the same journal: everything is done already.
            rerun = client.documents.create_many(items, concurrency=4, journal=journal)
            async with rerun as outcomes:
                second = [outcome async for outcome in outcomes]

    assert sorted(outcome.index for outcome in first) == list(range(count))
    assert {outcome.status for outcome in first} == {"succeeded"}
    assert {outcome.key for outcome in first} == {f"bulk-{index}" for index in range(count)}
    assert all(outcome.result is not None for outcome in first)
    assert {outcome.status for outcome in second} == {"skipped"}
    assert len(second) == count
    counts = await sandbox.call(lambda sb: [sb.created_count(f"bulk-{i}") for i in range(count)])
    assert counts == [1] * count
    assert Counter(await sandbox.call(lambda sb: statuses(sb, route))) == {503: 2, 200: count}
    assert 1 <= await sandbox.call(lambda sb: sb.max_in_flight(route)) <= 4
