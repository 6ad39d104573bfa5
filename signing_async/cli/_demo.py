"""``signing-async demo``: every provider's flow against an embedded sandbox.

It needs no configuration and no network: the sandbox listens on loopback,
the sample PDFs and images are generated, and everything is written to a
temporary folder that is removed afterwards (unless ``--keep`` names one).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import click

from .._client import SigningClient
from .._core.sources import Document
from ..danaconnect import CircuitSigner
from ..danasign import DocumentMetadata, NewContact, Placeholder, Signer, TemplateSigner, Widget
from ..danasign.units import PageSize, mm_to_points
from ..sandbox import Sandbox, samples
from ._common import json_option, run_async
from ._output import Output
from ._progress import BulkProgressBar

__all__ = ["demo"]


async def _danaconnect(out: Output, client: SigningClient, sb: Sandbox, folder: Path) -> None:
    docs = [samples.write_pdf(folder / f"circuit-{n}.pdf", pages=2) for n in (1, 2)]
    circuit = await client.circuits.start(
        id="demo-circuit-1",
        signer=CircuitSigner(name="Ana Pérez", email="ana@example.com", nif="12345678A"),
        docs=docs,
    )
    out.step(
        f"DANAconnect: circuit {circuit.circuit_id} started with {len(docs)} PDFs; "
        f"signer link {circuit.link}",
        circuit_id=circuit.circuit_id,
    )
    await sb.complete_circuit(circuit.circuit_id)
    signed = await client.circuits.download_to(circuit.circuit_id, folder / "circuit-signed.zip")
    out.step(
        f"DANAconnect: signer finished; signed ZIP downloaded ({signed.size} bytes, "
        f"sha256 {signed.sha256[:12]}…)",
        size=signed.size,
        sha256=signed.sha256,
    )


async def _danasign(out: Output, client: SigningClient, folder: Path) -> None:
    batch = await client.contacts.create_batch(
        [
            NewContact("Ana Pérez", "ana@example.com", "+34600000001"),
            NewContact("Bruno Díaz", "bruno@example.com"),
            NewContact("Carla Gómez", "carla@example.com"),
        ]
    )
    out.step(f"DANAsign: contacts batch: {batch.success} created, {batch.failed} failed")
    contract = samples.write_pdf(folder / "service-contract.pdf", pages=2)
    width, height = PageSize.A4
    box_w, box_h = mm_to_points(60), mm_to_points(20)
    created = await client.documents.create(
        file=contract,
        title="Service contract",
        signers=[
            Signer(role="Client", name="Ana Pérez", email="ana@example.com"),
            Signer(role="Provider", name="Bruno Díaz", email="bruno@example.com"),
        ],
        placeholders=[
            Placeholder(
                "Client", [Widget("signature", 2, mm_to_points(20), height - 150, box_w, box_h)]
            ),
            Placeholder(
                "Provider",
                [Widget("signature", 2, width - mm_to_points(80), height - 150, box_w, box_h)],
            ),
        ],
        metadata=DocumentMetadata(external_id="demo-contract-1", tags=("demo",)),
    )
    out.step(f"DANAsign: document {created.document_id} sent to 2 signers ({created.status})")
    templates = (await client.templates.list().first_page()).items
    template = await client.templates.get(templates[0].object_id)
    # A template's roles live in its placeholders.
    roles = [block.role for block in template.placeholders if block.role]
    people = [("Carla Gómez", "carla@example.com"), ("Bruno Díaz", "bruno@example.com")]
    from_template = await client.documents.create_from_template(
        template.object_id,
        signers=[
            TemplateSigner(role=role, name=name, email=email)
            for role, (name, email) in zip(roles, people, strict=False)
        ],
        metadata=DocumentMetadata(external_id="demo-template-1"),
    )
    out.step(
        f"DANAsign: document {from_template.document_id} created from template "
        f"'{template.name}' ({from_template.status})"
    )
    sent = [doc.title async for doc in client.documents.list("sent")]
    out.step(f"DANAsign: {len(sent)} document(s) with status 'sent': {', '.join(map(str, sent))}")


async def _sofia(out: Output, client: SigningClient, sb: Sandbox, folder: Path) -> None:
    request = await client.otp_signatures.create(
        transaction_id="demo-otp-1",
        user_selfie=Document(samples.make_jpeg(), "selfie.jpg"),
        image_front=Document(samples.make_png(), "id-front.png"),
        image_back=Document(samples.make_png(), "id-back.png"),
        document_sign=samples.write_pdf(folder / "otp-contract.pdf"),
        phone="+34600000001",
        email="ana@example.com",
    )
    out.step(f"S.O.F.I.A.: transaction {request.transaction_id} is {request.status}")
    signature = await client.otp_signatures.sign(
        request.transaction_id, sb.otp(request.transaction_id)
    )
    signed = await client.otp_signatures.download_signed(signature, folder / "otp-signed.pdf")
    verified = "hash verified" if signed.hash_verified else "hash not checked"
    out.step(
        f"S.O.F.I.A.: signed with the OTP; signed PDF downloaded ({signed.size} bytes, {verified})",
        hash_verified=signed.hash_verified,
    )


def _bulk_items(folder: Path, count: int) -> Iterator[dict[str, Any]]:
    """The bulk job's items, each PDF written only when the engine pulls its item."""
    folder.mkdir(exist_ok=True)
    for index in range(1, count + 1):
        name = f"contract-{index:04d}"
        yield {
            "file": samples.write_pdf(folder / f"{name}.pdf", text=f"Contract {index}"),
            "title": f"Contract {index:04d}",
            "signers": [
                Signer(role="Client", name=f"Client {index}", email=f"c{index}@example.com")
            ],
            "placeholders": [Placeholder("Client", [Widget("signature", 1, 72, 600, 170, 57)])],
            "metadata": DocumentMetadata(external_id=f"demo-bulk-{index:04d}"),
        }


async def _bulk(
    out: Output, client: SigningClient, sb: Sandbox, folder: Path, *, count: int, concurrency: int
) -> int:
    journal = folder / "bulk-journal.db"
    for attempt in ("send", "rerun"):
        statuses: Counter[str] = Counter()
        bar = BulkProgressBar("documents", total=count, console=out.console, fancy=out.fancy)
        run = client.documents.create_many(
            _bulk_items(folder / "bulk", count),
            concurrency=concurrency,
            journal=journal,
            progress=None if out.json_mode else bar,
        )
        with bar if not out.json_mode else contextlib.nullcontext():
            async with run as outcomes:
                async for outcome in outcomes:
                    statuses[outcome.status] += 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        if attempt == "send":
            twice = sum(sb.created_count(f"demo-bulk-{i:04d}") > 1 for i in range(1, count + 1))
            out.step(
                f"DANAsign bulk: {count} documents at concurrency {concurrency}: {summary}; "
                f"created twice: {twice}",
                **statuses,
            )
        else:
            out.step(f"DANAsign bulk, same job again with its journal: {summary}", **statuses)
        if statuses["failed"] or statuses["uncertain"]:
            return 1
    return 0


async def _run(out: Output, folder: Path, *, count: int, concurrency: int) -> int:
    started = time.monotonic()
    async with Sandbox() as sb, sb.client() as client:
        out.step(f"sandbox listening on {sb.url}", url=sb.url)
        await _danaconnect(out, client, sb, folder)
        await _danasign(out, client, folder)
        await _sofia(out, client, sb, folder)
        status = await _bulk(out, client, sb, folder, count=count, concurrency=concurrency)
        routes = Counter(entry.route for entry in sb.requests if entry.route != "control")
        statuses = Counter(str(entry.status) for entry in sb.requests if entry.route != "control")
    out.table(
        "requests the sandbox served",
        ["route", "requests"],
        sorted(routes.items()),
    )
    out.step(
        f"done in {time.monotonic() - started:.1f} s: {sum(routes.values())} requests "
        f"({', '.join(f'{n} x {code}' for code, n in sorted(statuses.items()))})"
    )
    return status


@click.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the generated and downloaded files in this folder.",
)
@click.option(
    "--count",
    default=200,
    show_default=True,
    type=click.IntRange(min=1),
    help="Documents in the bulk send.",
)
@click.option(
    "--concurrency",
    default=16,
    show_default=True,
    type=click.IntRange(min=1, max=256),  # as bulk-send's
    help="Requests in flight during the bulk send.",
)
@json_option
@run_async
async def demo(out: Output, keep: Path | None, count: int, concurrency: int) -> int:
    """Run every provider's flow and a bulk send against an embedded sandbox.

    No setup, no network: the sandbox listens on loopback and the PDFs are
    generated. The bulk send runs twice with one journal: the second run
    skips every document the first one created.
    """
    if keep is not None:
        await anyio.Path(keep).mkdir(parents=True, exist_ok=True)
        return await _run(out, keep, count=count, concurrency=concurrency)
    with tempfile.TemporaryDirectory(prefix="signing-async-demo-") as folder:
        return await _run(out, Path(folder), count=count, concurrency=concurrency)
