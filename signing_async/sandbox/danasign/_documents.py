"""DANAsign documents: the status lists, creation from a PDF or a template, the status control."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from .._blobs import Blob
from .._http import (
    MAX_BODY,
    iso,
    json_response,
    media_type,
    nonempty_str,
    now,
    object_id,
)
from .._jsonbody import BodyError, discard_spills, read_json_spilling, read_small_json
from .._log import note_external_id
from .._uploads import Invalid, decode_pdf, discard
from ._checks import (
    check_entries,
    check_metadata,
    check_placeholders,
    check_prefill,
    check_settings,
    check_signers,
)
from ._http import authorize, error, json_object, paging
from ._state import (
    DANASIGN,
    DOCUMENT_STATUSES,
    DOCUMENTS_READ,
    DOCUMENTS_WRITE,
    DanaSignState,
    Document,
    move_document,
)

__all__ = ["create_document", "create_from_template", "list_documents", "set_document_status"]


async def list_documents(request: web.Request) -> web.StreamResponse:
    """``GET /api/1.0/documentlist/{status}?limit&skip`` — a bare array."""
    if (denied := authorize(request, DOCUMENTS_READ)) is not None:
        return denied
    status = request.match_info["status"]
    if status not in DOCUMENT_STATUSES:
        return error(400, f"unknown status {status!r}")
    try:
        limit, skip = paging(request)
    except Invalid as exc:
        return error(400, str(exc))
    matching = [d.summary() for d in request.app[DANASIGN].documents.values() if d.status == status]
    return json_response(matching[skip : skip + limit])


def _external_id(body: Any) -> str | None:
    metadata = body.get("metadata") if isinstance(body, dict) else None
    external_id = metadata.get("externalId") if isinstance(metadata, dict) else None
    return external_id if isinstance(external_id, str) else None


async def create_document(request: web.Request) -> web.StreamResponse:
    """``POST /api/1.0/createdocument`` — a document from a Base64 PDF, sent at once."""
    if (denied := authorize(request, DOCUMENTS_WRITE)) is not None:
        return denied
    if media_type(request) != "application/json":
        return error(400, "Content-Type must be application/json")
    state = request.app[DANASIGN]
    try:
        body = await read_json_spilling(request, state.sandbox.workdir, MAX_BODY)
    except BodyError as exc:
        return error(exc.status, str(exc))
    note_external_id(_external_id(body))
    blob: Blob | None = None
    try:
        if not isinstance(body, dict):
            raise Invalid("body must be a JSON object")
        for key in ("filename", "title"):
            if not nonempty_str(body.get(key)):
                raise Invalid(f"{key}: is required")
        signers = check_signers(body.get("signers"))
        check_placeholders(body.get("placeholders"), [s["role"] for s in signers])
        check_prefill(body.get("prefill"))
        days = check_settings(body.get("settings"))
        check_metadata(body.get("metadata"))
        if body.get("file") is None:
            raise Invalid("file: is required (a Base64 PDF)")
        # The document is decoded last: cheap checks fail fast on big uploads.
        blob = await decode_pdf(body.get("file"), "file", state.sandbox.workdir)
    except Invalid as exc:
        if blob is not None:
            discard(blob)
        return error(400, str(exc))
    finally:
        discard_spills(body)
    sent = now()
    request_copy = {key: value for key, value in body.items() if key != "file"}
    document = _add_document(
        state, body, sent, title=body["title"], status="sent", file=blob, request=request_copy
    )
    stamp = document.created_at
    return json_response(
        {
            "documentId": document.document_id,
            "status": "sent",
            "sentAt": stamp,
            "expiresAt": iso(sent + timedelta(days=days)),
        }
    )


def _add_document(
    state: DanaSignState, body: dict[str, Any], at: datetime, **fields: Any
) -> Document:
    """A new document, created at ``at`` from the request ``body``, kept in ``state``."""
    stamp = iso(at)
    document = Document(
        document_id=object_id(),
        created_at=stamp,
        updated_at=stamp,
        external_id=_external_id(body),
        **fields,
    )
    state.add_document(document)
    return document


def _template_roles(template: dict[str, Any]) -> list[str]:
    return [placeholder["Role"] for placeholder in template["Placeholders"]]


async def create_from_template(request: web.Request) -> web.StreamResponse:
    """``POST /api/1.0/createdocument/{template_id}`` — a draft from a template."""
    if (denied := authorize(request, DOCUMENTS_WRITE)) is not None:
        return denied
    state = request.app[DANASIGN]
    template_id = request.match_info["template_id"]
    template = state.templates.get(template_id)
    if template is None:
        return error(404, "template not found")
    try:
        body = await json_object(request)
    except BodyError as exc:
        return error(exc.status, str(exc))
    note_external_id(_external_id(body))
    try:
        signers = check_signers(body.get("signers"))
        roles = _template_roles(template)
        for index, signer in enumerate(signers):
            if signer["role"] not in roles:
                raise Invalid(
                    f"signers[{index}].role: template has no role {signer['role']!r} "
                    f"(roles: {', '.join(roles)})"
                )
        for field, entry in check_entries(body.get("defaults"), "defaults"):
            if not nonempty_str(entry.get("name")):
                raise Invalid(f"{field}.name: must be a non-empty string")
            if "default" not in entry:
                raise Invalid(f"{field}.default: is required")
        check_metadata(body.get("metadata"))
    except Invalid as exc:
        return error(400, str(exc))
    document = _add_document(
        state,
        body,
        now(),
        title=template["Name"],
        status="draft",
        template_id=template_id,
        request=body,
    )
    stamp = document.created_at
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


async def set_document_status(request: web.Request) -> web.StreamResponse:
    """``POST /_sandbox/documents/{document_id}/status`` ``{"status": "completed"}``."""
    document = request.app[DANASIGN].documents.get(request.match_info["document_id"])
    if document is None:
        return error(404, "document not found")
    try:
        body = await read_small_json(request)
    except BodyError as exc:
        return error(exc.status, str(exc))
    status = body.get("status") if isinstance(body, dict) else None
    try:
        move_document(document, status)
    except ValueError as exc:
        return error(400, str(exc))
    return json_response(document.summary())
