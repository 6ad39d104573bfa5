"""client.api_tokens: the x-danassign-api-key header, sessions, whoami."""

from __future__ import annotations

import pytest
from danasign_helpers import SERVER, TOKEN, MakeClient, reply

import signing_async as sa


async def test_create_session_uses_the_tokens_header(make_client: MakeClient) -> None:
    client, transport = make_client(
        lambda r: reply(
            {
                "sessionToken": "r:3f9a8b7c6d5e",
                "userId": "u42",
                "scopes": ["contacts:write", "documents:read"],
                "token": {"name": "CRM", "id": "t1"},
            }
        )
    )
    session = await client.api_tokens.create_session()
    (request,) = transport.requests
    assert request.method == "POST"
    assert request.url == f"{SERVER}/api/tokens/session"
    assert request.headers["x-danassign-api-key"] == TOKEN
    assert "x-api-token" not in request.headers
    assert isinstance(session, sa.ApiSession)
    assert session.session_token == "r:3f9a8b7c6d5e"
    assert session.user_id == "u42"
    assert session.scopes == ("contacts:write", "documents:read")
    assert "r:3f9a8b7c6d5e" not in repr(session)


async def test_create_session_is_not_retried_after_500(make_client: MakeClient) -> None:
    client, transport = make_client(lambda r: reply({"error": "boom"}, 500))
    with pytest.raises(sa.ServerError):
        await client.api_tokens.create_session()
    assert len(transport.requests) == 1


async def test_whoami_uses_the_tokens_header(make_client: MakeClient) -> None:
    client, transport = make_client(
        lambda r: reply(
            {
                "result": {
                    "user": {"objectId": "u42", "email": "admin@acme.example", "name": "Admin"},
                    "token": {"scopes": ["documents:read"], "name": "CRM"},
                }
            }
        )
    )
    who = await client.api_tokens.whoami()
    (request,) = transport.requests
    assert request.method == "GET"
    assert request.url == f"{SERVER}/api/tokens/whoami"
    assert request.headers["x-danassign-api-key"] == TOKEN
    assert "x-api-token" not in request.headers
    assert who.user_id == "u42"
    assert who.email == "admin@acme.example"
    assert who.name == "Admin"
    assert who.scopes == ("documents:read",)


async def test_whoami_flat_answer(make_client: MakeClient) -> None:
    client, _ = make_client(
        lambda r: reply({"userId": "u7", "email": "x@example.com", "scopes": ["contacts:write"]})
    )
    who = await client.api_tokens.whoami()
    assert (who.user_id, who.email, who.scopes) == ("u7", "x@example.com", ("contacts:write",))


async def test_whoami_with_a_bad_token_is_an_authentication_error(make_client: MakeClient) -> None:
    client, transport = make_client(lambda r: reply({"error": "Invalid API token"}, 405))
    with pytest.raises(sa.AuthenticationError) as caught:
        await client.api_tokens.whoami()
    assert caught.value.status == 405
    assert caught.value.message == "Invalid API token"
    assert len(transport.requests) == 1


async def test_a_malformed_session_answer_is_never_quoted(make_client: MakeClient) -> None:
    # Not JSON, but it carries a session token: the error must not repeat it.
    client, _ = make_client(lambda r: sa.Response(200, content=b"sessionToken=r:leaked-session"))
    with pytest.raises(sa.ResponseDecodeError) as caught:
        await client.api_tokens.create_session()
    assert "r:leaked-session" not in str(caught.value)
    assert "r:leaked-session" not in repr(caught.value)
