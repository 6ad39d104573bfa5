"""DANAconnect emulation: token, start circuit, completion and the signed ZIP."""

from __future__ import annotations

import base64
import io
import json
import time
import zipfile
from typing import Any

import aiohttp
import pypdf
import pytest
from sandbox_helpers import TokenFactory, basic

from signing_async.sandbox import Sandbox, samples
from signing_async.sandbox._danaconnect import DANACONNECT


def circuit_body(*docs: bytes, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "ref-1",
        "signer": {"name": "Jhon Doe", "email": "john@example.com", "nif": "12345678A"},
        "docs": [
            {"name": f"doc{i}.pdf", "size": len(d), "content": base64.b64encode(d).decode()}
            for i, d in enumerate(docs or (samples.make_pdf(),))
        ],
    }
    body.update(changes)
    return body


async def start(
    sb: Sandbox, http: aiohttp.ClientSession, token: str, body: Any, **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    headers.setdefault("Content-Type", "application/json")
    async with http.post(
        f"{sb.url}/api/v1/biometric/start_circuit/{kwargs.pop('channel', 'sandbox')}",
        data=data,
        headers=headers,
    ) as response:
        return response.status, await response.json()


def download_url(sb: Sandbox, circuit_id: str) -> str:
    return f"{sb.url}/api/v1/biometric/document_circuit/sandbox/circuit/{circuit_id}"


async def test_token_issues_bearer_with_lifetime(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    creds = sb.credentials
    auth = basic(creds.danaconnect_client_id, creds.danaconnect_client_secret)
    async with http.post(
        f"{sb.url}/oauth2/token",
        data="grant_type=client_credentials",
        headers={"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        assert response.status == 200
        data = await response.json()
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 3600
    assert isinstance(data["expires_in"], int)
    assert len(data["access_token"]) >= 20


FORM = "application/x-www-form-urlencoded"
GRANT = "grant_type=client_credentials"
GOOD = ("sandbox-client", "sandbox-secret")


@pytest.mark.parametrize(
    ("auth", "content_type", "body", "status", "error"),
    [
        (None, FORM, GRANT, 401, "invalid_client"),
        (("sandbox-client", "wrong"), FORM, GRANT, 401, "invalid_client"),
        (GOOD, "application/json", '{"grant_type": "client_credentials"}', 400, "Content-Type"),
        (GOOD, FORM, "grant_type=password", 400, "unsupported grant_type"),
        (GOOD, FORM, "scope=x", 400, "grant_type is required"),
    ],
)
async def test_token_errors(
    sb: Sandbox,
    http: aiohttp.ClientSession,
    auth: tuple[str, str] | None,
    content_type: str,
    body: str,
    status: int,
    error: str,
) -> None:
    headers = {"Content-Type": content_type}
    if auth is not None:
        headers["Authorization"] = basic(*auth)
    async with http.post(f"{sb.url}/oauth2/token", data=body, headers=headers) as response:
        assert response.status == status
        assert error in (await response.json())["error"]


async def test_fractional_lifetime_is_sent_as_float(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    sb.token_lifetime = 2.5
    creds = sb.credentials
    async with http.post(
        f"{sb.url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={
            "Authorization": basic(creds.danaconnect_client_id, creds.danaconnect_client_secret)
        },
    ) as response:
        assert (await response.json())["expires_in"] == 2.5


async def test_start_circuit_answers_id_and_link(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    status, data = await start(sb, http, await dc_token(), circuit_body())
    assert status == 200
    assert data["circuitId"].isdigit()
    assert data["link"] == f"{sb.url}/sign/{data['circuitId']}"
    async with http.get(data["link"]) as page:
        assert page.status == 200
        assert data["circuitId"] in await page.text()


async def test_bearer_is_required_and_checked(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    for headers, error in [({}, "missing"), ({"Authorization": "Bearer nope"}, "invalid")]:
        async with http.post(
            f"{sb.url}/api/v1/biometric/start_circuit/sandbox", json=circuit_body(), headers=headers
        ) as response:
            assert response.status == 401
            assert error in (await response.json())["error"]
        async with http.get(download_url(sb, "1"), headers=headers) as response:
            assert response.status == 401


async def test_expired_token_is_rejected(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    token = await dc_token()
    status, _ = await start(sb, http, token, circuit_body())
    assert status == 200
    # Expired by the sandbox's own clock, without waiting for it: the token's
    # expiry becomes "now", and that clock never goes back.
    tokens = sb.app[DANACONNECT].tokens
    tokens[token] = time.monotonic()
    status, data = await start(sb, http, token, circuit_body())
    assert (status, data) == (401, {"error": "token expired"})
    # Rejected once as expired, then forgotten.
    assert token not in tokens
    status, data = await start(sb, http, token, circuit_body())
    assert (status, data) == (401, {"error": "invalid token"})


async def test_unknown_channel_is_404(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    status, data = await start(sb, http, await dc_token(), circuit_body(), channel="other")
    assert (status, data) == (404, {"error": "unknown channel"})


GIF = base64.b64encode(b"GIF89a").decode()


def _doc(**changes: Any) -> dict[str, Any]:
    pdf = samples.make_pdf()
    doc = {"name": "a.pdf", "size": len(pdf), "content": base64.b64encode(pdf).decode()}
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"id": ""}, "id:"),
        ({"id": 7}, "id:"),
        ({"signer": "x"}, "signer:"),
        ({"signer": {"email": "a@b.co", "nif": "1"}}, "signer.name"),
        ({"signer": {"name": "A", "email": "not-an-email", "nif": "1"}}, "signer.email"),
        ({"signer": {"name": "A", "email": "a@b.co"}}, "signer.nif"),
        ({"docs": []}, "docs:"),
        ({"docs": {"name": "a.pdf"}}, "docs:"),
        ({"docs": ["x"]}, "docs[0]:"),
        ({"docs": [_doc(name="a.docx")]}, "docs[0].name"),
        ({"docs": [_doc(size="10")]}, "docs[0].size"),
        ({"docs": [_doc(size=True)]}, "docs[0].size"),
        ({"docs": [_doc(size=3)]}, "decoded document has"),
        ({"docs": [_doc(content="")]}, "docs[0].content"),
        ({"docs": [_doc(content="@@@=")]}, "not valid Base64"),
        ({"docs": [_doc(), _doc(content=GIF, size=6)]}, "docs[1].content: is not a PDF"),
    ],
)
async def test_start_circuit_validation(
    sb: Sandbox,
    http: aiohttp.ClientSession,
    dc_token: TokenFactory,
    changes: dict[str, Any],
    error: str,
) -> None:
    status, data = await start(sb, http, await dc_token(), circuit_body(**changes))
    assert status == 400
    assert error in data["error"]


async def test_start_circuit_rejects_non_json(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    token = await dc_token()
    status, data = await start(sb, http, token, b"{not json")
    assert (status, data) == (400, {"error": "body is not valid JSON"})
    status, data = await start(sb, http, token, "[]")
    assert status == 400
    assert "JSON object" in data["error"]
    status, data = await start(
        sb, http, token, json.dumps(circuit_body()), headers={"Content-Type": "text/plain"}
    )
    assert (status, data) == (400, {"error": "Content-Type must be application/json"})


async def _complete_and_download(
    sb: Sandbox, http: aiohttp.ClientSession, token: str, circuit_id: str
) -> bytes:
    async with http.post(f"{sb.url}/_sandbox/circuits/{circuit_id}/complete") as response:
        assert response.status == 200
        assert (await response.json()) == {"circuitId": circuit_id, "status": "completed"}
    async with http.get(
        download_url(sb, circuit_id),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/zip"},
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/zip"
        body = await response.read()
        assert response.content_length == len(body)
        return body


async def test_download_conflict_before_completion_then_zip_of_signed_copies(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    token = await dc_token()
    first, second = samples.make_pdf(1, text="one"), samples.make_pdf(2, text="two")
    _, data = await start(sb, http, token, circuit_body(first, second))
    circuit_id = data["circuitId"]
    async with http.get(
        download_url(sb, circuit_id), headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 409
        assert await response.json() == {"error": "circuit not completed"}

    archive = zipfile.ZipFile(io.BytesIO(await _complete_and_download(sb, http, token, circuit_id)))
    assert archive.testzip() is None
    assert archive.namelist() == ["doc0.pdf", "doc1.pdf"]
    for name, original in zip(archive.namelist(), (first, second), strict=True):
        signed = archive.read(name)
        assert signed.startswith(original)
        assert len(signed) > len(original)
        info = samples.read_info(signed)
        assert info["SignedBy"] == "Jhon Doe"
        assert info["CircuitId"] == circuit_id
        assert info["Producer"] == "signing_async sandbox"
        reader = pypdf.PdfReader(io.BytesIO(signed), strict=True)
        assert reader.metadata is not None
        assert reader.metadata["/CircuitId"] == circuit_id


async def test_large_document_with_escaped_slashes_round_trips(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    # Over the in-memory limits on both the JSON string and the decoded file.
    # "?" is 0x3F: a run of them yields "/" in Base64 at any alignment.
    pdf = samples.make_pdf(size=1_500_000, text="?" * 9)
    body = json.dumps(circuit_body(pdf)).replace("/", "\\/")
    assert "\\/" in body
    token = await dc_token()
    status, data = await start(sb, http, token, body)
    assert status == 200
    archive = zipfile.ZipFile(
        io.BytesIO(await _complete_and_download(sb, http, token, data["circuitId"]))
    )
    assert archive.read("doc0.pdf").startswith(pdf)


async def test_large_document_errors_are_reported(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    pdf = samples.make_pdf(size=300_000)
    encoded = base64.b64encode(pdf).decode()
    token = await dc_token()
    broken = circuit_body()
    broken["docs"][0].update(content=encoded[:1000] + "!" + encoded[1001:], size=len(pdf))
    status, data = await start(sb, http, token, broken)
    assert (status, data) == (400, {"error": "docs[0].content: is not valid Base64"})
    wrong_size = circuit_body(pdf)
    wrong_size["docs"][0]["size"] = len(pdf) + 1
    status, data = await start(sb, http, token, wrong_size)
    assert status == 400
    assert f"decoded document has {len(pdf)} bytes" in data["error"]


async def test_same_names_get_unique_zip_entries(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    token = await dc_token()
    body = circuit_body(samples.make_pdf(), samples.make_pdf())
    for doc in body["docs"]:
        doc["name"] = "contract.pdf"
    _, data = await start(sb, http, token, body)
    payload = await _complete_and_download(sb, http, token, data["circuitId"])
    assert zipfile.ZipFile(io.BytesIO(payload)).namelist() == ["contract.pdf", "contract (2).pdf"]


async def test_unknown_circuits(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    token = await dc_token()
    async with http.post(f"{sb.url}/_sandbox/circuits/999/complete") as response:
        assert (response.status, await response.json()) == (404, {"error": "unknown circuit"})
    async with http.get(
        download_url(sb, "999"), headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert (response.status, await response.json()) == (404, {"error": "unknown circuit"})
    async with http.get(f"{sb.url}/sign/999") as response:
        assert response.status == 404
