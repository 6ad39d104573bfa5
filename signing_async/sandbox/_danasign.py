"""DANAsign REST API (OpenSign-derived): tokens, contacts, documents, templates."""

from __future__ import annotations

import copy
import secrets
from collections import Counter
from datetime import timedelta
from typing import Any

import attrs
from aiohttp import web

from ._blobs import Blob
from ._http import (
    MAX_BODY,
    BadJson,
    RouteSpec,
    is_int,
    is_number,
    iso,
    json_response,
    media_type,
    nonempty_str,
    now,
    object_id,
    read_small_json,
    valid_email,
)
from ._jsonbody import BodyError, discard_spills, read_json_spilling
from ._log import note_external_id
from ._state import SandboxState
from ._uploads import Invalid, decode_pdf, discard

__all__ = ["DANASIGN", "DOCUMENT_STATUSES", "DanaSignState", "routes", "setup"]

CONTACTS_WRITE = "contacts:write"
DOCUMENTS_WRITE = "documents:write"
DOCUMENTS_READ = "documents:read"
ALL_SCOPES = (CONTACTS_WRITE, DOCUMENTS_WRITE, DOCUMENTS_READ)

DOCUMENT_STATUSES = frozenset(
    {"draft", "sent", "signaturerequest", "inprogress", "completed", "expired", "declined"}
)
WIDGET_TYPES = frozenset(
    {
        "signature",
        "stamp",
        "initials",
        "name",
        "email",
        "date",
        "textbox",
        "checkbox",
        "radio button",
        "dropdown",
        "image",
        "job title",
        "company",
        "number",
    }
)
DEFAULT_DAYS_TO_COMPLETE = 15

USER = {"userId": "SbxUser001", "email": "sandbox.user@danasign.local", "name": "Sandbox User"}


def _error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status=status)


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


SUMMARY_KEYS = (
    "objectId",
    "Name",
    "Description",
    "SignatureType",
    "SendinOrder",
    "AutomaticReminders",
    "TimeToCompleteDays",
    "RemindOnceInEvery",
    "updatedAt",
    "createdAt",
)


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


def _scopes(request: web.Request, header: str, *, sessions: bool) -> tuple[str, ...] | None:
    state = request.app[DANASIGN]
    token = request.headers.get(header)
    if token is not None and token in state.api_tokens:
        return state.api_tokens[token]
    if sessions:
        session = request.headers.get("X-Parse-Session-Token")
        if session is not None and session in state.sessions:
            return state.sessions[session]
    return None


def _authorize(request: web.Request, scope: str | None) -> web.Response | None:
    """405 for a missing or unknown token (DANAsign's code for it), 403 for a missing scope."""
    if request.path.startswith("/api/tokens/"):
        scopes = _scopes(request, "x-danassign-api-key", sessions=False)
    else:
        scopes = _scopes(request, "x-api-token", sessions=True)
    if scopes is None:
        return _error(405, "Invalid API token")
    if scope is not None and scope not in scopes:
        return _error(403, f"missing scope {scope}")
    return None


async def create_session(request: web.Request) -> web.StreamResponse:
    """``POST /api/tokens/session``."""
    if (denied := _authorize(request, None)) is not None:
        return denied
    state = request.app[DANASIGN]
    scopes = state.api_tokens[request.headers["x-danassign-api-key"]]
    session = f"r:{secrets.token_hex(16)}"
    state.sessions[session] = scopes
    return json_response(
        {
            "sessionToken": session,
            "userId": USER["userId"],
            "scopes": list(scopes),
            "token": {
                "name": "Sandbox API token",
                "scopes": list(scopes),
                "userId": USER["userId"],
            },
        }
    )


async def whoami(request: web.Request) -> web.StreamResponse:
    """``GET /api/tokens/whoami``."""
    if (denied := _authorize(request, None)) is not None:
        return denied
    scopes = request.app[DANASIGN].api_tokens[request.headers["x-danassign-api-key"]]
    return json_response({"data": {**USER, "scopes": list(scopes)}})


async def _json_object(request: web.Request) -> dict[str, Any]:
    if media_type(request) != "application/json":
        raise BadJson("Content-Type must be application/json")
    body = await read_small_json(request)
    if not isinstance(body, dict):
        raise BadJson("body must be a JSON object")
    return body


def _paging(request: web.Request) -> tuple[int, int]:
    """``limit`` (1..100, default 20) and ``skip`` (>= 0, default 0).

    Raises:
        Invalid: If either is out of range or not an integer.
    """
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError:
        raise Invalid("limit must be an integer between 1 and 100") from None
    if not 1 <= limit <= 100:
        raise Invalid("limit must be an integer between 1 and 100")
    try:
        skip = int(request.query.get("skip", "0"))
    except ValueError:
        raise Invalid("skip must be an integer >= 0") from None
    if skip < 0:
        raise Invalid("skip must be an integer >= 0")
    return limit, skip


def _page(items: list[dict[str, Any]], limit: int, skip: int) -> dict[str, Any]:
    page = items[skip : skip + limit]
    return {
        "data": page,
        "pagination": {
            "limit": limit,
            "skip": skip,
            "total": len(items),
            "hasMore": skip + len(page) < len(items),
        },
    }


def _new_contact(state: DanaSignState, name: Any, email: Any, phone: Any) -> dict[str, Any]:
    """Store a contact.

    Raises:
        Invalid: For a missing name, an invalid e-mail or a duplicate.
    """
    if not nonempty_str(name):
        raise Invalid("name is required")
    if not valid_email(email):
        raise Invalid("email must be a valid e-mail address")
    if phone is not None and not isinstance(phone, str):
        raise Invalid("phone must be a string")
    if any(contact["Email"].lower() == email.lower() for contact in state.contacts):
        raise Invalid("contact already exists")
    stamp = iso(now())
    contact = {
        "objectId": object_id(),
        "Name": name,
        "Email": email,
        "Phone": phone,
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    state.contacts.append(contact)
    return contact


async def create_contact(request: web.Request) -> web.StreamResponse:
    """``POST /api/1.0/contacts``."""
    if (denied := _authorize(request, CONTACTS_WRITE)) is not None:
        return denied
    try:
        body = await _json_object(request)
        contact = _new_contact(
            request.app[DANASIGN], body.get("name"), body.get("email"), body.get("phone")
        )
    except (BadJson, Invalid) as exc:
        return _error(400, str(exc))
    data = {key: contact[key] for key in ("objectId", "Name", "Email")}
    return json_response({"data": data}, status=201)


async def batch_contacts(request: web.Request) -> web.StreamResponse:
    """``POST /api/1.0/contacts/batch`` — PascalCase rows; bad rows count as failed."""
    if (denied := _authorize(request, CONTACTS_WRITE)) is not None:
        return denied
    try:
        body = await _json_object(request)
    except BadJson as exc:
        return _error(400, str(exc))
    rows = body.get("contacts")
    if not isinstance(rows, list):
        return _error(400, "contacts must be a list")
    state = request.app[DANASIGN]
    success = failed = 0
    for row in rows:
        try:
            if not isinstance(row, dict):
                raise Invalid("not an object")
            _new_contact(state, row.get("Name"), row.get("Email"), row.get("Phone"))
            success += 1
        except Invalid:
            failed += 1
    return json_response({"data": {"success": success, "failed": failed}})


async def list_contacts(request: web.Request) -> web.StreamResponse:
    """``GET /api/1.0/contacts?limit&skip&search``."""
    if (denied := _authorize(request, CONTACTS_WRITE)) is not None:
        return denied
    try:
        limit, skip = _paging(request)
    except Invalid as exc:
        return _error(400, str(exc))
    contacts = request.app[DANASIGN].contacts
    search = request.query.get("search", "").strip().lower()
    if search:
        contacts = [
            c for c in contacts if search in c["Name"].lower() or search in c["Email"].lower()
        ]
    return json_response(_page(contacts, limit, skip))


async def list_documents(request: web.Request) -> web.StreamResponse:
    """``GET /api/1.0/documentlist/{status}?limit&skip`` — a bare array."""
    if (denied := _authorize(request, DOCUMENTS_READ)) is not None:
        return denied
    status = request.match_info["status"]
    if status not in DOCUMENT_STATUSES:
        return _error(400, f"unknown status {status!r}")
    try:
        limit, skip = _paging(request)
    except Invalid as exc:
        return _error(400, str(exc))
    matching = [d.summary() for d in request.app[DANASIGN].documents.values() if d.status == status]
    return json_response(matching[skip : skip + limit])


def _check_object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"{field}: must be an object")
    return value


def _check_list(value: Any, field: str, *, nonempty: bool = False) -> list[Any]:
    if not isinstance(value, list) or (nonempty and not value):
        raise Invalid(f"{field}: must be a {'non-empty ' if nonempty else ''}list")
    return value


def _check_optional(data: dict[str, Any], key: str, field: str, kind: type, what: str) -> None:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise Invalid(f"{field}.{key}: must be {what}")


def _check_box(item: dict[str, Any], field: str) -> str:
    """Check type, page and geometry of a widget or prefill; return its type."""
    kind = item.get("type")
    if not isinstance(kind, str) or kind.lower() not in WIDGET_TYPES:
        raise Invalid(f"{field}.type: unknown widget type {kind!r}")
    page = item.get("page")
    if not is_int(page) or page < 1:
        raise Invalid(f"{field}.page: must be an integer >= 1")
    for key in ("x", "y"):
        if not is_number(item.get(key)) or item[key] < 0:
            raise Invalid(f"{field}.{key}: must be a number >= 0")
    for key in ("w", "h"):
        if not is_number(item.get(key)) or item[key] <= 0:
            raise Invalid(f"{field}.{key}: must be a number > 0")
    return kind.lower()


def _check_signers(value: Any) -> list[dict[str, Any]]:
    signers = _check_list(value, "signers", nonempty=True)
    roles: set[str] = set()
    for index, raw in enumerate(signers):
        field = f"signers[{index}]"
        signer = _check_object(raw, field)
        role = signer.get("role")
        if not nonempty_str(role):
            raise Invalid(f"{field}.role: must be a non-empty string")
        if role in roles:
            raise Invalid(f"{field}.role: duplicate role {role!r}")
        roles.add(role)
        if not nonempty_str(signer.get("name")):
            raise Invalid(f"{field}.name: must be a non-empty string")
        if not valid_email(signer.get("email")):
            raise Invalid(f"{field}.email: must be a valid e-mail address")
        verification = signer.get("identityVerification")
        if verification is not None:
            sub = f"{field}.identityVerification"
            verification = _check_object(verification, sub)
            _check_optional(verification, "enabled", sub, bool, "true or false")
            _check_optional(verification, "requireDocument", sub, bool, "true or false")
            _check_optional(verification, "notes", sub, str, "a string")
            threshold = verification.get("threshold")
            if threshold is not None and (not is_number(threshold) or not 0 <= threshold <= 100):
                raise Invalid(f"{sub}.threshold: must be a number from 0 to 100")
    return signers


def _check_placeholders(value: Any, roles: list[str]) -> None:
    placeholders = _check_list(value, "placeholders", nonempty=True)
    signed: set[str] = set()
    for index, raw in enumerate(placeholders):
        field = f"placeholders[{index}]"
        placeholder = _check_object(raw, field)
        role = placeholder.get("role")
        if not isinstance(role, str) or role not in roles:
            raise Invalid(f"{field}.role: {role!r} matches no signer's role")
        widgets = _check_list(placeholder.get("widgets"), f"{field}.widgets", nonempty=True)
        for position, widget in enumerate(widgets):
            sub = f"{field}.widgets[{position}]"
            if _check_box(_check_object(widget, sub), sub) == "signature":
                signed.add(role)
    for index, role in enumerate(roles):
        if role not in signed:
            raise Invalid(f"signers[{index}]: role {role!r} has no signature widget")


def _check_prefill(value: Any) -> None:
    if value is None:
        return
    for index, raw in enumerate(_check_list(value, "prefill")):
        field = f"prefill[{index}]"
        item = _check_object(raw, field)
        _check_box(item, field)
        options = _check_object(item.get("options"), f"{field}.options")
        if not nonempty_str(options.get("name")):
            raise Invalid(f"{field}.options.name: must be a non-empty string")
        font_size = options.get("fontSize")
        if font_size is not None and (not is_number(font_size) or font_size <= 0):
            raise Invalid(f"{field}.options.fontSize: must be a number > 0")
        _check_optional(options, "fontColor", f"{field}.options", str, "a string")


def _check_settings(value: Any) -> int:
    """Check the settings; return the days to complete."""
    if value is None:
        return DEFAULT_DAYS_TO_COMPLETE
    settings = _check_object(value, "settings")
    for key in ("sendInOrder", "allowModifications", "automaticReminders"):
        _check_optional(settings, key, "settings", bool, "true or false")
    _check_optional(settings, "redirectUrl", "settings", str, "a URL string")
    days = settings.get("timeToCompleteDays")
    if days is not None and (not is_int(days) or days < 1):
        raise Invalid("settings.timeToCompleteDays: must be an integer >= 1")
    bcc = settings.get("bcc")
    if bcc is not None:
        for index, raw in enumerate(_check_list(bcc, "settings.bcc")):
            entry = _check_object(raw, f"settings.bcc[{index}]")
            if not valid_email(entry.get("email")):
                raise Invalid(f"settings.bcc[{index}].email: must be a valid e-mail address")
            _check_optional(entry, "name", f"settings.bcc[{index}]", str, "a string")
    return DEFAULT_DAYS_TO_COMPLETE if days is None else days


def _external_id(body: Any) -> str | None:
    metadata = body.get("metadata") if isinstance(body, dict) else None
    external_id = metadata.get("externalId") if isinstance(metadata, dict) else None
    return external_id if isinstance(external_id, str) else None


def _check_metadata(value: Any) -> None:
    if value is None:
        return
    metadata = _check_object(value, "metadata")
    external_id = metadata.get("externalId")
    if external_id is not None and not nonempty_str(external_id):
        raise Invalid("metadata.externalId: must be a non-empty string")
    tags = metadata.get("tags")
    if tags is not None and not (
        isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)
    ):
        raise Invalid("metadata.tags: must be a list of strings")


async def create_document(request: web.Request) -> web.StreamResponse:
    """``POST /api/1.0/createdocument`` — a document from a Base64 PDF, sent at once."""
    if (denied := _authorize(request, DOCUMENTS_WRITE)) is not None:
        return denied
    if media_type(request) != "application/json":
        return _error(400, "Content-Type must be application/json")
    state = request.app[DANASIGN]
    try:
        body = await read_json_spilling(request, state.sandbox.workdir, MAX_BODY)
    except BodyError as exc:
        return _error(exc.status, str(exc))
    note_external_id(_external_id(body))
    blob: Blob | None = None
    try:
        if not isinstance(body, dict):
            raise Invalid("body must be a JSON object")
        for key in ("filename", "title"):
            if not nonempty_str(body.get(key)):
                raise Invalid(f"{key}: is required")
        signers = _check_signers(body.get("signers"))
        _check_placeholders(body.get("placeholders"), [s["role"] for s in signers])
        _check_prefill(body.get("prefill"))
        days = _check_settings(body.get("settings"))
        _check_metadata(body.get("metadata"))
        if body.get("file") is None:
            raise Invalid("file: is required (a Base64 PDF)")
        # The document is decoded last: cheap checks fail fast on big uploads.
        blob = await decode_pdf(body.get("file"), "file", state.sandbox.workdir)
    except Invalid as exc:
        if blob is not None:
            discard(blob)
        return _error(400, str(exc))
    finally:
        discard_spills(body)
    sent = now()
    stamp = iso(sent)
    request_copy = {key: value for key, value in body.items() if key != "file"}
    document = Document(
        document_id=object_id(),
        title=body["title"],
        status="sent",
        created_at=stamp,
        updated_at=stamp,
        external_id=_external_id(body),
        file=blob,
        request=request_copy,
    )
    state.add_document(document)
    return json_response(
        {
            "documentId": document.document_id,
            "status": "sent",
            "sentAt": stamp,
            "expiresAt": iso(sent + timedelta(days=days)),
        }
    )


def _template_roles(template: dict[str, Any]) -> list[str]:
    return [placeholder["Role"] for placeholder in template["Placeholders"]]


async def create_from_template(request: web.Request) -> web.StreamResponse:
    """``POST /api/1.0/createdocument/{template_id}`` — a draft from a template."""
    if (denied := _authorize(request, DOCUMENTS_WRITE)) is not None:
        return denied
    state = request.app[DANASIGN]
    template_id = request.match_info["template_id"]
    template = state.templates.get(template_id)
    if template is None:
        return _error(404, "template not found")
    try:
        body = await _json_object(request)
    except BadJson as exc:
        return _error(400, str(exc))
    note_external_id(_external_id(body))
    try:
        signers = _check_signers(body.get("signers"))
        roles = _template_roles(template)
        for index, signer in enumerate(signers):
            if signer["role"] not in roles:
                raise Invalid(
                    f"signers[{index}].role: template has no role {signer['role']!r} "
                    f"(roles: {', '.join(roles)})"
                )
        defaults = body.get("defaults")
        if defaults is not None:
            for index, raw in enumerate(_check_list(defaults, "defaults")):
                entry = _check_object(raw, f"defaults[{index}]")
                if not nonempty_str(entry.get("name")):
                    raise Invalid(f"defaults[{index}].name: must be a non-empty string")
                if "default" not in entry:
                    raise Invalid(f"defaults[{index}].default: is required")
        _check_metadata(body.get("metadata"))
    except Invalid as exc:
        return _error(400, str(exc))
    stamp = iso(now())
    document = Document(
        document_id=object_id(),
        title=template["Name"],
        status="draft",
        created_at=stamp,
        updated_at=stamp,
        external_id=_external_id(body),
        template_id=template_id,
        request=body,
    )
    state.add_document(document)
    return json_response(
        {
            "documentId": document.document_id,
            "templateId": template_id,
            "title": document.title,
            "status": "draft",
            "createdAt": stamp,
            "updatedAt": stamp,
        }
    )


async def list_templates(request: web.Request) -> web.StreamResponse:
    """``GET /api/1.0/templates?limit&skip&search``."""
    if (denied := _authorize(request, DOCUMENTS_READ)) is not None:
        return denied
    try:
        limit, skip = _paging(request)
    except Invalid as exc:
        return _error(400, str(exc))
    templates = sorted(request.app[DANASIGN].templates.values(), key=lambda t: t["createdAt"])
    search = request.query.get("search", "").strip().lower()
    if search:
        templates = [t for t in templates if search in t["Name"].lower()]
    summaries = [{key: copy.deepcopy(t[key]) for key in SUMMARY_KEYS} for t in templates]
    return json_response(_page(summaries, limit, skip))


async def get_template(request: web.Request) -> web.StreamResponse:
    """``GET /api/1.0/template/{template_id}``."""
    if (denied := _authorize(request, DOCUMENTS_READ)) is not None:
        return denied
    template = request.app[DANASIGN].templates.get(request.match_info["template_id"])
    if template is None:
        return _error(404, "template not found")
    return json_response({"data": template})


async def set_document_status(request: web.Request) -> web.StreamResponse:
    """``POST /_sandbox/documents/{document_id}/status`` ``{"status": "completed"}``."""
    document = request.app[DANASIGN].documents.get(request.match_info["document_id"])
    if document is None:
        return _error(404, "document not found")
    try:
        body = await read_small_json(request)
    except BadJson as exc:
        return _error(400, str(exc))
    status = body.get("status") if isinstance(body, dict) else None
    try:
        move_document(document, status)
    except ValueError as exc:
        return _error(400, str(exc))
    return json_response(document.summary())


def move_document(document: Document, status: object) -> None:
    """Give ``document`` a new status, one the platform knows.

    Raises:
        ValueError: An unknown status.
    """
    if not isinstance(status, str) or status not in DOCUMENT_STATUSES:
        raise ValueError(f"status must be one of {', '.join(sorted(DOCUMENT_STATUSES))}")
    document.status = status
    document.updated_at = iso(now())


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
