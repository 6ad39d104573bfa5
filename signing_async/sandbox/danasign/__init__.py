"""DANAsign REST API (OpenSign-derived): tokens, contacts, documents, templates.

This package wires the provider: its routes and its state. The parts live in
``_state`` (the state), ``_http`` (what every handler shares), ``_checks``
(document request validation) and one module per endpoint group: ``_tokens``,
``_contacts``, ``_documents``, ``_templates``.
"""

from __future__ import annotations

from aiohttp import web

from .._http import RouteSpec
from .._state import SandboxState
from ._contacts import batch_contacts, create_contact, list_contacts
from ._documents import (
    create_document,
    create_from_template,
    list_documents,
    set_document_status,
)
from ._state import (
    DANASIGN,
    DOCUMENT_STATUSES,
    DanaSignState,
    Document,
    SigningRefused,
    decline_as,
    move_document,
    sends_in_order,
    sign_as,
    waiting_for,
)
from ._templates import get_template, list_templates
from ._tokens import create_session, whoami

__all__ = [
    "DANASIGN",
    "DOCUMENT_STATUSES",
    "DanaSignState",
    "Document",
    "SigningRefused",
    "decline_as",
    "move_document",
    "routes",
    "sends_in_order",
    "setup",
    "sign_as",
    "waiting_for",
]


def routes() -> list[RouteSpec]:
    """The routes this provider serves, with their log names."""
    return [
        ("POST", "/api/tokens/session", create_session, "danasign.session"),
        ("GET", "/api/tokens/whoami", whoami, "danasign.whoami"),
        ("POST", "/api/1.0/contacts", create_contact, "danasign.contacts.create"),
        ("POST", "/api/1.0/contacts/batch", batch_contacts, "danasign.contacts.batch"),
        ("GET", "/api/1.0/contacts", list_contacts, "danasign.contacts.list"),
        ("GET", "/api/1.0/documentlist/{status}", list_documents, "danasign.documentlist"),
        ("POST", "/api/1.0/createdocument", create_document, "danasign.createdocument"),
        (
            "POST",
            "/api/1.0/createdocument/{template_id}",
            create_from_template,
            "danasign.createdocument_template",
        ),
        ("GET", "/api/1.0/templates", list_templates, "danasign.templates.list"),
        ("GET", "/api/1.0/template/{template_id}", get_template, "danasign.template.get"),
        ("POST", "/_sandbox/documents/{document_id}/status", set_document_status, "control"),
    ]


def setup(app: web.Application, sandbox: SandboxState) -> None:
    """Attach this provider's state to the application."""
    state = DanaSignState(sandbox)
    app[DANASIGN] = state
    sandbox.register(state)
