"""``/`` — the console: everything the sandbox holds, newest first."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..._core.numbers import read_count
from .._danaconnect import DANACONNECT, Circuit
from .._sofia import MAX_ATTEMPTS, SOFIA, Transaction
from ..danasign import DANASIGN, DanaSignState, Document
from ._circuits import document_links, zip_href
from ._danasign import signer_list
from ._html import link, page, status_badge, table, text, url_part

__all__ = ["overview"]

# Auto-refresh is opt-in (a page that reloads under a screen reader or a
# keyboard user is hostile); these are the periods offered.
_REFRESH_CHOICES = (5, 15)


def _circuit_row(circuit: Circuit) -> list[str]:
    signer = circuit.signer
    actions = link(f"/sign/{url_part(circuit.circuit_id)}", "Signer page")
    if circuit.archive is not None:
        actions += " · " + link(zip_href(circuit), "Signed ZIP")
    return [
        text(circuit.circuit_id),
        text(circuit.reference),
        f"{text(signer['name'])}<br><small>{text(signer['email'])}</small>",
        document_links(circuit),
        status_badge(circuit.status),
        actions,
    ]


def _document_row(state: DanaSignState, document: Document) -> list[str]:
    return [
        text(document.title),
        f"<code>{text(document.document_id)}</code>",
        text(document.external_id or "—"),
        status_badge(document.status),
        signer_list(state, document),
        text(document.created_at),
    ]


def _contact_row(contact: dict[str, Any]) -> list[str]:
    return [
        text(contact.get("Name")),
        text(contact.get("Email")),
        text(contact.get("Phone") or "—"),
        f"<code>{text(contact.get('objectId'))}</code>",
    ]


def _template_row(template: dict[str, Any]) -> list[str]:
    roles = ", ".join(str(p.get("Role")) for p in template.get("Placeholders", []))
    return [
        text(template.get("Name")),
        f"<code>{text(template.get('objectId'))}</code>",
        text(template.get("Description")),
        text(roles),
        "yes" if template.get("SendinOrder") else "no",
    ]


def transaction_row(transaction: Transaction) -> list[str]:
    """A S.O.F.I.A. transaction: where its code went and what became of it."""
    left = max(MAX_ATTEMPTS - transaction.failed_attempts, 0)
    return [
        text(transaction.transaction_id),
        status_badge(transaction.status),
        f"{text(transaction.phone)}<br><small>{text(transaction.email)}</small>",
        f'<code class="otp">{text(transaction.otp)}</code>',
        str(left),
        text(transaction.created_at),
    ]


TRANSACTION_COLUMNS = ("Transaction", "Status", "Sent to", "OTP", "Attempts left", "Created")


def _start(anchor: str, heading: str) -> str:
    return f'<section aria-labelledby="{anchor}"><h2 id="{anchor}">{heading}</h2>'


def _end() -> str:
    return "</section>"


def _refresh(request: web.Request) -> int | None:
    value = request.query.get("refresh", "")
    seconds = read_count(value)
    return seconds if seconds in _REFRESH_CHOICES else None


async def overview(request: web.Request) -> web.StreamResponse:
    """``GET /`` (``?refresh=5`` reloads the page every 5 seconds)."""
    refresh = _refresh(request)
    circuits = list(reversed(request.app[DANACONNECT].circuits.values()))
    danasign = request.app[DANASIGN]
    documents = list(reversed(danasign.documents.values()))
    transactions = list(reversed(request.app[SOFIA].transactions.values()))
    if refresh is None:
        choices = " ".join(link(f"/?refresh={s}", f"every {s} s") for s in _REFRESH_CHOICES)
        refreshing = f"{link('/', 'Refresh now')} · Refresh automatically: {choices}"
    else:
        refreshing = f"Refreshing every {refresh} s. {link('/', 'Stop refreshing')}"
    body = (
        f'<p class="toolbar">{refreshing}</p>'
        + _start("circuits", "DANAconnect circuits")
        + table(
            "Circuits, newest first",
            ("Circuit", "Reference", "Signer", "Documents", "Status", "Open"),
            (_circuit_row(c) for c in circuits),
            empty="No circuits yet: start one with client.circuits.start(...).",
        )
        + _end()
        + _start("documents", "DANAsign documents")
        + table(
            "Documents, newest first",
            ("Title", "Document id", "External id", "Status", "Signers", "Created"),
            (_document_row(danasign, d) for d in documents),
            empty="No documents yet: create one with client.documents.create(...).",
        )
        + _end()
        + _start("contacts", "DANAsign contacts")
        + table(
            "Contacts, newest first",
            ("Name", "E-mail", "Phone", "Contact id"),
            (_contact_row(c) for c in reversed(danasign.contacts)),
            empty="No contacts yet.",
        )
        + _end()
        + _start("templates", "DANAsign templates")
        + table(
            "Templates",
            ("Name", "Template id", "Description", "Roles", "In order"),
            (_template_row(t) for t in danasign.templates.values()),
            empty="No templates.",
        )
        + _end()
        + _start("transactions", "S.O.F.I.A. transactions")
        + table(
            "Transactions, newest first",
            TRANSACTION_COLUMNS,
            (transaction_row(t) for t in transactions),
            empty="No transactions yet: create one with client.otp_signatures.create(...).",
        )
        + _end()
    )
    return page("Sandbox console", body, current="/", refresh=refresh)
