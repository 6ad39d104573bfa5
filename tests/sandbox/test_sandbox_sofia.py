"""S.O.F.I.A. emulation: signature requests (multipart and JSON), OTPs, signed files."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from typing import Any

import aiohttp
import pypdf
import pytest

from signing_async.sandbox import Fault, Sandbox, samples

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
JPEG, PNG = samples.make_jpeg(), samples.make_png()


def fields(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "tenant_id": "sandbox-tenant",
        "transaction_id": "txn-1",
        "phone": "+573001234567",
        "email": "user@example.com",
        "user_selfie": JPEG,
        "image_front": PNG,
        "document_sign": samples.make_pdf(),
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def multipart(values: dict[str, Any]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for key, value in values.items():
        if isinstance(value, bytes):
            form.add_field(key, io.BytesIO(value), filename=f"{key}.bin")
        else:
            form.add_field(key, value)
    return form


def as_json(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: base64.b64encode(value).decode() if isinstance(value, bytes) else value
        for key, value in values.items()
    }


async def create(
    sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str], values: dict[str, Any]
) -> tuple[int, Any]:
    async with http.post(
        f"{sb.url}/create_signature", data=multipart(values), headers=auth
    ) as response:
        return response.status, await response.json()


async def otp_of(sb: Sandbox, http: aiohttp.ClientSession, transaction_id: str) -> str:
    async with http.get(f"{sb.url}/_sandbox/otp/{transaction_id}") as response:
        assert response.status == 200
        return str((await response.json())["otp_code"])


async def sign(
    sb: Sandbox, http: aiohttp.ClientSession, auth: dict[str, str], body: Any
) -> tuple[int, Any]:
    async with http.post(f"{sb.url}/sign_document", json=body, headers=auth) as response:
        return response.status, await response.json()


async def test_create_multipart(
    sb: Sandbox, http: aiohttp.ClientSession, sofia_auth: dict[str, str]
) -> None:
    status, data = await create(sb, http, sofia_auth, fields())
    assert status == 201
    assert (data["transaction_id"], data["status"]) == ("txn-1", "PENDING_OTP")
    assert TIMESTAMP.fullmatch(data["timestamp"])
    paths = data["storage_paths"]
    assert set(paths) == {"user_selfie", "image_front", "image_back", "document_sign"}
    assert paths["image_back"] is None
    assert paths["user_selfie"] == f"{sb.storage_url}/_storage/uploads/txn-1/user_selfie.jpeg"
    async with http.get(paths["image_front"]) as response:
        assert response.content_type == "image/png"
        assert await response.read() == PNG
    assert re.fullmatch(r"\d{6}", await otp_of(sb, http, "txn-1"))


async def test_create_json_with_image_back(
    sb: Sandbox, http: aiohttp.ClientSession, sofia_auth: dict[str, str]
) -> None:
    body = as_json(fields(image_back=JPEG, transaction_id="txn-json"))
    async with http.post(f"{sb.url}/create_signature", json=body, headers=sofia_auth) as response:
        assert response.status == 201
        data = await response.json()
    assert data["storage_paths"]["image_back"].endswith("/txn-json/image_back.jpeg")
    async with http.get(data["storage_paths"]["document_sign"]) as response:
        assert await response.read() == samples.make_pdf()


async def test_json_mode_rejects_bad_base64(
    sb: Sandbox, http: aiohttp.ClientSession, sofia_auth: dict[str, str]
) -> None:
    body = as_json(fields())
    body["user_selfie"] = "***"
    async with http.post(f"{sb.url}/create_signature", json=body, headers=sofia_auth) as response:
        assert response.status == 400
        assert await response.json() == {
            "code": "WHK001",
            "message": "user_selfie: is not valid Base64",
        }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tenant_id": None}, "missing field: tenant_id"),
        ({"transaction_id": ""}, "missing field: transaction_id"),
        ({"phone": None}, "missing field: phone"),
        ({"email": None}, "missing field: email"),
        ({"user_selfie": None}, "missing field: user_selfie"),
        ({"image_front": None}, "missing field: image_front"),
        ({"document_sign": None}, "missing field: document_sign"),
        ({"document_sign": b""}, "missing field: document_sign"),
        ({"tenant_id": "other"}, "tenant_id: unknown tenant"),
        ({"email": "nope"}, "email: must be a valid e-mail address"),
        ({"phone": "call me"}, "phone: must be a phone number"),
        ({"user_selfie": b"GIF89a"}, "user_selfie: must be a JPEG or PNG image"),
        ({"image_back": b"BM...."}, "image_back: must be a JPEG or PNG image"),
        ({"document_sign": JPEG}, "document_sign: must be a PDF"),
    ],
)
async def test_create_validation(
    sb: Sandbox,
    http: aiohttp.ClientSession,
    sofia_auth: dict[str, str],
    changes: dict[str, Any],
    message: str,
) -> None:
    assert await create(sb, http, sofia_auth, fields(**changes)) == (
        400,
        {"code": "WHK001", "message": message},
    )


async def test_duplicate_transaction_and_bad_content_type(
    sb: Sandbox, http: aiohttp.ClientSession, sofia_auth: dict[str, str]
) -> None:
    assert (await create(sb, http, sofia_auth, fields()))[0] == 201
    status, data = await create(sb, http, sofia_auth, fields())
    assert (status, data["code"]) == (400, "WHK001")
    assert "duplicate" in data["message"]
    async with http.post(
        f"{sb.url}/create_signature",
        data="tenant_id=x",
        headers={**sofia_auth, "Content-Type": "text/plain"},
    ) as response:
        assert response.status == 400


@pytest.mark.parametrize("path", ["/create_signature", "/sign_document"])
@pytest.mark.parametrize("header", [None, "Basic c29maWEtY2xpZW50Ondyb25n", "Bearer x"])
async def test_basic_auth_required(
    sb: Sandbox, http: aiohttp.ClientSession, path: str, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    async with http.post(f"{sb.url}{path}", json={}, headers=headers) as response:
        assert response.status == 401
        body = await response.json()
    assert body == {"code": "WHK002", "message": "authentication failed"}


async def test_sign_with_the_right_code(
    sb: Sandbox, http: aiohttp.ClientSession, sofia_auth: dict[str, str]
) -> None:
    # Large enough to be spooled to disk on the way in.
    pdf = samples.make_pdf(2, size=1_500_000)
    await create(sb, http, sofia_auth, fields(document_sign=pdf, transaction_id="txn/7"))
    code = await otp_of(sb, http, "txn/7")
    status, data = await sign(sb, http, sofia_auth, {"transaction_id": "txn/7", "otp_code": code})
    assert status == 200
    digest = hashlib.sha256(pdf).hexdigest()
    assert data["status"] == "SIGNED"
    assert data["signature_hash"] == digest
    assert data["signed_document_url"] == f"{sb.storage_url}/_storage/signed/txn/7.pdf"
    assert TIMESTAMP.fullmatch(data["timestamp"])
    assert data["trace_log_id"]
    # The right code again returns the same signature instead of a new one.
    assert await sign(sb, http, sofia_auth, {"transaction_id": "txn/7", "otp_code": code}) == (
        200,
        data,
    )
    async with http.get(data["signed_document_url"], headers={"X-Probe": "1"}) as response:
        assert response.status == 200
        assert response.content_type == "application/pdf"
        signed = await response.read()
    assert signed.startswith(pdf)
    assert samples.read_info(signed)["SignatureHash"] == digest
    reader = pypdf.PdfReader(io.BytesIO(signed), strict=True)
    assert len(reader.pages) == 2
    (fetch,) = sb.requests_for("sofia.storage")
    assert fetch.status == 200
    assert fetch.headers["X-Probe"] == "1"
    assert "Authorization" not in fetch.headers


async def test_wrong_codes_lock_the_transaction(
    sb: Sandbox, http: aiohttp.ClientSession, sofia_auth: dict[str, str]
) -> None:
    await create(sb, http, sofia_auth, fields())
    code = await otp_of(sb, http, "txn-1")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    messages = []
    for _ in range(3):
        status, data = await sign(
            sb, http, sofia_auth, {"transaction_id": "txn-1", "otp_code": wrong}
        )
        assert (status, data["code"]) == (400, "WHK001")
        messages.append(data["message"])
    assert messages == [
        "invalid OTP (2 attempts left)",
        "invalid OTP (1 attempts left)",
        "invalid OTP; transaction locked",
    ]
    status, data = await sign(sb, http, sofia_auth, {"transaction_id": "txn-1", "otp_code": code})
    assert (status, data["code"]) == (400, "WHK001")
    assert "locked" in data["message"]


async def test_sign_errors(
    sb: Sandbox, http: aiohttp.ClientSession, sofia_auth: dict[str, str]
) -> None:
    assert await sign(sb, http, sofia_auth, {"transaction_id": "nope", "otp_code": "1"}) == (
        404,
        {"code": "WHK004", "message": "transaction not found"},
    )
    assert await sign(sb, http, sofia_auth, {"transaction_id": "nope"}) == (
        400,
        {"code": "WHK001", "message": "missing field: otp_code"},
    )
    assert (await sign(sb, http, sofia_auth, [1]))[0] == 400
    async with http.get(f"{sb.url}/_sandbox/otp/nope") as response:
        assert response.status == 404
    async with http.get(f"{sb.storage_url}/_storage/signed/nope.pdf") as response:
        assert response.status == 404


async def test_faults_use_the_sofia_error_shape(
    sb: Sandbox, http: aiohttp.ClientSession, sofia_auth: dict[str, str]
) -> None:
    sb.faults.add(Fault(route="sofia.create_signature", status=503, times=1))
    sb.faults.add(Fault(route="sofia.sign_document", status=400, times=1))
    status, data = await create(sb, http, sofia_auth, fields())
    assert (status, data["code"]) == (503, "HTTP503")
    status, data = await sign(sb, http, sofia_auth, {"transaction_id": "x", "otp_code": "1"})
    assert (status, data["code"]) == (400, "WHK001")
    # The faulted request created nothing: the same id is still free.
    assert (await create(sb, http, sofia_auth, fields()))[0] == 201
