"""DANAsign error mapping, envelopes, unknown keys, and secrets kept out of sight."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from danasign_helpers import TOKEN, MakeClient, reply

import signing_async as sa
from signing_async.transports import RecordedRequest


@pytest.mark.parametrize(
    ("status", "error_body", "cls", "text"),
    [
        (400, {"error": "limit must be between 1 and 100"}, sa.BadRequestError, "limit must be"),
        (
            403,
            {"error": "token lacks scope contacts:write"},
            sa.PermissionDeniedError,
            "lacks scope",
        ),
        (404, {"message": "Contact not found"}, sa.NotFoundError, "Contact not found"),
        (
            405,
            {"error": "Invalid or missing API token"},
            sa.AuthenticationError,
            "Invalid or missing",
        ),
        (500, {"error": "Unexpected failure"}, sa.ServerError, "Unexpected failure"),
    ],
)
async def test_status_mapping(
    make_client: MakeClient, status: int, error_body: Any, cls: type[sa.APIError], text: str
) -> None:
    client, transport = make_client(lambda r: reply(error_body, status))
    with pytest.raises(cls) as caught:
        await client.contacts.create(name="Ana", email="ana@example.com")
    error = caught.value
    assert error.status == status
    assert error.provider == "DANAsign"
    assert text in error.message
    assert text in str(error)
    assert "create contact" in str(error)
    assert len(transport.requests) == 1  # a POST: nothing here is retried


async def test_405_is_not_method_not_allowed(make_client: MakeClient) -> None:
    client, _ = make_client(lambda r: sa.Response(405, content=b"Token invalid"))
    with pytest.raises(sa.AuthenticationError) as caught:
        await client.templates.get("t1")
    assert caught.value.message == "Token invalid"


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Allow": "POST"}, b'{"error": "Invalid API token"}'),
        ({}, b'{"error": "method not allowed: GET /api/1.0/contacts/batch accepts POST"}'),
        ({"Allow": "GET, HEAD"}, b"405: Method Not Allowed"),
    ],
)
async def test_a_real_method_not_allowed_is_not_an_authentication_error(
    make_client: MakeClient, headers: dict[str, str], body: bytes
) -> None:
    # HTTP requires Allow on a real 405; DANAsign's token refusal has none.
    client, _ = make_client(lambda r: sa.Response(405, headers=headers, content=body))
    with pytest.raises(sa.APIError) as caught:
        await client.templates.get("t1")
    assert not isinstance(caught.value, sa.AuthenticationError)
    assert caught.value.status == 405


async def test_permission_error_on_a_listing(make_client: MakeClient) -> None:
    client, transport = make_client(lambda r: reply({"error": "documents:read required"}, 403))
    with pytest.raises(sa.PermissionDeniedError) as caught:
        await client.documents.list("draft").first_page()
    assert "documents:read required" in str(caught.value)
    assert len(transport.requests) == 1


CONTACT = {"objectId": "c1", "Name": "Ana", "Email": "ana@example.com"}


@pytest.mark.parametrize(
    "answer",
    [
        {"data": CONTACT},
        {"result": CONTACT},
        {"result": {"data": CONTACT}},
        CONTACT,
    ],
)
async def test_object_envelopes(make_client: MakeClient, answer: Any) -> None:
    client, _ = make_client(lambda r: reply(answer, 201))
    contact = await client.contacts.create(name="Ana", email="ana@example.com")
    assert (contact.object_id, contact.name, contact.email) == ("c1", "Ana", "ana@example.com")


ROWS = [{"objectId": f"c{i}", "Name": f"N{i}", "Email": f"n{i}@example.com"} for i in range(3)]


@pytest.mark.parametrize(
    ("answer", "total", "has_more"),
    [
        ({"data": ROWS, "pagination": {"total": 9, "hasMore": True}}, 9, True),
        ({"result": {"data": ROWS, "pagination": {"total": 3, "hasMore": False}}}, 3, False),
        ({"result": ROWS}, None, False),
        (ROWS, None, False),
        ({"data": ROWS, "pagination": {"total": 4}}, 4, True),
    ],
)
async def test_list_envelopes(
    make_client: MakeClient, answer: Any, total: int | None, has_more: bool
) -> None:
    client, _ = make_client(lambda r: reply(answer))
    page = await client.contacts.list(page_size=10).first_page()
    assert [c.object_id for c in page.items] == ["c0", "c1", "c2"]
    assert page.total == total
    assert page.has_more is has_more


async def test_unknown_keys_are_kept_in_raw(make_client: MakeClient) -> None:
    client, _ = make_client(
        lambda r: reply({"data": {**CONTACT, "TenantId": "t9", "Extra": {"a": [1]}}}, 201)
    )
    contact = await client.contacts.create(name="Ana", email="ana@example.com")
    assert contact.object_id == "c1"
    assert contact.raw == {"TenantId": "t9", "Extra": {"a": [1]}}


async def test_an_answer_without_the_documented_id_is_a_decode_error(
    make_client: MakeClient,
) -> None:
    client, _ = make_client(lambda r: reply({"data": {"Name": "Ana"}}, 201))
    with pytest.raises(sa.ResponseDecodeError) as caught:
        await client.contacts.create(name="Ana", email="ana@example.com")
    assert "DANAsign" in str(caught.value)


async def test_a_listing_that_is_not_a_list_is_a_decode_error(make_client: MakeClient) -> None:
    client, _ = make_client(lambda r: reply({"data": {"objectId": "c1"}}))
    with pytest.raises(sa.ResponseDecodeError) as caught:
        await client.contacts.list().first_page()
    assert "list contacts" in str(caught.value)


def test_config_repr_hides_the_token() -> None:
    config = sa.DanaSignConfig(server_url="https://sign.acme.example", api_token=TOKEN)
    assert TOKEN not in repr(config)
    assert TOKEN not in str(config)
    assert "sign.acme.example" in repr(config)


async def test_the_token_never_reaches_messages_or_logs(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="signing_async")
    statuses = iter([503, 405])

    def handler(request: RecordedRequest) -> sa.Response:
        return reply({"error": "Invalid API token"}, next(statuses))

    client, transport = make_client(handler)
    with pytest.raises(sa.AuthenticationError) as caught:
        await client.api_tokens.whoami()
    assert len(transport.requests) == 2
    assert all(r.headers["x-danassign-api-key"] == TOKEN for r in transport.requests)
    error = caught.value
    for text in (str(error), repr(error), repr(error.body), repr(error.args)):
        assert TOKEN not in text
    assert caplog.records, "each attempt is logged at DEBUG"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
    assert TOKEN not in repr(client.contacts.list())
    assert TOKEN not in repr(transport.requests[0])
