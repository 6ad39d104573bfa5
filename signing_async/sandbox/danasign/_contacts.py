"""DANAsign contacts: create one, create a batch, list and search."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .._http import iso, json_response, nonempty_str, now, object_id, valid_email
from .._jsonbody import BodyError
from .._uploads import Invalid
from ._http import authorize, error, json_object, page_of, paging
from ._state import CONTACTS_WRITE, DANASIGN, DanaSignState

__all__ = ["batch_contacts", "create_contact", "list_contacts"]


def _field(row: dict[str, Any], name: str) -> Any:
    """A contact field under either spelling: ``Name`` (the batch route's) or ``name``.

    The provider spells the single route's keys in lower case and the batch
    route's in PascalCase. Clients mix them up, and a row whose fields are not
    found would fail without saying why, so both routes accept both spellings.

    Raises:
        Invalid: If both spellings are present with different values.
    """
    pascal, lower = row.get(name.capitalize()), row.get(name)
    if pascal is not None and lower is not None and pascal != lower:
        raise Invalid(f"{name.capitalize()} and {name} differ: send one of them")
    return pascal if pascal is not None else lower


def _new_contact(state: DanaSignState, row: dict[str, Any]) -> dict[str, Any]:
    """Store a contact from a row with ``name``, ``email`` and ``phone`` (either spelling).

    Raises:
        Invalid: For a missing name, an invalid e-mail or a duplicate.
    """
    name, email, phone = (_field(row, key) for key in ("name", "email", "phone"))
    if not nonempty_str(name):
        raise Invalid("name is required (as Name or name)")
    if not valid_email(email):
        raise Invalid("email must be a valid e-mail address (as Email or email)")
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
    """``POST /api/1.0/contacts`` ``{"name", "email", "phone"?}`` (``Name``... also accepted)."""
    if (denied := authorize(request, CONTACTS_WRITE)) is not None:
        return denied
    try:
        contact = _new_contact(request.app[DANASIGN], await json_object(request))
    except BodyError as exc:
        return error(exc.status, str(exc))
    except Invalid as exc:
        return error(400, str(exc))
    data = {key: contact[key] for key in ("objectId", "Name", "Email")}
    return json_response({"data": data}, status=201)


async def batch_contacts(request: web.Request) -> web.StreamResponse:
    """``POST /api/1.0/contacts/batch`` ``{"contacts": [{"Name", "Email", "Phone"?}]}``.

    Rows may also use lower-case keys. Bad rows count as ``failed`` and the
    answer says why in ``errors`` (``[{"index", "error"}]``, present only when a
    row failed): a batch never fails without a reason.
    """
    if (denied := authorize(request, CONTACTS_WRITE)) is not None:
        return denied
    try:
        body = await json_object(request)
    except BodyError as exc:
        return error(exc.status, str(exc))
    rows = body.get("contacts")
    if not isinstance(rows, list):
        return error(400, "contacts must be a list")
    state = request.app[DANASIGN]
    success = 0
    errors: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        try:
            if not isinstance(row, dict):
                raise Invalid("not an object")
            _new_contact(state, row)
            success += 1
        except Invalid as exc:
            errors.append({"index": index, "error": str(exc)})
    data: dict[str, Any] = {"success": success, "failed": len(errors)}
    if errors:
        data["errors"] = errors
    return json_response({"data": data})


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
