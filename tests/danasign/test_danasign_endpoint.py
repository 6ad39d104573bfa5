"""DanaSignEndpoint: which header a route takes and how answers unwrap, without I/O."""

from __future__ import annotations

import attrs
import pytest

import signing_async as sa
from signing_async._core.session import CoreSession
from signing_async.danasign._endpoint import DanaSignEndpoint
from signing_async.danasign._errors import ERRORS


@attrs.frozen
class Item:
    name: str


def endpoint() -> DanaSignEndpoint:
    session = CoreSession(
        sa.MockTransport(lambda request: sa.Response(200)),
        retry=sa.RetryPolicy(),
        timeout=sa.Timeout(),
    )
    config = sa.DanaSignConfig(server_url="https://sign.example", api_token="tok")
    return DanaSignEndpoint(session, config)


async def headers_of(ep: DanaSignEndpoint, path: str) -> dict[str, str]:
    call = ep.request("probe", "GET", path)
    headers: dict[str, str] = {}
    await call.auth.apply(headers)
    return headers


async def test_token_routes_and_api_routes_take_the_token_under_their_own_header() -> None:
    ep = endpoint()
    assert await headers_of(ep, "/api/tokens/whoami") == {"x-danassign-api-key": "tok"}
    assert await headers_of(ep, "/api/1.0/contacts") == {"x-api-token": "tok"}


def test_a_request_with_a_body_says_it_is_json() -> None:
    ep = endpoint()
    call = ep.request("create contact", "POST", "/api/1.0/contacts", body=b"{}")
    assert call.headers["Content-Type"] == "application/json"
    assert "Content-Type" not in ep.request("list", "GET", "/api/1.0/contacts").headers
    assert call.errors is ERRORS
    assert call.provider == "DANAsign"


def test_an_answer_is_unwrapped_and_decoded_under_the_calls_name() -> None:
    ep = endpoint()
    call = ep.request("get item 3", "GET", "/api/1.0/item/3")
    assert ep.answer(call, {"result": {"data": {"name": "a"}}}, Item) == Item("a")
    with pytest.raises(sa.ResponseDecodeError, match=r"^DANAsign get item 3: unexpected answer"):
        ep.answer(call, {"data": {"nom": "a"}}, Item)
