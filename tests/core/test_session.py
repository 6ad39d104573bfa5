"""CoreSession: one loop of auth, send, error mapping and safe retries."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

import signing_async as sa
from signing_async._core.auth import HeaderAuth
from signing_async._core.error_mapping import ErrorMapper
from signing_async._core.session import Call, CoreSession
from signing_async.transports import RecordedRequest, StreamBody

ERRORS = ErrorMapper("Acme")
URL = "https://api.acme.example/v1/things"


class Script:
    """Answers in order, then 200 ``{}``."""

    def __init__(self, *answers: sa.Response | BaseException) -> None:
        self.answers = list(answers)

    def __call__(self, request: RecordedRequest) -> sa.Response:
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return answer
        return sa.Response(200, content=b'{"ok": true}')


def make_session(
    *answers: sa.Response | BaseException, **policy: object
) -> tuple[CoreSession, sa.MockTransport]:
    transport = sa.MockTransport(Script(*answers))
    session = CoreSession(
        transport,
        retry=sa.RetryPolicy(backoff_initial=0, **policy),  # type: ignore[arg-type]
        timeout=sa.Timeout(),
        base_headers={"User-Agent": "test", "Accept": "*/*"},
    )
    return session, transport


def call(method: str = "POST", **kwargs: object) -> Call:
    return Call("Acme", "make thing", method, URL, ERRORS, **kwargs)  # type: ignore[arg-type]


class RecordingAuth:
    """An auth strategy that hands out numbered credentials."""

    def __init__(self, *, renewable: bool = True) -> None:
        self.renewable = renewable
        self.version = 1
        self.renewed: list[object] = []

    async def apply(self, headers: dict[str, str]) -> object:
        headers["Authorization"] = f"Key v{self.version}"
        return self.version

    async def renew(self, used: object) -> bool:
        self.renewed.append(used)
        self.version += 1
        return self.renewable


async def test_json_answer() -> None:
    session, transport = make_session(sa.Response(201, content=b'{"id": 1}'))

    assert await session.json(call()) == {"id": 1}
    assert len(transport.requests) == 1


async def test_empty_answer_is_none() -> None:
    session, _ = make_session(sa.Response(204))
    assert await session.json(call()) is None


async def test_headers_are_merged() -> None:
    session, transport = make_session()

    await session.json(
        call(headers={"Accept": "application/json"}, auth=HeaderAuth({"X-Key": "k"}))
    )

    headers = transport.requests[0].headers
    assert headers == {"User-Agent": "test", "Accept": "application/json", "X-Key": "k"}


async def test_stream_body_gets_content_length_and_is_replayed() -> None:
    opened: list[int] = []

    async def produce() -> AsyncIterator[bytes]:
        opened.append(1)
        yield b"hello "
        yield b"world"

    session, transport = make_session(sa.Response(503), sa.Response(429))
    await session.json(call(body=StreamBody(11, produce)))

    assert len(opened) == 3
    assert [r.content for r in transport.requests] == [b"hello world"] * 3
    assert {r.headers["Content-Length"] for r in transport.requests} == {"11"}


@pytest.mark.parametrize(
    ("method", "idempotent", "attempts"),
    [
        ("GET", None, 3),
        ("PUT", None, 3),
        ("DELETE", None, 3),
        ("POST", None, 1),
        ("PATCH", None, 1),
        ("POST", True, 3),
        ("GET", False, 1),
    ],
)
@pytest.mark.parametrize("status", [500, 502, 504])
async def test_5xx_retried_only_when_idempotent(
    method: str, idempotent: bool | None, attempts: int, status: int
) -> None:
    session, transport = make_session(*[sa.Response(status)] * 5)

    with pytest.raises(sa.ServerError):
        await session.json(call(method, idempotent=idempotent))

    assert len(transport.requests) == attempts


@pytest.mark.parametrize(("method", "attempts"), [("GET", 3), ("POST", 1)])
async def test_read_timeouts_retried_only_when_idempotent(method: str, attempts: int) -> None:
    session, transport = make_session(*[sa.RequestTimeout("read timed out")] * 5)

    with pytest.raises(sa.RequestTimeout) as caught:
        await session.json(call(method))

    assert len(transport.requests) == attempts
    assert str(caught.value) == "Acme make thing: read timed out"
    assert caught.value.request_sent


async def test_per_call_retry_and_timeout() -> None:
    session, transport = make_session(*[sa.Response(503)] * 5)
    timeout = sa.Timeout(connect=1, read=2, total=3)

    with pytest.raises(sa.ServerError):
        await session.json(call(retry=sa.RetryPolicy(max_retries=0), timeout=timeout))

    assert len(transport.requests) == 1
    assert transport.requests[0].request.timeout == timeout


async def test_default_timeout_is_sent() -> None:
    session, transport = make_session()
    await session.json(call())
    # An answer read whole must arrive within connect + read: the transport's total.
    assert transport.requests[0].request.timeout == sa.Timeout(total=70.0)


async def test_custom_max_retry_after() -> None:
    session, transport = make_session(
        sa.Response(429, headers={"Retry-After": "2"}), max_retry_after=1
    )

    with pytest.raises(sa.RateLimitError) as caught:
        await session.json(call())

    assert caught.value.retry_after == 2
    assert len(transport.requests) == 1


async def test_auth_failure_renews_once_and_replays() -> None:
    auth = RecordingAuth()
    session, transport = make_session(sa.Response(401))

    assert await session.json(call(auth=auth)) == {"ok": True}

    assert auth.renewed == [1]
    assert [r.headers["Authorization"] for r in transport.requests] == ["Key v1", "Key v2"]


async def test_second_auth_failure_raises() -> None:
    auth = RecordingAuth()
    session, transport = make_session(sa.Response(401), sa.Response(401), sa.Response(401))

    with pytest.raises(sa.AuthenticationError):
        await session.json(call(auth=auth))

    assert auth.renewed == [1]
    assert len(transport.requests) == 2


async def test_auth_that_cannot_renew_is_not_replayed() -> None:
    auth = RecordingAuth(renewable=False)
    session, transport = make_session(sa.Response(401))

    with pytest.raises(sa.AuthenticationError):
        await session.json(call(auth=auth))

    assert len(transport.requests) == 1


async def test_provider_specific_auth_status_is_renewed() -> None:
    errors = ErrorMapper("Acme", statuses={405: sa.AuthenticationError})
    auth = RecordingAuth()
    session, transport = make_session(sa.Response(405, content=b'{"error": "bad token"}'))

    await session.json(Call("Acme", "op", "GET", URL, errors, auth=auth))

    assert len(transport.requests) == 2


async def test_non_transport_failures_propagate_unretried() -> None:
    session, transport = make_session(RuntimeError("handler bug"))

    with pytest.raises(RuntimeError, match="handler bug"):
        await session.json(call("GET"))

    assert len(transport.requests) == 1


async def test_stream_closes_the_response() -> None:
    closed: list[bool] = []

    class Body:
        async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
            yield b"abc"

        async def aclose(self) -> None:
            closed.append(True)

    session, _ = make_session(sa.Response(200, stream=Body()))

    async with session.stream(call("GET")) as response:
        assert response.status == 200
        assert closed == []
    assert closed == [True]


async def test_error_response_is_closed() -> None:
    closed: list[bool] = []

    class Body:
        async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
            yield b'{"error": "nope"}'

        async def aclose(self) -> None:
            closed.append(True)

    session, _ = make_session(sa.Response(404, stream=Body()))

    with pytest.raises(sa.NotFoundError, match="nope"):
        await session.json(call("GET"))
    assert closed == [True]


async def test_error_body_that_breaks_still_maps_the_status() -> None:
    class Body:
        async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
            raise sa.TransportError("reset")
            yield b""  # pragma: no cover - makes this a generator

        async def aclose(self) -> None:
            pass

    session, _ = make_session(sa.Response(404, stream=Body()))

    with pytest.raises(sa.NotFoundError, match="no error text"):
        await session.json(call("GET"))


async def test_closed_session_refuses_calls() -> None:
    session, transport = make_session()
    await session.aclose()
    await session.aclose()

    assert session.closed
    assert transport.closed
    with pytest.raises(sa.SigningError, match="closed"):
        await session.json(call())
    assert transport.requests == []


async def test_attempt_logs_leave_the_query_out(caplog: pytest.LogCaptureFixture) -> None:
    session, _ = make_session(sa.Response(503))

    with caplog.at_level(logging.DEBUG, logger="signing_async"):
        await session.json(Call("Acme", "list", "GET", URL + "?api_key=leaky&x=1", ERRORS))

    messages = [r.getMessage() for r in caplog.records if r.name.startswith("signing_async")]
    assert len(messages) == 2
    assert all(URL in m and "leaky" not in m for m in messages)
    assert "attempt 1 GET" in messages[0]
    assert "-> 503" in messages[0]
    assert "attempt 2 GET" in messages[1]


def test_call_defaults() -> None:
    c = call("GET")
    assert c.is_idempotent
    assert not call("POST").is_idempotent
    assert "Authorization" not in repr(call(headers={"Authorization": "Basic abc"}))


async def test_token_caches_are_shared_per_credentials() -> None:
    keys: list[str] = []

    class Store(sa.MemoryTokenStore):
        async def set(self, key: str, token: sa.AccessToken) -> None:
            keys.append(key)
            await super().set(key, token)

    transport = sa.MockTransport(Script())
    session = CoreSession(
        transport, retry=sa.RetryPolicy(), timeout=sa.Timeout(), token_store=Store()
    )

    async def fetch() -> tuple[str, float]:
        return "t", 60.0

    one = session.token_cache(("https://a.example", "id", "secret-one"), fetch)
    assert session.token_cache(("https://a.example", "id", "secret-one"), fetch) is one
    two = session.token_cache(("https://a.example", "id", "secret-two"), fetch)
    assert two is not one
    await one.get()
    await two.get()

    assert len(set(keys)) == 2
    assert not any("secret" in key for key in keys)


async def test_request_repr_hides_headers_and_body() -> None:
    session, transport = make_session()
    await session.json(call(headers={"Authorization": "Basic c2VjcmV0"}, body=b"password=x"))

    recorded = transport.requests[0]
    for text in (repr(recorded), repr(recorded.request)):
        assert "c2VjcmV0" not in text
        assert "password" not in text


@pytest.mark.parametrize(
    "content",
    [
        '{"name": "Zoë Ñúñez"}'.encode(),
        b"\xef\xbb\xbf" + '{"name": "Zoë Ñúñez"}'.encode(),  # a UTF-8 byte-order mark
        '{"name": "Zoë Ñúñez"}'.encode("utf-16"),
        '{"name": "Zoë Ñúñez"}'.encode("utf-32-le"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-32-le"],
)
async def test_json_answers_in_any_standard_encoding_decode(content: bytes) -> None:
    session, _ = make_session(sa.Response(200, content=content))

    assert await session.json(call()) == {"name": "Zoë Ñúñez"}


async def test_non_json_answer_is_quoted() -> None:
    session, _ = make_session(sa.Response(200, content=b"<html>hello</html>"))

    with pytest.raises(sa.ResponseDecodeError) as caught:
        await session.json(call())

    assert str(caught.value) == "Acme make thing: the answer is not JSON: '<html>hello</html>'"


async def test_secret_answer_is_never_quoted() -> None:
    session, _ = make_session(sa.Response(200, content=b"access_token=tok-123&expires_in=60"))

    with pytest.raises(sa.ResponseDecodeError) as caught:
        await session.json(call(secret_answer=True))

    assert str(caught.value) == "Acme make thing: the answer is not JSON"
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
