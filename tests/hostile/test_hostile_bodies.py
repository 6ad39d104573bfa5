"""Hostile 2xx bodies: every operation that decodes an answer gives its model or a
ResponseDecodeError, never a raw Python error.

A property test serves generated bodies (arbitrary JSON, the operation's own
answer with one field replaced by something hostile, deep nesting, numbers
out of every range, literals only the standard library reads) to each
operation through a MockTransport; a few explicit cases go through the raw
hostile server, over real sockets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import anyio
import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signing_async as sa
from signing_async.transports import RecordedRequest

from ..conftest import MINIMAL_PDF
from .server import HostileServer, RawRequest, answer_json

LOCAL = "http://127.0.0.1:9"  # never dialled: the MockTransport answers
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256))
NO_RETRY = sa.RetryPolicy(max_retries=0)

SIGNER = {"name": "Ana Gómez", "email": "ana@example.com", "nif": "12345678Z"}
DOC_SIGNERS = [{"role": "Client", "name": "Ana", "email": "ana@example.com"}]
DOC_PLACEHOLDERS = [
    {
        "role": "Client",
        "widgets": [{"type": "signature", "page": 1, "x": 10, "y": 10, "w": 100, "h": 30}],
    }
]
OTP_FILES: dict[str, Any] = {
    "user_selfie": JPEG,
    "image_front": JPEG,
    "document_sign": MINIMAL_PDF,
    "phone": "+573001234567",
    "email": "ana@example.com",
}

# --- What a good answer looks like, per model, as JSON text per key ----------
DATE = '"2024-05-01T10:20:30.123Z"'
CIRCUIT = {"circuitId": '"c-1"', "link": '"https://sign.example/c-1"'}
TOKEN = {"access_token": '"tok-123"', "expires_in": "3600", "token_type": '"Bearer"'}
CONTACT = {
    "objectId": '"ct1"',
    "Name": '"Ana"',
    "Email": '"ana@example.com"',
    "Phone": '"+34600000000"',
    "createdAt": DATE,
    "updatedAt": '{"__type": "Date", "iso": "2024-05-01T10:20:30.000Z"}',
}
BATCH = {"success": "1", "failed": "0"}
SUMMARY = {
    "documentId": '"d1"',
    "title": '"T"',
    "status": '"sent"',
    "createdAt": DATE,
    "updatedAt": "1714558830",
}
CREATED = {"documentId": '"d1"', "status": '"sent"', "sentAt": DATE, "expiresAt": DATE}
FROM_TEMPLATE = {
    "documentId": '"d2"',
    "templateId": '"t1"',
    "title": '"T"',
    "status": '"draft"',
    "createdAt": DATE,
    "updatedAt": DATE,
}
TEMPLATE = {
    "objectId": '"t1"',
    "Name": '"NDA"',
    "Description": '"d"',
    "SignatureType": '[{"name": "draw", "enabled": true}]',
    "SendinOrder": "true",
    "AutomaticReminders": '"false"',
    "TimeToCompleteDays": "15",
    "RemindOnceInEvery": '"5"',
    "IsEnableOTP": "0",
    "Placeholders": "[]",
    "Signers": '[{"Role": "Client"}]',
    "Bcc": "[]",
    "ExtUserPtr": '{"objectId": "u1"}',
    "createdAt": DATE,
}
SESSION = {"sessionToken": '"r:abc123"', "userId": '"u1"', "scopes": '["contacts:write"]'}
WHOAMI = {
    "user": '{"objectId": "u1", "email": "ana@example.com"}',
    "token": '{"scopes": ["contacts:write"]}',
}
OTP_REQUEST = {
    "transaction_id": '"txn-1"',
    "status": '"PENDING_OTP"',
    "timestamp": DATE,
    "storage_paths": '{"user_selfie": "https://s.example/1", "image_back": null}',
}
OTP_SIGNATURE = {
    "transaction_id": '"txn-1"',
    "status": '"SIGNED"',
    "signed_document_url": '"https://s.example/signed.pdf"',
    "signature_hash": '"abc"',
    "timestamp": DATE,
    "trace_log_id": '"l-1"',
}


@attrs.frozen
class Operation:
    """One public call that decodes a JSON answer, and what it must return."""

    name: str
    call: Callable[[sa.SigningClient], Awaitable[Any]]
    expected: type | tuple[type, ...]
    fields: Mapping[str, str]
    listing: bool = False
    token_step: bool = False

    def __str__(self) -> str:
        return self.name


async def _walk(pager: sa.AsyncPager[Any]) -> list[Any]:
    return [item async for item in pager]


def _start(client: sa.SigningClient) -> Awaitable[sa.Circuit]:
    return client.circuits.start(id="c-1", signer=SIGNER, docs=sa.Document(MINIMAL_PDF, "a.pdf"))


OPERATIONS = [
    Operation("circuits.start", _start, sa.Circuit, CIRCUIT),
    Operation("DANAconnect token endpoint", _start, sa.Circuit, TOKEN, token_step=True),
    Operation(
        "contacts.create",
        lambda c: c.contacts.create(name="Ana", email="ana@example.com"),
        sa.Contact,
        CONTACT,
    ),
    Operation(
        "contacts.create_batch",
        lambda c: c.contacts.create_batch([{"name": "Ana", "email": "ana@example.com"}]),
        sa.BatchResult,
        BATCH,
    ),
    Operation("contacts.list", lambda c: _walk(c.contacts.list()), list, CONTACT, listing=True),
    Operation(
        "contacts.list first page",
        lambda c: c.contacts.list().first_page(),
        sa.Page,
        CONTACT,
        listing=True,
    ),
    Operation(
        "documents.list",
        lambda c: _walk(c.documents.list("sent")),
        list,
        SUMMARY,
        listing=True,
    ),
    Operation(
        "documents.create",
        lambda c: c.documents.create(
            file=MINIMAL_PDF, title="T", signers=DOC_SIGNERS, placeholders=DOC_PLACEHOLDERS
        ),
        sa.CreatedDocument,
        CREATED,
    ),
    Operation(
        "documents.create_from_template",
        lambda c: c.documents.create_from_template(
            "t1", signers=[{"role": "Client", "name": "Ana", "email": "ana@example.com"}]
        ),
        sa.TemplateDocument,
        FROM_TEMPLATE,
    ),
    Operation("templates.list", lambda c: _walk(c.templates.list()), list, TEMPLATE, listing=True),
    Operation("templates.get", lambda c: c.templates.get("t1"), sa.Template, TEMPLATE),
    Operation(
        "api_tokens.create_session", lambda c: c.api_tokens.create_session(), sa.ApiSession, SESSION
    ),
    Operation("api_tokens.whoami", lambda c: c.api_tokens.whoami(), sa.WhoAmI, WHOAMI),
    Operation(
        "otp_signatures.create",
        lambda c: c.otp_signatures.create(transaction_id="txn-1", **OTP_FILES),
        sa.OtpSignatureRequest,
        OTP_REQUEST,
    ),
    Operation(
        "otp_signatures.sign",
        lambda c: c.otp_signatures.sign("txn-1", "123456"),
        sa.OtpSignature,
        OTP_SIGNATURE,
    ),
]


def make_client(transport: sa.MockTransport | None = None, *, url: str = LOCAL) -> sa.SigningClient:
    """A client of all three providers on ``url``, retries off."""
    return sa.SigningClient(
        danaconnect=sa.DanaConnectConfig(
            client_id="id", client_secret="secret", channel="acme", base_url=url,
            download_base_url=url,
        ),
        danasign=sa.DanaSignConfig(server_url=url, api_token="dsk_test_token"),
        sofia=sa.SofiaConfig(client_id="id", client_secret="secret", tenant_id="t", base_url=url),
        transport=transport,
        retry=NO_RETRY,
    )  # fmt: skip


def serve(operation: Operation, body: bytes) -> Any:
    """Run ``operation`` against a server answering ``body`` (200) to its call.

    Returns what the operation returned, or the ResponseDecodeError it raised;
    anything else it raises propagates and fails the test.
    """
    good_token = json_object(TOKEN).encode()

    def handler(request: RecordedRequest) -> sa.Response:
        is_token = urlsplit(request.url).path == "/oauth2/token"
        hostile = is_token == operation.token_step
        if not hostile:
            content = good_token if is_token else json_object(CIRCUIT).encode()
        else:
            content = body
        return sa.Response(200, headers={"Content-Type": "application/json"}, content=content)

    async def main() -> Any:
        async with make_client(sa.MockTransport(handler)) as client:
            try:
                return await operation.call(client)
            except sa.ResponseDecodeError as exc:
                return exc

    return anyio.run(main)


def json_object(fields: Mapping[str, str]) -> str:
    return "{" + ",".join(f"{json.dumps(key)}: {value}" for key, value in fields.items()) + "}"


# --- Strategies: JSON as text, so that literals json.dumps never writes fit in ---
EXTREME_NUMBERS = [
    "1e20", "-1e18", "1e400", "-1e400", "1e308", "-1e308", "4e-400", "1e11", "1e12",
    "NaN", "Infinity", "-Infinity", "-0", "0.5", "2.7", "-1", "0", "1",
    "9223372036854775808", "-9223372036854775809", "1" + "0" * 400, "9" * 5000,
]  # fmt: skip
ODD_VALUES = [
    "true", "false", "null", '""', '" "', '"x"', '"\\ud800"', '"a\\udfffb"', '"\\u0000"',
    '"tok\\r\\nX-Evil: 1"', '"tökén"', "[]", "{}", "[1, 2]", '{"iso": 5}', '{"iso": "2024-99-99"}',
    '"2024-05-01T10:20:30.123456789Z"', '"9999-12-31T23:59:59-01:00"',
    '"0001-01-01T00:00:00+01:00"', '"2024-05-01"', '"yesterday"', '"' + "a" * 10_000 + '"',
    '"1e400"', '"NaN"', '"3600"', '"-5"',
]  # fmt: skip
KEYS = sorted(
    {key for operation in OPERATIONS for key in operation.fields}
    | {"data", "result", "pagination", "total", "hasMore", "raw", "__proto__", ""}
)


def deep(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


deep_values = st.builds(
    deep,
    st.one_of(st.integers(100, 140), st.sampled_from([990, 1025, 3000, 100_000])),
    st.sampled_from(["array", "object"]),
)
scalars = st.one_of(
    st.sampled_from(EXTREME_NUMBERS + ODD_VALUES),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=20).map(json.dumps),
)
json_texts = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=5
        ).map(json_object),
    ),
    max_leaves=12,
)
hostile_values = st.one_of(scalars, deep_values, json_texts)


@st.composite
def answers(draw: st.DrawFn, operation: Operation) -> bytes:
    """A body for ``operation``: its own answer with fields made hostile, or anything."""
    kind = draw(st.sampled_from(["model", "model", "model", "anything", "deep"]))
    if kind == "anything":
        return draw(json_texts).encode()
    if kind == "deep":
        return draw(deep_values).encode()
    fields = dict(operation.fields)
    for key in draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=3)):
        fields[key] = draw(hostile_values)
    if draw(st.booleans()):
        fields[draw(st.sampled_from(KEYS))] = draw(hostile_values)
    item = json_object(fields)
    if operation.listing:
        items = "[" + ",".join([item] * draw(st.integers(1, 3))) + "]"
        pagination = json_object(
            {"total": draw(hostile_values | st.just("1")), "hasMore": draw(hostile_values)}
        )
        wrap = draw(st.sampled_from(["data", "result", "bare"]))
        if wrap == "bare":
            return items.encode()
        return json_object({wrap: items, "pagination": pagination}).encode()
    wrap = draw(st.sampled_from(["bare", "data", "result"]))
    return (item if wrap == "bare" else json_object({wrap: item})).encode()


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
@settings(
    max_examples=60,
    deadline=None,
    # The autouse log watch spans all examples of a test, which is what it should do.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_2xx_body_gives_the_model_or_a_decode_error(
    operation: Operation, data: st.DataObject
) -> None:
    body = data.draw(answers(operation), label="body")
    result = serve(operation, body)
    if isinstance(result, sa.ResponseDecodeError):
        assert str(result).startswith(("DANAconnect ", "DANAsign ", "S.O.F.I.A. ")), result
    else:
        assert isinstance(result, operation.expected), result


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_the_good_answers_above_decode(operation: Operation) -> None:
    # The property above is only worth something if the unspoilt answers decode.
    body = json_object(operation.fields)
    if operation.listing:
        body = json_object({"data": f"[{body}]", "pagination": '{"total": 1}'})
    assert isinstance(serve(operation, body.encode()), operation.expected)


KNOWN_CASES = [
    # The cases reported, and their kin: each raised a raw error before.
    pytest.param(
        OPERATIONS[2], {**CONTACT, "createdAt": "1e20"}, "Contact.created_at", id="date-1e20"
    ),
    pytest.param(
        OPERATIONS[2], {**CONTACT, "createdAt": "-1e18"}, "Contact.created_at", id="date-minus-1e18"
    ),
    pytest.param(
        OPERATIONS[10],
        {**TEMPLATE, "TimeToCompleteDays": "1e400"},
        "time_to_complete_days",
        id="int-1e400",
    ),
    pytest.param(
        OPERATIONS[3], {**BATCH, "success": "1e400"}, "BatchResult.success", id="count-1e400"
    ),
    pytest.param(
        OPERATIONS[14],
        {**OTP_SIGNATURE, "timestamp": "1e20"},
        "OtpSignature.timestamp",
        id="sign-date-1e20",
    ),
    pytest.param(
        OPERATIONS[7],
        {**CREATED, "sentAt": "-1e18"},
        "CreatedDocument.sent_at",
        id="create-date-minus-1e18",
    ),
    pytest.param(
        OPERATIONS[13],
        {**OTP_REQUEST, "storage_paths": "[1]"},
        "storage_paths",
        id="mapping-as-list",
    ),
]


@pytest.mark.parametrize(("operation", "fields", "detail"), KNOWN_CASES)
async def test_known_hostile_bodies_over_a_real_socket(
    operation: Operation, fields: Mapping[str, str], detail: str
) -> None:
    calls: list[str] = []

    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        calls.append(request.path)
        await answer_json(writer, 200, json_object(fields))

    async with HostileServer(handler) as server, make_client(url=server.url) as client:
        with pytest.raises(sa.ResponseDecodeError, match=detail) as caught:
            await operation.call(client)
    assert "unexpected answer" in str(caught.value)
    assert len(calls) == 1  # a decode error is never replayed


@pytest.mark.parametrize("depth", [129, 1025, 100_000])
async def test_deeply_nested_answers_are_refused_over_a_real_socket(depth: int) -> None:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer_json(
            writer, 200, '{"transaction_id": "t", "extra": ' + deep(depth, "array") + "}"
        )

    async with HostileServer(handler) as server, make_client(url=server.url) as client:
        with pytest.raises(sa.ResponseDecodeError, match="not JSON"):
            await client.otp_signatures.sign("txn-1", "123456")


async def test_nesting_within_the_bound_is_kept_in_raw() -> None:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer_json(writer, 200, json_object({**OTP_SIGNATURE, "extra": deep(100, "array")}))

    async with HostileServer(handler) as server, make_client(url=server.url) as client:
        signature = await client.otp_signatures.sign("txn-1", "123456")
    depth, node = 0, signature.raw["extra"]
    while node != []:
        depth, node = depth + 1, node[0]
    assert depth == 99
