"""Malformed requests that once got a 500: each gets a 4xx in the provider's envelope."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import aiohttp
import anyio
import pytest
from multidict import CIMultiDictProxy
from sandbox_helpers import TokenFactory, basic, valid_bodies, widget

from signing_async import AuthenticationError
from signing_async.danasign._errors import ERRORS
from signing_async.sandbox import Sandbox, samples
from signing_async.sandbox._jsonbody import MAX_SMALL_BODY

PDF, JPEG = samples.make_pdf(), samples.make_jpeg()
BODIES = valid_bodies(PDF, JPEG)
TEMPLATE = "/api/1.0/createdocument/Nda4Kq81Zp"


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_in(route: str, depth: int) -> bytes:
    """A valid body of ``route`` with a value nested ``depth`` deep inside."""
    body = copy.deepcopy(BODIES[route])
    body["extra"] = "NESTED"
    return json.dumps(body).encode().replace(b'"NESTED"', deep(depth))


@pytest.fixture
def everyone(sb: Sandbox, ds_headers: dict[str, str], sofia_auth: dict[str, str]) -> dict[str, str]:
    """The DANAsign and S.O.F.I.A. credentials (DANAconnect's token is added per test)."""
    return {**ds_headers, **sofia_auth}


async def send(
    http: aiohttp.ClientSession,
    sb: Sandbox,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | aiohttp.FormData | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    headers = {"Content-Type": content_type, **headers}
    async with http.request(method, f"{sb.url}{path}", data=body, headers=headers) as response:
        assert response.content_type == "application/json", await response.text()
        return response.status, await response.json(), response.headers


def error_text(route_path: str, answer: Any) -> str:
    """The envelope's text: S.O.F.I.A.'s ``{"code", "message"}``, the others' ``{"error"}``."""
    if route_path in ("/create_signature", "/sign_document"):
        assert answer["code"].startswith(("WHK", "HTTP")), answer
        return str(answer["message"])
    assert set(answer) == {"error"}, answer
    return str(answer["error"])


JSON_ROUTES = [
    ("/oauth2/token", None),
    ("/api/v1/biometric/start_circuit/sandbox", "danaconnect.start_circuit"),
    ("/api/1.0/contacts", "danasign.contacts.create"),
    ("/api/1.0/contacts/batch", "danasign.contacts.batch"),
    ("/api/1.0/createdocument", "danasign.createdocument"),
    (TEMPLATE, "danasign.createdocument_template"),
    ("/create_signature", "sofia.create_signature"),
    ("/sign_document", "sofia.sign_document"),
]


@pytest.mark.parametrize("depth", [950, 50_000])
@pytest.mark.parametrize(("path", "route"), [r for r in JSON_ROUTES if r[1] is not None])
async def test_deeply_nested_json_is_a_400(
    sb: Sandbox,
    http: aiohttp.ClientSession,
    dc_token: TokenFactory,
    everyone: dict[str, str],
    path: str,
    route: str,
    depth: int,
) -> None:
    headers = {**everyone, "Authorization": f"Bearer {await dc_token()}"}
    if path in ("/create_signature", "/sign_document"):
        headers["Authorization"] = everyone["Authorization"]
    for body in (deep(depth), deep_in(route, depth)):
        status, answer, _ = await send(http, sb, "POST", path, headers, body)
        assert status == 400
        assert "JSON" in error_text(path, answer) or "nested" in error_text(path, answer)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("1e400", "out of range"),
        ("1" + "0" * 30, "placeholders[0].widgets[0].x"),
    ],
)
async def test_non_finite_and_huge_geometry_is_a_400(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str], value: str, field: str
) -> None:
    body = copy.deepcopy(BODIES["danasign.createdocument"])
    body["placeholders"][0]["widgets"][0]["x"] = "NUMBER"
    raw = json.dumps(body).encode().replace(b'"NUMBER"', value.encode())
    status, answer, _ = await send(http, sb, "POST", "/api/1.0/createdocument", ds_headers, raw)
    assert (status, field in answer["error"]) == (400, True), answer


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"page": 10**30}, "placeholders[0].widgets[0].page"),
        ({"w": 10**30}, "placeholders[0].widgets[0].w"),
        ({"y": 1e300}, "placeholders[0].widgets[0].y"),
    ],
)
async def test_out_of_range_geometry_is_a_400(
    sb: Sandbox,
    http: aiohttp.ClientSession,
    ds_headers: dict[str, str],
    change: dict[str, Any],
    field: str,
) -> None:
    body = copy.deepcopy(BODIES["danasign.createdocument"])
    body["placeholders"][0]["widgets"] = [widget(**change)]
    raw = json.dumps(body).encode()
    status, answer, _ = await send(http, sb, "POST", "/api/1.0/createdocument", ds_headers, raw)
    assert status == 400
    assert answer["error"].startswith(field)


async def test_absurd_days_to_complete_is_a_400(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    body = copy.deepcopy(BODIES["danasign.createdocument"])
    body["settings"]["timeToCompleteDays"] = 3_000_000
    raw = json.dumps(body).encode()
    status, answer, _ = await send(http, sb, "POST", "/api/1.0/createdocument", ds_headers, raw)
    assert status == 400
    assert answer["error"] == "settings.timeToCompleteDays: must be an integer from 1 to 3650"


async def test_non_ascii_otp_code_is_an_invalid_otp(
    sb: Sandbox, http: aiohttp.ClientSession, sofia_auth: dict[str, str]
) -> None:
    created = json.dumps(BODIES["sofia.create_signature"]).encode()
    status, _, _ = await send(http, sb, "POST", "/create_signature", sofia_auth, created)
    assert status == 201
    signing = json.dumps({"transaction_id": "txn-1", "otp_code": "12345é"}).encode()
    status, answer, _ = await send(http, sb, "POST", "/sign_document", sofia_auth, signing)
    assert (status, answer["code"], answer["message"]) == (
        400,
        "WHK001",
        "invalid OTP (2 attempts left)",
    )


@pytest.mark.parametrize("body", [b"grant_type=client_credentials\xff", b"grant_type=%ff%fe"])
async def test_token_form_that_is_not_utf8_is_a_400(
    sb: Sandbox, http: aiohttp.ClientSession, body: bytes
) -> None:
    creds = sb.credentials
    headers = {"Authorization": basic(creds.danaconnect_client_id, creds.danaconnect_client_secret)}
    form = "application/x-www-form-urlencoded"
    status, answer, _ = await send(http, sb, "POST", "/oauth2/token", headers, body, form)
    assert status == 400
    assert "form data" in answer["error"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
@pytest.mark.parametrize(("path", "route"), JSON_ROUTES)
async def test_compressed_bodies_are_a_415(
    sb: Sandbox,
    http: aiohttp.ClientSession,
    dc_token: TokenFactory,
    everyone: dict[str, str],
    path: str,
    route: str | None,
    encoding: str,
) -> None:
    # Not compressed at all: aiohttp used to fail inflating it with a 500.
    body = json.dumps(BODIES[route]).encode() if route else b"grant_type=client_credentials"
    headers = {**everyone, "Content-Encoding": encoding}
    if path.startswith("/api/v1/"):
        headers["Authorization"] = f"Bearer {await dc_token()}"
    status, answer, _ = await send(http, sb, "POST", path, headers, body)
    assert status == 415
    assert "compressed request bodies are not accepted" in error_text(path, answer)


async def test_multipart_part_header_without_colon_is_a_400(
    sb: Sandbox, http: aiohttp.ClientSession, sofia_auth: dict[str, str]
) -> None:
    body = (
        b"--xyz\r\n"
        b'Content-Disposition: form-data; name="tenant_id"\r\n'
        b"this line has no colon\r\n"
        b"\r\n"
        b"sandbox-tenant\r\n"
        b"--xyz--\r\n"
    )
    content_type = "multipart/form-data; boundary=xyz"
    status, answer, _ = await send(
        http, sb, "POST", "/create_signature", sofia_auth, body, content_type
    )
    assert (status, answer["code"]) == (400, "WHK001")
    assert "malformed multipart body" in answer["message"]


async def test_small_json_routes_refuse_bodies_over_one_mebibyte(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    padding = "x" * MAX_SMALL_BODY
    body = json.dumps({"name": "Ana", "email": "ana@example.com", "notes": padding}).encode()
    status, answer, _ = await send(http, sb, "POST", "/api/1.0/contacts", ds_headers, body)
    assert status == 413
    assert "too large" in answer["error"]

    async def chunks() -> Any:  # no Content-Length: the sandbox must stop reading by itself
        for _ in range(4):
            yield b" " * (MAX_SMALL_BODY // 2)

    async with http.post(
        f"{sb.url}/api/1.0/contacts",
        data=chunks(),
        headers={**ds_headers, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 413
        assert "too large" in (await response.json())["error"]


async def test_wrong_method_on_danasign_is_a_json_405_saying_so(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    status, answer, headers = await send(
        http, sb, "GET", "/api/1.0/contacts/batch", ds_headers, None
    )
    assert status == 405
    assert answer == {"error": "method not allowed: GET /api/1.0/contacts/batch accepts POST"}
    assert headers["Allow"] == "POST"
    # The SDK reads it as what it is, and still reads a token refusal as one.
    refused = ERRORS.error("batch", status, headers, json.dumps(answer).encode())
    assert not isinstance(refused, AuthenticationError)
    status, answer, headers = await send(http, sb, "POST", "/api/1.0/contacts/batch", {}, b"{}")
    assert status == 405
    token = ERRORS.error("batch", status, headers, json.dumps(answer).encode())
    assert isinstance(token, AuthenticationError)


@pytest.mark.parametrize(
    ("method", "path", "envelope"),
    [
        ("GET", "/oauth2/token", {"error"}),
        ("PUT", "/api/v1/biometric/start_circuit/sandbox", {"error"}),
        ("GET", "/create_signature", {"code", "message"}),
        ("DELETE", "/sign_document", {"code", "message"}),
        ("POST", "/api/tokens/whoami", {"error"}),
    ],
)
async def test_wrong_method_elsewhere_is_a_json_405(
    sb: Sandbox, http: aiohttp.ClientSession, method: str, path: str, envelope: set[str]
) -> None:
    status, answer, headers = await send(http, sb, method, path, {}, None)
    assert (status, set(answer)) == (405, envelope)
    assert "method not allowed" in json.dumps(answer)
    assert "Allow" in headers


async def test_unknown_api_path_is_a_json_404(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    status, answer, _ = await send(http, sb, "GET", "/api/1.0/nothing/here", ds_headers, None)
    assert (status, answer) == (404, {"error": "no such route: /api/1.0/nothing/here"})


async def test_lone_surrogates_are_refused(
    sb: Sandbox, http: aiohttp.ClientSession, ds_headers: dict[str, str]
) -> None:
    body = b'{"name": "a\\ud800b", "email": "s@example.com"}'
    status, answer, _ = await send(http, sb, "POST", "/api/1.0/contacts", ds_headers, body)
    assert status == 400
    assert "surrogate" in answer["error"]


@pytest.mark.parametrize("path", ["/oauth2/token", "/create_signature", "/sign_document"])
@pytest.mark.parametrize("header", ["Basic \xff", "Basic w6k6w6k="])  # not ASCII; "é:é"
async def test_basic_credentials_that_are_not_ascii_are_a_401(
    sb: Sandbox, http: aiohttp.ClientSession, path: str, header: str
) -> None:
    # aiohttp's client sends header text as UTF-8; the server reads it back as
    # text with escaped bytes that base64 refuses with a plain ValueError.
    status, answer, _ = await send(http, sb, "POST", path, {"Authorization": header}, b"{}")
    assert status == 401
    assert "authentication failed" in json.dumps(answer)


@pytest.mark.parametrize("path", ["/api/1.0/createdocument", "/api/1.0/contacts"])
async def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    sb: Sandbox, ds_headers: dict[str, str], path: str
) -> None:
    reader, writer = await asyncio.open_connection(sb.host, sb.port)
    head = [f"POST {path} HTTP/1.1", "Host: sandbox", "Content-Type: application/json"]
    head += [f"{name}: {value}" for name, value in ds_headers.items()]
    head.append(f"Content-Length: {4 << 30}")  # four GiB, of which nothing is sent
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    try:
        with anyio.fail_after(30):  # a hang guard: the body never comes
            status_line = await reader.readline()
    finally:
        writer.close()
    assert status_line.split()[1] == b"413"
