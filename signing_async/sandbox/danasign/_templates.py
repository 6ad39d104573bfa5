"""DANAsign templates: the list (summaries, searchable) and one template in full."""

from __future__ import annotations

import copy

from aiohttp import web

from .._http import json_response
from .._uploads import Invalid
from ._http import authorize, error, page_of, paging
from ._state import DANASIGN, DOCUMENTS_READ

__all__ = ["get_template", "list_templates"]

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


async def list_templates(request: web.Request) -> web.StreamResponse:
    """``GET /api/1.0/templates?limit&skip&search``."""
    if (denied := authorize(request, DOCUMENTS_READ)) is not None:
        return denied
    try:
        limit, skip = paging(request)
    except Invalid as exc:
        return error(400, str(exc))
    templates = sorted(request.app[DANASIGN].templates.values(), key=lambda t: t["createdAt"])
    search = request.query.get("search", "").strip().lower()
    if search:
        templates = [t for t in templates if search in t["Name"].lower()]
    summaries = [{key: copy.deepcopy(t[key]) for key in SUMMARY_KEYS} for t in templates]
    return json_response(page_of(summaries, limit, skip))


async def get_template(request: web.Request) -> web.StreamResponse:
    """``GET /api/1.0/template/{template_id}``."""
    if (denied := authorize(request, DOCUMENTS_READ)) is not None:
        return denied
    template = request.app[DANASIGN].templates.get(request.match_info["template_id"])
    if template is None:
        return error(404, "template not found")
    return json_response({"data": template})
