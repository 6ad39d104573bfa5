"""Single operations from a terminal, configured by ``SIGNING_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

import click

from ..danaconnect import CircuitSigner
from ..danasign import DocumentMetadata, DocumentStatus, Placeholder, Signer, Widget
from ._common import UsageError, client_from_env, json_option, run_async
from ._output import Output, jsonable

__all__ = ["circuits", "contacts", "documents", "otp", "templates"]

_file = click.Path(exists=True, dir_okay=False, path_type=Path)

# The providers' own bounds: refused here, as bad usage, before any request.
_page_size = click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)


@click.group()
def circuits() -> None:
    """DANAconnect biometric circuits."""


@circuits.command("start")
@click.option("--id", "circuit_id", required=True, help="Your id for the circuit.")
@click.option("--name", required=True, help="The signer's full name.")
@click.option("--email", required=True, help="The signer's e-mail.")
@click.option("--nif", required=True, help="The signer's tax id.")
@click.argument("documents", nargs=-1, required=True, type=_file)
@json_option
@run_async
async def circuits_start(
    out: Output, circuit_id: str, name: str, email: str, nif: str, documents: tuple[Path, ...]
) -> None:
    """Start a circuit for one signer with DOCUMENTS (PDF files)."""
    async with client_from_env("danaconnect") as client:
        circuit = await client.circuits.start(
            id=circuit_id, signer=CircuitSigner(name, email, nif), docs=list(documents)
        )
    out.result(circuit)


@circuits.command("download")
@click.argument("circuit_id")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@run_async
async def circuits_download(out: Output, circuit_id: str, output: Path) -> None:
    """Download a completed circuit's signed documents (a ZIP) to OUTPUT."""
    async with client_from_env("danaconnect") as client:
        result = await client.circuits.download_to(circuit_id, output)
    out.result(result)


@click.group()
def documents() -> None:
    """DANAsign documents."""


def _split(value: str, count: int, option: str) -> list[str]:
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != count:
        raise UsageError(option, f"expected {count} comma-separated values, got {value!r}")
    return parts


@documents.command("create")
@click.argument("file", type=_file)
@click.option("--title", required=True)
@click.option(
    "--signer",
    "signers",
    multiple=True,
    required=True,
    metavar="ROLE,NAME,EMAIL",
    help="A signer (repeat for several).",
)
@click.option(
    "--signature",
    "signatures",
    multiple=True,
    required=True,
    metavar="ROLE,PAGE,X,Y,W,H",
    help="A signature box in points from the page's top-left corner (repeat).",
)
@click.option("--external-id", help="Your id for the document (metadata.externalId).")
@json_option
@run_async
async def documents_create(
    out: Output,
    file: Path,
    title: str,
    signers: tuple[str, ...],
    signatures: tuple[str, ...],
    external_id: str | None,
) -> None:
    """Create a document from a PDF FILE and send it for signature."""
    people = []
    for value in signers:
        role, name, email = _split(value, 3, "--signer")
        people.append(Signer(role=role, name=name, email=email))
    boxes: dict[str, list[Widget]] = {}
    for value in signatures:
        role, *numbers = _split(value, 6, "--signature")
        try:
            page, x, y, w, h = (int(number) for number in numbers)
        except ValueError:
            raise UsageError("--signature", f"PAGE,X,Y,W,H must be integers: {value!r}") from None
        boxes.setdefault(role, []).append(Widget("signature", page, x, y, w, h))
    async with client_from_env("danasign") as client:
        created = await client.documents.create(
            file=file,
            title=title,
            signers=people,
            placeholders=[Placeholder(role, widgets) for role, widgets in boxes.items()],
            metadata=DocumentMetadata(external_id) if external_id else None,
        )
    out.result(created)


@documents.command("list")
@click.argument(
    "status", type=click.Choice([status.value for status in DocumentStatus]), metavar="STATUS"
)
@_page_size
@json_option
@run_async
async def documents_list(out: Output, status: str, page_size: int) -> None:
    """List documents in STATUS: draft, signaturerequest, inprogress, completed, expired,
    declined or sent."""
    async with client_from_env("danasign") as client:
        rows = [
            (doc.document_id, doc.title, doc.status, doc.created_at)
            async for doc in client.documents.list(status, page_size=page_size)
        ]
    out.table(f"documents ({status})", ["id", "title", "status", "created"], rows)


@click.group()
def contacts() -> None:
    """DANAsign contacts."""


@contacts.command("list")
@click.option("--search", help="Case-insensitive match on name or e-mail.")
@_page_size
@json_option
@run_async
async def contacts_list(out: Output, search: str | None, page_size: int) -> None:
    """List contacts."""
    async with client_from_env("danasign") as client:
        rows = [
            (contact.object_id, contact.name, contact.email, contact.phone or "")
            async for contact in client.contacts.list(search=search, page_size=page_size)
        ]
    out.table("contacts", ["id", "name", "email", "phone"], rows)


@click.group()
def templates() -> None:
    """DANAsign templates."""


@templates.command("list")
@click.option("--search", help="Case-insensitive match on the name.")
@json_option
@run_async
async def templates_list(out: Output, search: str | None) -> None:
    """List templates."""
    async with client_from_env("danasign") as client:
        rows = [
            (template.object_id, template.name, template.description or "")
            async for template in client.templates.list(search=search)
        ]
    out.table("templates", ["id", "name", "description"], rows)


@templates.command("get")
@click.argument("template_id")
@json_option
@run_async
async def templates_get(out: Output, template_id: str) -> None:
    """Show one template."""
    async with client_from_env("danasign") as client:
        out.result(await client.templates.get(template_id))


# short_help: click would cut the help at the first full stop, "S.O.F.I.A.".
@click.group(short_help="S.O.F.I.A. OTP signatures.")
def otp() -> None:
    """S.O.F.I.A. OTP signatures."""


@otp.command("create")
@click.option("--transaction-id", required=True)
@click.option("--selfie", required=True, type=_file, help="JPEG or PNG.")
@click.option("--front", required=True, type=_file, help="Front of the ID (JPEG or PNG).")
@click.option("--back", type=_file, help="Back of the ID (JPEG or PNG).")
@click.option("--document", required=True, type=_file, help="The PDF to sign.")
@click.option("--phone", required=True)
@click.option("--email", required=True)
@json_option
@run_async
async def otp_create(
    out: Output,
    transaction_id: str,
    selfie: Path,
    front: Path,
    back: Path | None,
    document: Path,
    phone: str,
    email: str,
) -> None:
    """Request an OTP signature; the signer receives the code."""
    async with client_from_env("sofia") as client:
        request = await client.otp_signatures.create(
            transaction_id=transaction_id,
            user_selfie=selfie,
            image_front=front,
            image_back=back,
            document_sign=document,
            phone=phone,
            email=email,
        )
    out.result(request)


@otp.command("sign")
@click.argument("transaction_id")
@click.argument("otp_code")
@json_option
@run_async
async def otp_sign(out: Output, transaction_id: str, otp_code: str) -> None:
    """Sign TRANSACTION_ID with the OTP_CODE the signer received."""
    async with client_from_env("sofia") as client:
        out.result(await client.otp_signatures.sign(transaction_id, otp_code))


@otp.command("download")
@click.argument("url")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@run_async
async def otp_download(out: Output, url: str, output: Path) -> None:
    """Download a signed PDF from its signed_document_url to OUTPUT.

    A bare URL carries no signature hash to compare with: hash_verified says
    "not checked" (null with --json).
    """
    async with client_from_env("sofia") as client:
        result = await client.otp_signatures.download_signed(url, output)
    if out.json_mode or result.hash_verified is not None:
        out.result(result)
    else:
        out.result({**jsonable(result), "hash_verified": "not checked"})
