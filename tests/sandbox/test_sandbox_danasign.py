"""DANAsign emulation: API tokens, contacts, documents, templates."""

from __future__ import annotations

import base64
import copy
import re
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest

from signing_async.sandbox import Fault, Sandbox, samples

ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
API = "/api/1.0"


def document_body(external_id: str = "DOC-1", **changes: Any) -> dict[str, Any]:
    pdf = samples.make_pdf()
    body: dict[str, Any] = {
        "file": base64.b64encode(pdf).decode(),
        "filename": "contrato.pdf",
        "title": "Contrato",
        "signers": [
            {
                "role": "Firmante 1",
                "name": "María Gómez",
                "email": "mgomez@example.com",
                "identityVerification": {"enabled": True, "requireDocument": True, "threshold": 85},
            },
            {"role": "Firmante 2", "name": "Pedro", "email": "pedro@example.com"},
        ],
        "placeholders": [
            {"role": "Firmante 1", "widgets": [_widget()]},
            {"role": "Firmante 2", "widgets": [_widget(y=640), _widget(type="date")]},
        ],
        "prefill": [
            {
                **_widget(type="textbox"),
                "options": {"name": "cliente", "response": "ACME", "fontSize": 10},
            }
        ],
        "settings": {"sendInOrder": True, "timeToCompleteDays": 12, "bcc": [{"email": "l@x.co"}]},
        "metadata": {"externalId": external_id, "tags": ["a"]},
    }
    body.update(changes)
    return body


def _widget(**changes: Any) -> dict[str, Any]:
    widget: dict[str, Any] = {"type": "signature", "page": 1, "x": 120, "y": 520, "w": 220, "h": 60}
    widget.update(changes)
    return widget


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any = None,
) -> tuple[int, Any]:
    async with http.request(method, url, json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_session_and_whoami(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    key = {"x-danassign-api-key": sb.credentials.danasign_api_token}
    status, session = await call(http, "POST", f"{sb.url}/api/tokens/session", key)
    assert status == 200
    assert session["sessionToken"].startswith("r:")
    assert set(session["scopes"]) == {"contacts:write", "documents:write", "documents:read"}
    assert session["userId"]
    status, me = await call(http, "GET", f"{sb.url}/api/tokens/whoami", key)
    assert status == 200
    assert set(me["data"]) == {"userId", "email", "name", "scopes"}
    readonly = {"x-danassign-api-key": sb.credentials.danasign_readonly_token}
    _, me = await call(http, "GET", f"{sb.url}/api/tokens/whoami", readonly)
    assert me["data"]["scopes"] == ["documents:read"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/tokens/whoami", {}),
        ("/api/tokens/whoami", {"x-danassign-api-key": "wrong"}),
        # Each route family has its own header name: the other one is ignored.
        ("/api/tokens/whoami", {"x-api-token": "sandbox-api-token"}),
        (f"{API}/contacts", {"x-danassign-api-key": "sandbox-api-token"}),
        (f"{API}/templates", {"x-api-token": "nope"}),
        (f"{API}/templates", {"X-Parse-Session-Token": "r:unknown"}),
    ],
)
async def test_missing_or_invalid_token_is_405(
    sb: Sandbox, http: aiohttp.ClientSession, path: str, headers: dict[str, str]
) -> None:
    assert await call(http, "GET", f"{sb.url}{path}", headers) == (
        405,
        {"error": "Invalid API token"},
    )


async def test_scopes_are_enforced(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    readonly = {"x-api-token": sb.credentials.danasign_readonly_token}
    assert await call(http, "POST", f"{sb.url}{API}/contacts", readonly, {"name": "A"}) == (
        403,
        {"error": "missing scope contacts:write"},
    )
    assert await call(http, "POST", f"{sb.url}{API}/createdocument", readonly, {}) == (
        403,
        {"error": "missing scope documents:write"},
    )
    status, data = await call(http, "GET", f"{sb.url}{API}/documentlist/sent", readonly)
    assert (status, data) == (200, [])
    assert sb.created_count("DOC-1") == 0


async def test_session_token_works_on_api_routes(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    for token, expected in [
        (sb.credentials.danasign_api_token, 201),
        (sb.credentials.danasign_readonly_token, 403),
    ]:
        _, session = await call(
            http, "POST", f"{sb.url}/api/tokens/session", {"x-danassign-api-key": token}
        )
        status, _ = await call(
            http,
            "POST",
            f"{sb.url}{API}/contacts",
            {"X-Parse-Session-Token": session["sessionToken"]},
            {"name": "Ana", "email": f"ana{expected}@example.com"},
        )
        assert status == expected


async def test_create_contact_and_errors(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    url = f"{sb.url}{API}/contacts"
    status, data = await call(
        http, "POST", url, ds_headers, {"name": "Laura", "email": "laura@example.com"}
    )
    assert status == 201
    assert set(data["data"]) == {"objectId", "Name", "Email"}
    assert (data["data"]["Name"], data["data"]["Email"]) == ("Laura", "laura@example.com")
    for body, error in [
        ({"email": "x@example.com"}, "name is required (as Name or name)"),
        (
            {"name": "X", "email": "nope"},
            "email must be a valid e-mail address (as Email or email)",
        ),
        (
            {"Name": "X", "name": "Y", "email": "x@example.com"},
            "Name and name differ: send one of them",
        ),
        ({"name": "X", "email": "x@example.com", "phone": 5}, "phone must be a string"),
        ({"name": "Other", "email": "LAURA@example.com"}, "contact already exists"),
        ([1], "body must be a JSON object"),
    ]:
        assert await call(http, "POST", url, ds_headers, body) == (400, {"error": error})
    async with http.post(url, data="{", headers=ds_headers) as response:
        assert response.status == 400


async def test_contact_accepts_pascal_case_keys(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    body = {"Name": "Pascal", "Email": "pascal@example.com", "Phone": "555-0001"}
    status, data = await call(http, "POST", f"{sb.url}{API}/contacts", ds_headers, body)
    assert (status, data["data"]["Name"], data["data"]["Email"]) == (
        201,
        "Pascal",
        "pascal@example.com",
    )


async def test_batch_counts_success_and_failures(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    rows = [
        {"Name": "Ana Lote", "Email": "ana.lote@example.com"},
        {"Name": "Luis Lote", "Email": "luis.lote@example.com", "Phone": "555-0002"},
        {"Name": "Bad", "Email": "not-an-email"},
        {"Name": "Ana Again", "Email": "ana.lote@example.com"},
        {"name": "Lower Case", "email": "lower@example.com"},
        "not an object",
        {"nombre": "Unknown Keys", "correo": "unknown@example.com"},
    ]
    url = f"{sb.url}{API}/contacts/batch"
    # Lower-case keys (the single route's spelling) are accepted; every failed
    # row is counted and explained.
    assert await call(http, "POST", url, ds_headers, {"contacts": rows}) == (
        200,
        {
            "data": {
                "success": 3,
                "failed": 4,
                "errors": [
                    {
                        "index": 2,
                        "error": "email must be a valid e-mail address (as Email or email)",
                    },
                    {"index": 3, "error": "contact already exists"},
                    {"index": 5, "error": "not an object"},
                    {"index": 6, "error": "name is required (as Name or name)"},
                ],
            }
        },
    )
    assert await call(http, "POST", url, ds_headers, {"contacts": "x"}) == (
        400,
        {"error": "contacts must be a list"},
    )
    _, listed = await call(http, "GET", f"{sb.url}{API}/contacts", ds_headers)
    assert [c["Phone"] for c in listed["data"]] == [None, "555-0002", None]
    assert listed["data"][2]["Name"] == "Lower Case"


async def test_list_contacts_paginates_and_searches(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    names = ["Ana López", "Bruno", "Carla", "Mariana", "Zoe"]
    rows = [{"Name": n, "Email": f"user{i}@example.com"} for i, n in enumerate(names)]
    rows.append({"Name": "Pedro", "Email": "ANA.pedro@example.com"})
    await call(http, "POST", f"{sb.url}{API}/contacts/batch", ds_headers, {"contacts": rows})
    url = f"{sb.url}{API}/contacts"
    _, page = await call(http, "GET", f"{url}?limit=2&skip=1", ds_headers)
    assert [c["Name"] for c in page["data"]] == ["Bruno", "Carla"]
    assert page["pagination"] == {"limit": 2, "skip": 1, "total": 6, "hasMore": True}
    first = page["data"][0]
    assert set(first) == {"objectId", "Name", "Email", "Phone", "createdAt", "updatedAt"}
    assert ISO_Z.fullmatch(first["createdAt"])
    _, last = await call(http, "GET", f"{url}?limit=2&skip=4", ds_headers)
    assert last["pagination"]["hasMore"] is False
    _, found = await call(http, "GET", f"{url}?search=ANA", ds_headers)
    assert [c["Name"] for c in found["data"]] == ["Ana López", "Mariana", "Pedro"]
    assert found["pagination"] == {"limit": 20, "skip": 0, "total": 3, "hasMore": False}
    for query in ("limit=0", "limit=101", "limit=x", "skip=-1", "skip=y"):
        status, error = await call(http, "GET", f"{url}?{query}", ds_headers)
        assert status == 400
        assert "must be an integer" in error["error"]


async def test_create_document_and_list_it(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    status, data = await call(
        http, "POST", f"{sb.url}{API}/createdocument", ds_headers, document_body("EXT-7")
    )
    assert status == 200
    assert set(data) == {"documentId", "status", "sentAt", "expiresAt"}
    assert data["status"] == "sent"
    assert ISO_Z.fullmatch(data["sentAt"])
    sent = datetime.fromisoformat(data["sentAt"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(data["expiresAt"].replace("Z", "+00:00"))
    assert expires - sent == timedelta(days=12)
    assert sb.created_count("EXT-7") == 1
    assert sb.created_count("other") == 0
    (entry,) = sb.requests_for("danasign.createdocument")
    assert entry.external_id == "EXT-7"
    status, listed = await call(http, "GET", f"{sb.url}{API}/documentlist/sent", ds_headers)
    assert status == 200
    assert listed == [
        {
            "documentId": data["documentId"],
            "title": "Contrato",
            "status": "sent",
            "createdAt": data["sentAt"],
            "updatedAt": data["sentAt"],
        }
    ]


def _without(key: str) -> dict[str, Any]:
    body = document_body()
    del body[key]
    return body


def _edit(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(document_body())
    target: Any = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return body


NOT_PDF = base64.b64encode(b"GIF89a....").decode()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (_without("file"), "file: is required"),
        (_edit("file", "%%%"), "file: is not valid Base64"),
        (_edit("file", NOT_PDF), "file: is not a PDF"),
        (_edit("file", ""), "file: must be a non-empty Base64 string"),
        (_without("filename"), "filename: is required"),
        (_edit("title", "  "), "title: is required"),
        (_edit("signers", []), "signers: must be a non-empty list"),
        (_edit("signers.1.email", "x"), "signers[1].email"),
        (_edit("signers.1.role", "Firmante 1"), "duplicate role"),
        (_edit("signers.0.identityVerification.threshold", 101), "threshold"),
        (_edit("signers.0.identityVerification.enabled", "yes"), "enabled"),
        (_without("placeholders"), "placeholders: must be a non-empty list"),
        (_edit("placeholders.0.role", "Nobody"), "matches no signer"),
        (_edit("placeholders.1.widgets", [_widget(type="date")]), "signers[1]: role"),
        (_edit("placeholders.0.widgets.0.w", 0), "widgets[0].w: must be a number > 0"),
        (_edit("placeholders.0.widgets.0.page", 0), "widgets[0].page"),
        (_edit("placeholders.0.widgets.0.x", -1), "widgets[0].x"),
        (_edit("placeholders.0.widgets.0.type", "hologram"), "unknown widget type"),
        (_edit("prefill.0.options", {"response": "x"}), "prefill[0].options.name"),
        (_edit("settings.timeToCompleteDays", 0), "timeToCompleteDays"),
        (_edit("settings.bcc", [{"email": "bad"}]), "settings.bcc[0].email"),
        (_edit("metadata.tags", "a"), "metadata.tags"),
        (_edit("metadata.externalId", ""), "metadata.externalId"),
    ],
)
async def test_create_document_validation(
    sb: Sandbox,
    http: aiohttp.ClientSession,
    ds_headers: dict[str, str],
    body: dict[str, Any],
    error: str,
) -> None:
    status, data = await call(http, "POST", f"{sb.url}{API}/createdocument", ds_headers, body)
    assert status == 400
    assert error in data["error"]
    assert sb.created_count("DOC-1") == 0


async def test_create_document_with_a_large_pdf(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    pdf = samples.make_pdf(size=2_000_000)
    body = document_body("BIG", file=base64.b64encode(pdf).decode())
    status, data = await call(http, "POST", f"{sb.url}{API}/createdocument", ds_headers, body)
    assert (status, data["status"]) == (200, "sent")
    assert sb.created_count("BIG") == 1
    assert sb.requests_for("danasign.createdocument")[0].body_size > 2_000_000


async def test_status_fault_creates_nothing_and_drop_after_creates(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    url = f"{sb.url}{API}/createdocument"
    sb.faults.add(Fault(route="danasign.createdocument", status=500, times=1))
    status, data = await call(http, "POST", url, ds_headers, document_body("X"))
    assert (status, data) == (500, {"error": "Internal Server Error (injected by the sandbox)"})
    assert sb.created_count("X") == 0
    sb.faults.add(Fault(route="danasign.createdocument", drop="after", times=1))
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(http, "POST", url, ds_headers, document_body("X"))
    assert sb.created_count("X") == 1
    assert [(e.status, e.external_id) for e in sb.requests_for("danasign.createdocument")] == [
        (500, None),
        (None, "X"),
    ]


async def test_templates_list_search_and_get(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    status, listed = await call(http, "GET", f"{sb.url}{API}/templates", ds_headers)
    assert status == 200
    assert [t["Name"] for t in listed["data"]] == [
        "NDA",
        "Employment contract",
        "Service agreement",
    ]
    assert listed["pagination"] == {"limit": 20, "skip": 0, "total": 3, "hasMore": False}
    summary_keys = {
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
    }
    assert all(set(t) == summary_keys for t in listed["data"])
    shapes = [t["SignatureType"] for t in listed["data"]]
    assert shapes == [[{"name": "draw", "enabled": True}], ["draw"], ["draw"]]
    _, found = await call(http, "GET", f"{sb.url}{API}/templates?search=CONTRACT", ds_headers)
    assert [t["Name"] for t in found["data"]] == ["Employment contract"]
    _, paged = await call(http, "GET", f"{sb.url}{API}/templates?limit=2", ds_headers)
    assert paged["pagination"]["hasMore"] is True
    template_id = listed["data"][1]["objectId"]
    status, detail = await call(http, "GET", f"{sb.url}{API}/template/{template_id}", ds_headers)
    assert status == 200
    extra = {
        "IsEnableOTP",
        "AllowModifications",
        "NotifyOnSignatures",
        "RedirectUrl",
        "Placeholders",
        "Signers",
        "Bcc",
        "ExtUserPtr",
    }
    assert set(detail["data"]) == summary_keys | extra
    assert [p["Role"] for p in detail["data"]["Placeholders"]] == ["Employee", "Employer"]
    assert await call(http, "GET", f"{sb.url}{API}/template/nope", ds_headers) == (
        404,
        {"error": "template not found"},
    )


async def test_create_from_template(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    url = f"{sb.url}{API}/createdocument/Nda4Kq81Zp"
    body = {
        "signers": [
            {"role": "Party A", "name": "Ana", "email": "ana@example.com"},
            {"role": "Party B", "name": "Ventas", "email": "ventas@example.com"},
        ],
        "defaults": [{"name": "date", "default": "2025-12-31"}],
        "metadata": {"externalId": "TPL-1", "tags": ["contratos"]},
    }
    status, data = await call(http, "POST", url, ds_headers, body)
    assert status == 200
    assert set(data) == {"documentId", "templateId", "title", "status", "createdAt", "updatedAt"}
    assert (data["templateId"], data["title"], data["status"]) == ("Nda4Kq81Zp", "NDA", "draft")
    assert sb.created_count("TPL-1") == 1
    _, drafts = await call(http, "GET", f"{sb.url}{API}/documentlist/draft", ds_headers)
    assert [d["documentId"] for d in drafts] == [data["documentId"]]
    bad_role = {**body, "signers": [{"role": "Cliente", "name": "A", "email": "a@example.com"}]}
    status, error = await call(http, "POST", url, ds_headers, bad_role)
    assert status == 400
    assert "template has no role 'Cliente'" in error["error"]
    bad_default = {**body, "defaults": [{"default": "x"}]}
    assert (await call(http, "POST", url, ds_headers, bad_default))[0] == 400
    assert await call(http, "POST", f"{sb.url}{API}/createdocument/nope", ds_headers, body) == (
        404,
        {"error": "template not found"},
    )
    assert sb.created_count("TPL-1") == 1


async def test_document_list_status_paging_and_control(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    ids = []
    for index in range(3):
        _, data = await call(
            http, "POST", f"{sb.url}{API}/createdocument", ds_headers, document_body(f"D{index}")
        )
        ids.append(data["documentId"])
    _, page = await call(http, "GET", f"{sb.url}{API}/documentlist/sent?limit=2&skip=1", ds_headers)
    assert [d["documentId"] for d in page] == ids[1:]
    async with http.post(
        f"{sb.url}/_sandbox/documents/{ids[0]}/status", json={"status": "completed"}
    ) as response:
        assert response.status == 200
        assert (await response.json())["status"] == "completed"
    _, completed = await call(http, "GET", f"{sb.url}{API}/documentlist/completed", ds_headers)
    assert [d["documentId"] for d in completed] == [ids[0]]
    _, sent = await call(http, "GET", f"{sb.url}{API}/documentlist/sent", ds_headers)
    assert [d["documentId"] for d in sent] == ids[1:]
    assert await call(http, "GET", f"{sb.url}{API}/documentlist/lost", ds_headers) == (
        400,
        {"error": "unknown status 'lost'"},
    )
    async with http.post(
        f"{sb.url}/_sandbox/documents/{ids[0]}/status", json={"status": "finished"}
    ) as response:
        assert response.status == 400
    async with http.post(
        f"{sb.url}/_sandbox/documents/nope/status", json={"status": "completed"}
    ) as response:
        assert (response.status, await response.json()) == (404, {"error": "document not found"})


async def test_reset_forgets_contacts_and_documents(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    await call(
        http, "POST", f"{sb.url}{API}/contacts", ds_headers, {"name": "A", "email": "a@b.co"}
    )
    await call(http, "POST", f"{sb.url}{API}/createdocument", ds_headers, document_body("R"))
    sb.reset()
    _, contacts = await call(http, "GET", f"{sb.url}{API}/contacts", ds_headers)
    assert contacts["data"] == []
    assert sb.created_count("R") == 0
    _, templates = await call(http, "GET", f"{sb.url}{API}/templates", ds_headers)
    assert templates["pagination"]["total"] == 3
