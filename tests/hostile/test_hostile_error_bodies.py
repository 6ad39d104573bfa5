"""Hostile error bodies: every error answer gives the right APIError, whatever its body holds.

An error answer's body is read for its code and message. A body nested
thousands of levels deep, or whose text holds a lone surrogate (valid JSON
escape syntax, not valid Unicode), must not turn into a raw
``RecursionError`` that skips the retries, nor into a message that no file
or database can store and that stops a bulk run at its journal. A property
test feeds generated bodies to each provider's mapping; the rest goes over
real sockets to a server written here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signing_async as sa
from signing_async._core.error_mapping import ErrorMapper
from signing_async.danaconnect._errors import ERRORS as DANACONNECT_ERRORS
from signing_async.danasign._errors import ERRORS as DANASIGN_ERRORS
from signing_async.sofia._errors import ERRORS as SOFIA_ERRORS
from signing_async.transports import RecordedRequest, Response

from .server import HostileServer, RawRequest, answer
from .test_gateway_errors import NO_WAIT, PROVIDERS, Gateway, Provider, _danasign_item, two_runs

SURROGATE_BODY = b'{"error": "refused \\ud800", "code": "E\\udfff"}'
DEEP_BODY = b"[" * 30_000 + b"]" * 30_000  # 60 kB: under the cap on an error body read
DEEP_MESSAGE = b'{"message": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
MAPPINGS = [DANASIGN_ERRORS, DANACONNECT_ERRORS, SOFIA_ERRORS]

_text = st.text(max_size=20) | st.sampled_from(["\ud800", "a\udfffb", "é\ud83d", ""])
_keys = st.sampled_from(["error", "message", "code", "errorCode", "error_description", "detail"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys | _text, inner, max_size=3),
    max_leaves=12,
)


@st.composite
def error_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "deep", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        depth = draw(st.integers(min_value=100, max_value=20_000))
        inner = "[" * depth + "]" * depth
        return (inner if draw(st.booleans()) else '{"error": ' + inner + "}").encode()
    # ensure_ascii writes a lone surrogate as its escape: valid JSON syntax.
    return json.dumps(draw(_json), ensure_ascii=True).encode()


@settings(max_examples=300, deadline=None)
@given(
    mapping=st.sampled_from(MAPPINGS),
    status=st.sampled_from([400, 401, 403, 404, 405, 409, 422, 429, 500, 502, 503, 504]),
    body=error_bodies(),
)
def test_any_error_body_gives_an_api_error_with_storable_text(
    mapping: ErrorMapper, status: int, body: bytes
) -> None:
    error = mapping.error("op", status, {}, body)

    assert isinstance(error, sa.APIError)
    assert error.status == status
    # Text any file, log or database takes: no lone surrogate anywhere.
    str(error).encode("utf-8")
    repr(error).encode("utf-8")
    if error.code is not None:
        error.code.encode("utf-8")


async def test_an_error_text_with_a_lone_surrogate_is_journaled_as_its_escape(
    tmp_path: Path,
) -> None:
    # Whatever an error's text holds (a transport's words about a server's
    # bytes, say), recording it must not stop the run at its journal.
    journal = tmp_path / "journal.db"
    keys = [f"k-{index}" for index in range(4)]
    sent: list[str] = []

    def handle(request: RecordedRequest) -> Response:
        key = json.loads(request.content)["metadata"]["externalId"]
        sent.append(key)
        if key == "k-1":
            raise sa.TransportError("connection lost at \ud800 (é)", request_sent=True)
        return Response(200, content=b'{"documentId": "d-%s", "status": "sent"}' % key.encode())

    config = sa.DanaSignConfig(server_url="http://127.0.0.1:9", api_token="t")
    async with sa.SigningClient(danasign=config, transport=sa.MockTransport(handle)) as client:
        items = [_danasign_item(key) for key in keys]
        run = client.documents.create_many
        first = {o.key: o.status async for o in run(items, journal=journal)}
        rerun = {o.key: o async for o in run(items, journal=journal)}

    assert first == {**dict.fromkeys(keys, "succeeded"), "k-1": "uncertain"}
    assert {key: outcome.status for key, outcome in rerun.items()} == {
        **dict.fromkeys(keys, "skipped"),
        "k-1": "uncertain",
    }
    assert sorted(sent) == keys  # the uncertain item was not sent again
    # The recorded text, as the rerun quotes it: the surrogate as its escape.
    assert "connection lost at \\ud800 (é)" in str(rerun["k-1"].error)


class _Answering:
    """Answers every request with one status and body, and counts the requests."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body
        self.requests = 0

    async def handle(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        await answer(writer, self.status, self.body, {"Content-Type": "application/json"})


@pytest.mark.parametrize("body", [DEEP_BODY, DEEP_MESSAGE], ids=["deep", "deep-message"])
@pytest.mark.parametrize(
    ("status", "method"),
    [(502, "GET"), (503, "GET"), (503, "POST")],
    ids=["502-get", "503-get", "503-post"],
)
async def test_a_deeply_nested_error_body_is_still_an_error_that_is_retried(
    status: int, method: str, body: bytes
) -> None:
    server = _Answering(status, body)

    async with HostileServer(server.handle) as hostile:
        config = sa.DanaSignConfig(server_url=hostile.url, api_token="hostile-token")
        async with sa.SigningClient(danasign=config, retry=NO_WAIT) as client:
            call = (
                client.api_tokens.whoami()
                if method == "GET"
                else client.contacts.create(name="Ana", email="ana@example.com")
            )
            with pytest.raises(sa.ServerError) as caught:
                await call

    assert caught.value.status == status
    assert server.requests == 3  # both retries made: a 502 on a read, a 503 on anything


class _Refusing(Gateway):
    """A :class:`Gateway` refusing the given keys with a 400 and a hostile body, before acting."""

    def __init__(self, bodies: Mapping[str, bytes]) -> None:
        super().__init__()
        self.bodies = dict(bodies)

    async def _create(
        self, writer: asyncio.StreamWriter, key: str, result: dict[str, object], status: int = 200
    ) -> None:
        body = self.bodies.get(key)
        if body is None:
            await super()._create(writer, key, result, status)
            return
        self.received[key] += 1
        await answer(writer, 400, body, {"Content-Type": "application/json"})


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
async def test_a_refusal_with_a_hostile_body_fails_its_item_alone_and_is_journaled(
    provider: Provider, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.db"
    keys = [f"k-{index}" for index in range(6)]
    gateway = _Refusing({"k-1": SURROGATE_BODY, "k-3": DEEP_BODY})

    first, rerun = await two_runs(gateway, provider, keys, journal)

    refused = {"k-1": "failed", "k-3": "failed"}
    assert {key: outcome.status for key, outcome in first.items()} == {
        **dict.fromkeys(keys, "succeeded"),
        **refused,
    }
    for key in refused:
        error = first[key].error
        assert isinstance(error, sa.BadRequestError)
        str(error).encode("utf-8")
    # The refusals were recorded: the rerun reports them without sending them again.
    assert {key: outcome.status for key, outcome in rerun.items()} == {
        **dict.fromkeys(keys, "skipped"),
        **refused,
    }
    assert gateway.received == dict.fromkeys(keys, 1)
    assert gateway.created == {key: 1 for key in keys if key not in refused}
