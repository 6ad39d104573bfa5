"""client.contacts: wire format, batch PascalCase, pagination, validation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from danasign_helpers import SERVER, TOKEN, MakeClient, body, path, query, reply

import signing_async as sa
from signing_async.transports import RecordedRequest


def contact_row(index: int) -> dict[str, Any]:
    return {
        "objectId": f"c{index:03d}",
        "Name": f"Person {index}",
        "Email": f"person{index}@example.com",
        "Phone": f"555-{index:04d}",
        "createdAt": "2025-03-10T12:34:56.789Z",
        "updatedAt": "2025-03-11T09:15:00.000Z",
    }


def contacts_server(count: int) -> Any:
    """A handler serving ``count`` contacts with limit/skip/hasMore pagination."""
    rows = [contact_row(i) for i in range(count)]

    def handler(request: RecordedRequest) -> sa.Response:
        params = query(request)
        limit, skip = int(params["limit"]), int(params["skip"])
        chunk = rows[skip : skip + limit]
        return reply(
            {
                "data": chunk,
                "pagination": {
                    "limit": limit,
                    "skip": skip,
                    "total": count,
                    "hasMore": skip + len(chunk) < count,
                },
            }
        )

    return handler


async def test_create_sends_lowercase_body_with_api_token_header(make_client: MakeClient) -> None:
    client, transport = make_client(
        lambda r: reply(
            {"data": {"objectId": "mKJ82GH1", "Name": "Laura Test", "Email": "laura@example.com"}},
            201,
        )
    )
    contact = await client.contacts.create(
        name="Laura Test", email="laura@example.com", phone="555-1234"
    )
    (request,) = transport.requests
    assert request.method == "POST"
    assert request.url == f"{SERVER}/api/1.0/contacts"
    assert request.headers["x-api-token"] == TOKEN
    assert "x-danassign-api-key" not in request.headers
    assert request.headers["Content-Type"] == "application/json"
    assert body(request) == {
        "name": "Laura Test",
        "email": "laura@example.com",
        "phone": "555-1234",
    }
    assert contact.object_id == "mKJ82GH1"
    assert contact.name == "Laura Test"
    assert contact.email == "laura@example.com"


async def test_create_without_phone_leaves_it_out(make_client: MakeClient) -> None:
    client, transport = make_client(lambda r: reply({"data": {"objectId": "x1"}}, 201))
    await client.contacts.create(name="Ana", email="ana@example.com")
    assert body(transport.requests[0]) == {"name": "Ana", "email": "ana@example.com"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "", "email": "ana@example.com"}, "name"),
        ({"name": "Ana", "email": "not-an-email"}, "email"),
        ({"name": "Ana", "email": "ana@example.com", "phone": "  "}, "phone"),
    ],
)
async def test_create_validates_before_sending(
    make_client: MakeClient, kwargs: dict[str, Any], field: str
) -> None:
    client, transport = make_client(lambda r: reply({}))
    with pytest.raises(sa.ValidationError) as caught:
        await client.contacts.create(**kwargs)
    assert caught.value.field == field
    assert transport.requests == []


async def test_create_batch_sends_pascal_case(make_client: MakeClient) -> None:
    client, transport = make_client(lambda r: reply({"data": {"success": 2, "failed": 0}}))
    result = await client.contacts.create_batch(
        [
            sa.NewContact(name="Ana Lote", email="ana.lote@example.com"),
            {"name": "Luis Lote", "email": "luis.lote@example.com", "phone": "555-0002"},
        ]
    )
    (request,) = transport.requests
    assert request.method == "POST"
    assert path(request) == "/api/1.0/contacts/batch"
    assert request.headers["x-api-token"] == TOKEN
    assert body(request) == {
        "contacts": [
            {"Name": "Ana Lote", "Email": "ana.lote@example.com"},
            {"Name": "Luis Lote", "Email": "luis.lote@example.com", "Phone": "555-0002"},
        ]
    }
    assert result == sa.BatchResult(success=2, failed=0)


async def test_create_batch_consumes_a_generator(make_client: MakeClient) -> None:
    client, transport = make_client(lambda r: reply({"success": 3, "failed": 1}))
    result = await client.contacts.create_batch(
        sa.NewContact(name=f"P{i}", email=f"p{i}@example.com") for i in range(4)
    )
    assert len(body(transport.requests[0])["contacts"]) == 4
    assert (result.success, result.failed) == (3, 1)


@pytest.mark.parametrize(
    ("contacts", "field"),
    [
        ([], "contacts"),
        (
            [{"name": "A", "email": "a@example.com"}, {"name": "B", "email": "b@"}],
            "contacts[1].email",
        ),
        ([{"name": "", "email": "a@example.com"}], "contacts[0].name"),
        ([{"name": "A", "emial": "a@example.com"}], "contacts[0].emial"),
        ([{"name": "A"}], "contacts[0].email"),
        (["a@example.com"], "contacts[0]"),
        ({"name": "A", "email": "a@example.com"}, "contacts"),
    ],
)
async def test_create_batch_validates_before_sending(
    make_client: MakeClient, contacts: Any, field: str
) -> None:
    client, transport = make_client(lambda r: reply({}))
    with pytest.raises(sa.ValidationError) as caught:
        await client.contacts.create_batch(contacts)
    assert caught.value.field == field
    assert transport.requests == []


async def test_list_walks_45_contacts_in_three_requests(make_client: MakeClient) -> None:
    client, transport = make_client(contacts_server(45))
    contacts = [contact async for contact in client.contacts.list(page_size=20)]
    assert len(contacts) == 45
    assert [c.object_id for c in contacts] == [f"c{i:03d}" for i in range(45)]
    assert [query(r) for r in transport.requests] == [
        {"limit": "20", "skip": "0"},
        {"limit": "20", "skip": "20"},
        {"limit": "20", "skip": "40"},
    ]
    assert all(r.method == "GET" and path(r) == "/api/1.0/contacts" for r in transport.requests)
    assert all(r.headers["x-api-token"] == TOKEN for r in transport.requests)
    first = contacts[0]
    assert first.phone == "555-0000"
    assert first.created_at == dt.datetime(2025, 3, 10, 12, 34, 56, 789000, tzinfo=dt.timezone.utc)


async def test_list_is_lazy_and_first_page_sends_one_request(make_client: MakeClient) -> None:
    client, transport = make_client(contacts_server(45))
    pager = client.contacts.list(page_size=20)
    assert transport.requests == []
    page = await pager.first_page()
    assert len(transport.requests) == 1
    assert isinstance(page, sa.Page)
    assert len(page.items) == 20
    assert page.total == 45
    assert page.has_more is True


async def test_list_pages_and_search(make_client: MakeClient) -> None:
    client, transport = make_client(contacts_server(45))
    sizes = [len(page.items) async for page in client.contacts.list(search="ana").pages()]
    assert sizes == [20, 20, 5]
    assert {query(r)["search"] for r in transport.requests} == {"ana"}


async def test_list_stops_when_has_more_is_false(make_client: MakeClient) -> None:
    client, transport = make_client(contacts_server(3))
    contacts = [c async for c in client.contacts.list(page_size=100)]
    assert len(contacts) == 3
    assert len(transport.requests) == 1


@pytest.mark.parametrize("page_size", [0, 101, -5])
async def test_list_rejects_page_size_before_sending(
    make_client: MakeClient, page_size: int
) -> None:
    client, transport = make_client(contacts_server(3))
    with pytest.raises(sa.ValidationError) as caught:
        client.contacts.list(page_size=page_size)
    assert caught.value.field == "page_size"
    assert transport.requests == []


async def test_list_get_is_retried_after_500(make_client: MakeClient) -> None:
    serve = contacts_server(2)
    answers = iter([reply({"error": "boom"}, 500)])

    def handler(request: RecordedRequest) -> sa.Response:
        return next(answers, None) or serve(request)

    client, transport = make_client(handler)
    contacts = [c async for c in client.contacts.list()]
    assert len(contacts) == 2
    assert len(transport.requests) == 2


async def test_create_post_is_not_retried_after_500(make_client: MakeClient) -> None:
    client, transport = make_client(lambda r: reply({"error": "internal"}, 500))
    with pytest.raises(sa.ServerError):
        await client.contacts.create(name="Ana", email="ana@example.com")
    assert len(transport.requests) == 1
