"""Endpoint: calls built and answers decoded without I/O; the Call names the operation."""

from __future__ import annotations

import attrs
import pytest

import signing_async as sa
from signing_async._core.auth import NO_AUTH, HeaderAuth
from signing_async._core.endpoint import ACCEPT_JSON, SEND_JSON, Endpoint, what
from signing_async._core.error_mapping import ErrorMapper
from signing_async._core.session import CoreSession
from signing_async.transports import RecordedRequest

ERRORS = ErrorMapper("Acme")
AUTH = HeaderAuth({"x-key": "secret"})


@attrs.frozen
class Thing:
    id: str
    count: int


def endpoint(transport: sa.MockTransport | None = None) -> Endpoint:
    session = CoreSession(
        transport or sa.MockTransport(lambda request: sa.Response(200, content=b"{}")),
        retry=sa.RetryPolicy(max_retries=0),
        timeout=sa.Timeout(),
    )
    return Endpoint(
        session, provider="Acme", base_url="https://api.acme.example/v1", errors=ERRORS, auth=AUTH
    )


def test_a_call_is_built_from_the_endpoint_without_io() -> None:
    call = endpoint().call("list things", "GET", "/things", query={"skip": 0, "q": "a b"})
    assert call.url == "https://api.acme.example/v1/things?skip=0&q=a+b"
    assert (call.provider, call.operation, call.method) == ("Acme", "list things", "GET")
    assert call.errors is ERRORS
    assert call.auth is AUTH
    assert call.headers == ACCEPT_JSON
    assert what(call) == "Acme list things"


def test_a_call_may_override_the_auth_and_name_a_whole_url() -> None:
    call = endpoint().call(
        "fetch file",
        "GET",
        "https://storage.example/f.pdf",
        auth=NO_AUTH,
        absolute=True,
        headers=SEND_JSON,
        idempotent=True,
    )
    assert call.url == "https://storage.example/f.pdf"
    assert call.auth is NO_AUTH
    assert call.is_idempotent


def test_a_bad_timeout_is_refused_while_building() -> None:
    with pytest.raises(sa.ValidationError, match="timeout"):
        endpoint().call("list things", "GET", "/things", timeout=5)  # type: ignore[arg-type]


def test_decoding_names_the_provider_and_the_operation() -> None:
    ep = endpoint()
    call = ep.call("get thing 7", "GET", "/things/7")
    assert ep.decode(call, {"id": "7", "count": 2}, Thing) == Thing("7", 2)
    with pytest.raises(sa.ResponseDecodeError, match=r"^Acme get thing 7: unexpected answer"):
        ep.decode(call, {"id": "7", "count": "many"}, Thing)


async def test_an_error_answer_names_the_operation_from_the_call() -> None:
    seen: list[RecordedRequest] = []

    def handler(request: RecordedRequest) -> sa.Response:
        seen.append(request)
        return sa.Response(404, content=b'{"message": "no such thing"}')

    ep = endpoint(sa.MockTransport(handler))
    call = ep.call("get thing 7", "GET", "/things/7")
    with pytest.raises(sa.NotFoundError, match="Acme get thing 7") as caught:
        await ep.json(call)
    assert caught.value.operation == "get thing 7"
    assert seen[0].headers["x-key"] == "secret"
    await ep.session.aclose()
