"""DANAsign's state: API tokens and scopes, sessions, contacts, documents, seeded templates."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
from aiohttp import web

from .._blobs import Blob
from .._http import iso, now
from .._state import SandboxState

__all__ = [
    "CONTACTS_WRITE",
    "DANASIGN",
    "DOCUMENTS_READ",
    "DOCUMENTS_WRITE",
    "DOCUMENT_STATUSES",
    "USER",
    "DanaSignState",
    "Document",
    "SigningRefused",
    "decline_as",
    "move_document",
    "sends_in_order",
    "sign_as",
    "waiting_for",
]

CONTACTS_WRITE = "contacts:write"
DOCUMENTS_WRITE = "documents:write"
DOCUMENTS_READ = "documents:read"
ALL_SCOPES = (CONTACTS_WRITE, DOCUMENTS_WRITE, DOCUMENTS_READ)

DOCUMENT_STATUSES = frozenset(
    {"draft", "sent", "signaturerequest", "inprogress", "completed", "expired", "declined"}
)

USER = {"userId": "SbxUser001", "email": "sandbox.user@danasign.local", "name": "Sandbox User"}


@attrs.define
class Document:
    """A document and what it was created from."""

    document_id: str
    title: str
    status: str
    created_at: str
    updated_at: str
    external_id: str | None
    file: Blob | None = None
    template_id: str | None = None
    request: dict[str, Any] = attrs.Factory(dict)
    # role -> "signed" or "declined", for the signers who acted.
    signatures: dict[str, str] = attrs.Factory(dict)

    @property
    def signers(self) -> list[dict[str, Any]]:
        """The signers as the creation request listed them (role, name, email)."""
        signers = self.request.get("signers")
        return [s for s in signers if isinstance(s, dict)] if isinstance(signers, list) else []

    def summary(self) -> dict[str, Any]:
        """The entry ``documentlist`` shows."""
        return {
            "documentId": self.document_id,
            "title": self.title,
            "status": self.status,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


def _placeholder(index: int, role: str, color: str, y: int) -> dict[str, Any]:
    # OpenSign's template placeholder shape: one block per role, widgets by page.
    return {
        "Id": index,
        "Role": role,
        "blockColor": color,
        "signerPtr": {},
        "signerObjId": "",
        "placeHolder": [
            {
                "pageNumber": 1,
                "pos": [
                    {
                        "key": index,
                        "type": "signature",
                        "xPosition": 120,
                        "yPosition": y,
                        "Width": 220,
                        "Height": 60,
                        "options": {"name": "signature", "status": "required"},
                    }
                ],
            }
        ],
    }


def _seed_templates() -> list[dict[str, Any]]:
    owner = {
        "objectId": USER["userId"],
        "Name": USER["name"],
        "Email": USER["email"],
        "Company": "Sandbox Inc.",
    }
    return [
        {
            "objectId": "Nda4Kq81Zp",
            "Name": "NDA",
            "Description": "Mutual non-disclosure agreement",
            # OpenSign's own shape; the other templates use the short one.
            "SignatureType": [{"name": "draw", "enabled": True}],
            "SendinOrder": False,
            "AutomaticReminders": True,
            "TimeToCompleteDays": 15,
            "RemindOnceInEvery": 5,
            "IsEnableOTP": False,
            "AllowModifications": False,
            "NotifyOnSignatures": True,
            "RedirectUrl": None,
            "Placeholders": [
                _placeholder(1, "Party A", "#93a3db", 520),
                _placeholder(2, "Party B", "#e6c3db", 640),
            ],
            "Signers": [],
            "Bcc": [],
            "ExtUserPtr": owner,
            "createdAt": "2025-01-05T10:00:00.000Z",
            "updatedAt": "2025-03-10T12:34:56.789Z",
        },
        {
            "objectId": "Emp7Tr2Lx9",
            "Name": "Employment contract",
            "Description": "Standard employment contract",
            "SignatureType": ["draw"],
            "SendinOrder": True,
            "AutomaticReminders": False,
            "TimeToCompleteDays": 10,
            "RemindOnceInEvery": 2,
            "IsEnableOTP": True,
            "AllowModifications": False,
            "NotifyOnSignatures": True,
            "RedirectUrl": "https://example.com/welcome",
            "Placeholders": [
                _placeholder(1, "Employee", "#93a3db", 520),
                _placeholder(2, "Employer", "#e6c3db", 640),
            ],
            "Signers": [],
            "Bcc": [{"email": "hr@example.com", "name": "HR"}],
            "ExtUserPtr": owner,
            "createdAt": "2025-02-01T09:00:00.000Z",
            "updatedAt": "2025-02-01T09:00:00.000Z",
        },
        {
            "objectId": "Svc3Mw5Hd0",
            "Name": "Service agreement",
            "Description": "Services for new clients",
            "SignatureType": ["draw"],
            "SendinOrder": False,
            "AutomaticReminders": False,
            "TimeToCompleteDays": 30,
            "RemindOnceInEvery": 7,
            "IsEnableOTP": False,
            "AllowModifications": True,
            "NotifyOnSignatures": False,
            "RedirectUrl": None,
            "Placeholders": [
                _placeholder(1, "Client", "#93a3db", 520),
                _placeholder(2, "Provider", "#e6c3db", 640),
            ],
            "Signers": [],
            "Bcc": [],
            "ExtUserPtr": owner,
            "createdAt": "2025-03-01T08:30:00.000Z",
            "updatedAt": "2025-03-05T16:00:00.000Z",
        },
    ]


class DanaSignState:
    """API tokens, sessions, contacts, documents and templates."""

    def __init__(self, sandbox: SandboxState) -> None:
        self.sandbox = sandbox
        credentials = sandbox.credentials
        self.api_tokens: dict[str, tuple[str, ...]] = {
            credentials.danasign_api_token: ALL_SCOPES,
            credentials.danasign_readonly_token: (DOCUMENTS_READ,),
        }
        self.sessions: dict[str, tuple[str, ...]] = {}
        self.contacts: list[dict[str, Any]] = []
        self.documents: dict[str, Document] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.created: Counter[str] = Counter()
        self.reset()

    def reset(self) -> None:
        """Forget sessions, contacts and documents; restore the seeded templates."""
        self.sessions.clear()
        self.contacts.clear()
        self.documents.clear()
        self.created.clear()
        self.templates = {t["objectId"]: t for t in _seed_templates()}

    def created_count(self, external_id: str) -> int:
        """How many documents were created with this ``metadata.externalId``."""
        return self.created[external_id]

    def add_document(self, document: Document) -> None:
        """Store a new document and count its external id."""
        self.documents[document.document_id] = document
        if document.external_id is not None:
            self.created[document.external_id] += 1


DANASIGN = web.AppKey("signing_async_sandbox_danasign", DanaSignState)


def move_document(document: Document, status: object) -> None:
    """Give ``document`` a new status, one the platform knows.

    Raises:
        ValueError: An unknown status.
    """
    if not isinstance(status, str) or status not in DOCUMENT_STATUSES:
        raise ValueError(f"status must be one of {', '.join(sorted(DOCUMENT_STATUSES))}")
    document.status = status
    document.updated_at = iso(now())


# A signer may act on a document in these states; a draft was never sent.
_SIGNABLE = frozenset({"sent", "signaturerequest", "inprogress"})


class SigningRefused(ValueError):
    """A signer cannot act on a document now; the message says why."""


def sends_in_order(state: DanaSignState, document: Document) -> bool:
    """Whether signers sign one after another (``settings.sendInOrder`` or the template's)."""
    settings = document.request.get("settings")
    if isinstance(settings, dict) and "sendInOrder" in settings:
        return settings["sendInOrder"] is True
    template = state.templates.get(document.template_id or "")
    return bool(template and template.get("SendinOrder"))


def waiting_for(state: DanaSignState, document: Document, role: str) -> str | None:
    """Why ``role`` cannot sign ``document`` now, or ``None`` when it can."""
    roles = [signer.get("role") for signer in document.signers]
    if role not in roles:
        return f"the document has no signer with the role {role!r}"
    if role in document.signatures:
        return f"{role} has already {document.signatures[role]}"
    if document.status not in _SIGNABLE:
        return f"the document is {document.status}, not waiting for signatures"
    if sends_in_order(state, document):
        for earlier in roles[: roles.index(role)]:
            if earlier not in document.signatures:
                return f"signers sign in order: {earlier} signs first"
    return None


def sign_as(state: DanaSignState, document: Document, role: str) -> None:
    """Sign ``document`` as the signer with ``role``, in order when the document says so.

    The document is ``inprogress`` until its last signer signs; then it is
    ``completed``.

    Raises:
        SigningRefused: The role cannot sign now (the message says why).
    """
    if (reason := waiting_for(state, document, role)) is not None:
        raise SigningRefused(reason)
    document.signatures[role] = "signed"
    everyone = all(s.get("role") in document.signatures for s in document.signers)
    move_document(document, "completed" if everyone else "inprogress")


def decline_as(state: DanaSignState, document: Document, role: str) -> None:
    """Decline ``document`` as the signer with ``role``: the document is ``declined``.

    Raises:
        SigningRefused: The role cannot act now (the message says why).
    """
    if (reason := waiting_for(state, document, role)) is not None:
        raise SigningRefused(reason)
    document.signatures[role] = "declined"
    move_document(document, "declined")
