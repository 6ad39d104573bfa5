"""client.templates: listing, SignatureType in both shapes, the full template."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from danasign_helpers import SERVER, TOKEN, MakeClient, path, query, reply

import signing_async as sa
from signing_async.transports import RecordedRequest

SUMMARY: dict[str, Any] = {
    "objectId": "K8uV4NgY1z",
    "Name": "Contrato estándar",
    "Description": "Plantilla base para clientes nuevos",
    "SignatureType": ["draw"],
    "SendinOrder": True,
    "AutomaticReminders": False,
    "TimeToCompleteDays": 15,
    "RemindOnceInEvery": 5,
    "updatedAt": "2025-03-10T12:34:56.789Z",
    "createdAt": "2025-01-05T10:00:00.000Z",
}

OPENSIGN_TYPES = [
    {"name": "draw", "enabled": True},
    {"name": "typed", "enabled": False},
    {"name": "upload", "enabled": True},
]


def listing(*rows: dict[str, Any]) -> Any:
    def handler(request: RecordedRequest) -> sa.Response:
        return reply(
            {
                "data": list(rows),
                "pagination": {"limit": 20, "skip": 0, "total": len(rows), "hasMore": False},
            }
        )

    return handler


async def test_list_wire_format_and_decoding(make_client: MakeClient) -> None:
    client, transport = make_client(listing(SUMMARY))
    templates = [t async for t in client.templates.list(search="contrato", page_size=5)]
    (request,) = transport.requests
    assert request.method == "GET"
    assert path(request) == "/api/1.0/templates"
    assert request.url.startswith(f"{SERVER}/api/1.0/templates?")
    assert query(request) == {"limit": "5", "skip": "0", "search": "contrato"}
    assert request.headers["x-api-token"] == TOKEN
    (template,) = templates
    assert template == sa.TemplateSummary(
        object_id="K8uV4NgY1z",
        name="Contrato estándar",
        description="Plantilla base para clientes nuevos",
        signature_type=("draw",),
        send_in_order=True,
        automatic_reminders=False,
        time_to_complete_days=15,
        remind_once_in_every=5,
        created_at=dt.datetime(2025, 1, 5, 10, tzinfo=dt.timezone.utc),
        updated_at=dt.datetime(2025, 3, 10, 12, 34, 56, 789000, tzinfo=dt.timezone.utc),
    )


@pytest.mark.parametrize(
    ("signature_type", "expected"),
    [
        (["draw"], ("draw",)),
        (["draw", "typed"], ("draw", "typed")),
        (OPENSIGN_TYPES, ("draw", "upload")),
        ([], ()),
    ],
)
async def test_list_accepts_both_signature_type_shapes(
    make_client: MakeClient, signature_type: Any, expected: tuple[str, ...]
) -> None:
    client, _ = make_client(listing({**SUMMARY, "SignatureType": signature_type}))
    page = await client.templates.list().first_page()
    assert page.items[0].signature_type == expected


async def test_list_pages_with_has_more(make_client: MakeClient) -> None:
    rows = [{**SUMMARY, "objectId": f"t{i}"} for i in range(7)]

    def handler(request: RecordedRequest) -> sa.Response:
        params = query(request)
        skip, limit = int(params["skip"]), int(params["limit"])
        return reply(
            {
                "data": rows[skip : skip + limit],
                "pagination": {"limit": limit, "skip": skip, "hasMore": skip + limit < 7},
            }
        )

    client, transport = make_client(handler)
    ids = [t.object_id async for t in client.templates.list(page_size=3)]
    assert ids == [f"t{i}" for i in range(7)]
    assert [query(r)["skip"] for r in transport.requests] == ["0", "3", "6"]


async def test_list_rejects_page_size(make_client: MakeClient) -> None:
    client, transport = make_client(listing())
    with pytest.raises(sa.ValidationError) as caught:
        client.templates.list(page_size=1000)
    assert caught.value.field == "page_size"
    assert transport.requests == []


async def test_get_decodes_the_full_template(make_client: MakeClient) -> None:
    detail = {
        **SUMMARY,
        "SignatureType": OPENSIGN_TYPES,
        "IsEnableOTP": True,
        "AllowModifications": False,
        "NotifyOnSignatures": True,
        "RedirectUrl": None,
        "Placeholders": [
            {
                "Id": 1,
                "Role": "Cliente",
                "blockColor": "#93a3db",
                "placeHolder": [
                    {
                        "pageNumber": 2,
                        "pos": [
                            {
                                "type": "signature",
                                "xPosition": 120,
                                "yPosition": 520.5,
                                "Width": 220,
                                "Height": 60,
                                "options": {"status": "required"},
                            },
                        ],
                    }
                ],
            },
            "an entry of a shape nobody documented",
        ],
        "Signers": [{"objectId": "c1", "Name": "Ana"}],
        "Bcc": [],
        "ExtUserPtr": {"objectId": "u1"},
        "SomethingNew": {"nested": 1},
    }
    client, transport = make_client(lambda r: reply({"data": detail}))
    template = await client.templates.get("K8uV4NgY1z")
    (request,) = transport.requests
    assert request.method == "GET"
    assert request.url == f"{SERVER}/api/1.0/template/K8uV4NgY1z"
    assert request.headers["x-api-token"] == TOKEN
    assert isinstance(template, sa.Template)
    assert isinstance(template, sa.TemplateSummary)
    assert template.name == "Contrato estándar"
    assert template.signature_type == ("draw", "upload")
    assert template.send_in_order is True
    assert template.is_enable_otp is True
    assert template.notify_on_signatures is True
    assert template.redirect_url is None
    first, odd = template.placeholders
    assert (first.role, first.id, first.raw) == ("Cliente", "1", {"blockColor": "#93a3db"})
    (widget,) = first.widgets
    assert widget == sa.TemplateWidget("signature", page=2, x=120, y=520.5, w=220, h=60)
    assert widget.raw == {"options": {"status": "required"}}
    # An unknown shape is kept, not an error.
    assert (odd.role, odd.widgets) == (None, ())
    assert odd.raw == {"value": "an entry of a shape nobody documented"}
    assert template.signers[0]["Name"] == "Ana"
    assert template.ext_user_ptr == {"objectId": "u1"}
    assert template.raw == {"SomethingNew": {"nested": 1}}


async def test_get_missing_template_is_not_found(make_client: MakeClient) -> None:
    client, transport = make_client(lambda r: reply({"error": "Template not found"}, 404))
    with pytest.raises(sa.NotFoundError) as caught:
        await client.templates.get("nope")
    assert caught.value.status == 404
    assert caught.value.message == "Template not found"
    assert "DANAsign" in str(caught.value)
    assert len(transport.requests) == 1


async def test_get_rejects_an_empty_id(make_client: MakeClient) -> None:
    client, transport = make_client(lambda r: reply({}))
    with pytest.raises(sa.ValidationError) as caught:
        await client.templates.get("")
    assert caught.value.field == "template_id"
    assert transport.requests == []
