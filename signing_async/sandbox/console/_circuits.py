"""DANAconnect circuits in the browser: the signer's page (a circuit's ``link``) and its files."""

from __future__ import annotations

from aiohttp import web

from ..._core.numbers import read_count
from .._danaconnect import DANACONNECT, Circuit, complete, decline
from .._http import SandboxFileResponse, blob_response
from ._html import (
    FormRefused,
    link,
    message_page,
    page,
    read_console_form,
    redirect,
    status_badge,
    text,
    url_part,
)

__all__ = ["circuit_action", "circuit_document", "circuit_page", "document_links", "signed_zip"]


def document_links(circuit: Circuit) -> str:
    """Links to a circuit's uploaded PDFs, opened by the browser's own viewer."""
    base = f"/console/circuits/{url_part(circuit.circuit_id)}/documents"
    items = "".join(
        f"<li>{link(f'{base}/{index}', name)} ({blob.size:,} bytes)</li>"
        for index, (name, blob) in enumerate(circuit.docs)
    )
    return f'<ul class="plain">{items}</ul>'


def zip_href(circuit: Circuit) -> str:
    """Where the console serves a completed circuit's signed ZIP."""
    return f"/console/circuits/{url_part(circuit.circuit_id)}/signed.zip"


def _unknown(circuit_id: str) -> web.Response:
    return message_page("Unknown circuit", f"There is no circuit {circuit_id!r}.", 404, back="/")


async def circuit_page(request: web.Request) -> web.StreamResponse:
    """``GET /sign/{circuit_id}`` — what the signer sees: the documents, sign or decline."""
    circuit_id = request.match_info["circuit_id"]
    circuit = request.app[DANACONNECT].circuits.get(circuit_id)
    if circuit is None:
        return _unknown(circuit_id)
    signer = circuit.signer
    facts = (
        '<dl class="facts">'
        f"<dt>Signer</dt><dd>{text(signer['name'])} &lt;{text(signer['email'])}&gt;"
        f" (NIF {text(signer['nif'])})</dd>"
        f"<dt>Reference</dt><dd>{text(circuit.reference)}</dd>"
        f"<dt>Status</dt><dd>{status_badge(circuit.status)}</dd></dl>"
    )
    body = facts + "<h2>Documents</h2>" + document_links(circuit)
    if circuit.status == "waiting":
        action = f"/sign/{url_part(circuit.circuit_id)}"
        body += (
            f'<h2>Your decision</h2><form method="post" action="{text(action)}" class="actions">'
            '<button name="action" value="sign">Sign the documents</button> '
            '<button name="action" value="decline" class="secondary">Decline</button></form>'
        )
    elif circuit.status == "completed":
        body += (
            '<h2>Signed</h2><p role="status">The documents are signed. '
            f"{link(zip_href(circuit), 'Download the signed ZIP')}</p>"
        )
    else:
        body += '<h2>Declined</h2><p role="status">The signer declined these documents.</p>'
    return page(f"Circuit {circuit.circuit_id}", body)


async def circuit_action(request: web.Request) -> web.StreamResponse:
    """``POST /sign/{circuit_id}`` ``action=sign|decline`` — the signer's decision.

    Signing is the same state change as ``POST /_sandbox/circuits/{id}/complete``.
    """
    circuit_id = request.match_info["circuit_id"]
    state = request.app[DANACONNECT]
    try:
        form = await read_console_form(request)
    except FormRefused as exc:
        return message_page("Not accepted", str(exc), exc.status)
    action = form.get("action")
    if action == "sign":
        found = await complete(state, circuit_id)
    elif action == "decline":
        found = decline(state, circuit_id)
    else:
        return message_page("Not accepted", "action: must be sign or decline", 400)
    if not found:
        return _unknown(circuit_id)
    return redirect(f"/sign/{url_part(circuit_id)}")


async def circuit_document(request: web.Request) -> web.StreamResponse:
    """``GET /console/circuits/{circuit_id}/documents/{index}`` — one uploaded PDF."""
    circuit = request.app[DANACONNECT].circuits.get(request.match_info["circuit_id"])
    index = read_count(request.match_info["index"])
    if circuit is None or index is None or index >= len(circuit.docs):
        return message_page("Unknown document", "There is no such document.", 404)
    name, blob = circuit.docs[index]
    response = blob_response(blob, "application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{url_part(name)}"'
    return response


async def signed_zip(request: web.Request) -> web.StreamResponse:
    """``GET /console/circuits/{circuit_id}/signed.zip`` — the signed documents, once completed."""
    circuit = request.app[DANACONNECT].circuits.get(request.match_info["circuit_id"])
    if circuit is None or circuit.archive is None:
        return message_page("Not signed", "This circuit has no signed ZIP (yet).", 404)
    return SandboxFileResponse(
        circuit.archive,
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="circuit-{circuit.circuit_id}.zip"'},
    )
