"""DANAsign documents in the browser: one signer's page per role, and the document's PDF."""

from __future__ import annotations

from aiohttp import web

from .._http import blob_response
from ..danasign import (
    DANASIGN,
    DanaSignState,
    Document,
    SigningRefused,
    decline_as,
    sends_in_order,
    sign_as,
    waiting_for,
)
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

__all__ = ["document_file", "signer_action", "signer_href", "signer_list", "signer_page"]


def signer_href(document: Document, role: str) -> str:
    """The page of the signer with ``role``."""
    return f"/sign/danasign/{url_part(document.document_id)}/{url_part(role)}"


def file_href(document: Document) -> str:
    """Where the console serves the document's PDF."""
    return f"/console/documents/{url_part(document.document_id)}/file.pdf"


def signer_state(state: DanaSignState, document: Document, role: str) -> str:
    """``signed``, ``declined``, ``can sign`` or ``waiting`` for one signer."""
    done = document.signatures.get(role)
    if done is not None:
        return done
    return "can sign" if waiting_for(state, document, role) is None else "waiting"


def signer_list(state: DanaSignState, document: Document) -> str:
    """The signers in order, each with a link to their page and where they stand."""
    items = []
    for signer in document.signers:
        role = str(signer.get("role", ""))
        who = f"{text(signer.get('name'))} &lt;{text(signer.get('email'))}&gt;"
        label = link(signer_href(document, role), role)
        items.append(f"<li>{label}: {who} {status_badge(signer_state(state, document, role))}</li>")
    tag = "ol" if sends_in_order(state, document) else "ul"
    return f'<{tag} class="plain">{"".join(items)}</{tag}>' if items else "<p>No signers.</p>"


def _find(request: web.Request) -> tuple[DanaSignState, Document | None, str]:
    state = request.app[DANASIGN]
    document = state.documents.get(request.match_info["document_id"])
    return state, document, request.match_info["role"]


def _unknown() -> web.Response:
    return message_page("Unknown document", "There is no such DANAsign document.", 404, back="/")


async def signer_page(request: web.Request) -> web.StreamResponse:
    """``GET /sign/danasign/{document_id}/{role}`` — the page of one signer."""
    state, document, role = _find(request)
    if document is None:
        return _unknown()
    signer = next((s for s in document.signers if s.get("role") == role), None)
    if signer is None:
        return message_page(
            "Unknown signer", f"The document has no signer with the role {role!r}.", 404, back="/"
        )
    in_order = sends_in_order(state, document)
    order = "one after another, in this order" if in_order else "in any order"
    body = (
        '<dl class="facts">'
        f"<dt>Signing as</dt><dd>{text(role)}: {text(signer.get('name'))}"
        f" &lt;{text(signer.get('email'))}&gt;</dd>"
        f"<dt>Document status</dt><dd>{status_badge(document.status)}</dd>"
        f"<dt>External id</dt><dd>{text(document.external_id or '—')}</dd></dl>"
    )
    if document.file is not None:
        body += f"<h2>Document</h2><p>{link(file_href(document), 'Open the PDF')}</p>"
    body += f"<h2>Signers</h2><p>They sign {order}.</p>" + signer_list(state, document)
    reason = waiting_for(state, document, role)
    if reason is None:
        action = signer_href(document, role)
        body += (
            f'<h2>Your decision</h2><form method="post" action="{text(action)}" class="actions">'
            '<button name="action" value="sign">Sign</button> '
            '<button name="action" value="decline" class="secondary">Decline</button></form>'
        )
    else:
        body += f'<h2>Your decision</h2><p role="status">You cannot act now: {text(reason)}.</p>'
    return page(document.title, body)


async def signer_action(request: web.Request) -> web.StreamResponse:
    """``POST /sign/danasign/{document_id}/{role}`` ``action=sign|decline``."""
    state, document, role = _find(request)
    try:
        form = await read_console_form(request)
    except FormRefused as exc:
        return message_page("Not accepted", str(exc), exc.status)
    if document is None:
        return _unknown()
    back = signer_href(document, role)
    action = form.get("action")
    try:
        if action == "sign":
            sign_as(state, document, role)
        elif action == "decline":
            decline_as(state, document, role)
        else:
            return message_page("Not accepted", "action: must be sign or decline", 400, back=back)
    except SigningRefused as exc:
        return message_page("Not accepted", f"You cannot act now: {exc}.", 409, back=back)
    return redirect(back)


async def document_file(request: web.Request) -> web.StreamResponse:
    """``GET /console/documents/{document_id}/file.pdf`` — the uploaded PDF."""
    document = request.app[DANASIGN].documents.get(request.match_info["document_id"])
    if document is None or document.file is None:
        return message_page("No file", "This document has no uploaded PDF.", 404)
    return blob_response(document.file, "application/pdf")
