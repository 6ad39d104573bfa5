"""DANAsign contacts: create one, create a batch, list and search."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._danasign_http import authorize, error, json_object, page_of, paging
from ._danasign_state import CONTACTS_WRITE, DANASIGN, DanaSignState
from ._http import BadJson, iso, json_response, nonempty_str, now, object_id, valid_email
from ._uploads import Invalid

__all__ = ["batch_contacts", "create_contact", "list_contacts"]


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
    if (denied := authorize(request, CONTACTS_WRITE)) is not None:
        return denied
    try:
        body = await json_object(request)
        contact = _new_contact(
            request.app[DANASIGN], body.get("name"), body.get("email"), body.get("phone")
        )
    except (BadJson, Invalid) as exc:
        return error(400, str(exc))
    data = {key: contact[key] for key in ("objectId", "Name", "Email")}
    return json_response({"data": data}, status=201)


async def batch_contacts(request: web.Request) -> web.StreamResponse:
    """``POST /api/1.0/contacts/batch`` — PascalCase rows; bad rows count as failed."""
    if (denied := authorize(request, CONTACTS_WRITE)) is not None:
        return denied
    try:
        body = await json_object(request)
    except BadJson as exc:
        return error(400, str(exc))
    rows = body.get("contacts")
    if not isinstance(rows, list):
        return error(400, "contacts must be a list")
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
    if (denied := authorize(request, CONTACTS_WRITE)) is not None:
        return denied
    try:
        limit, skip = paging(request)
    except Invalid as exc:
        return error(400, str(exc))
    contacts = request.app[DANASIGN].contacts
    search = request.query.get("search", "").strip().lower()
    if search:
        contacts = [
            c for c in contacts if search in c["Name"].lower() or search in c["Email"].lower()
        ]
    return json_response(page_of(contacts, limit, skip))
