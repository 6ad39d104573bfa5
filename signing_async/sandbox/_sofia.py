"""S.O.F.I.A. OTP signature API: signature requests, OTP signing, signed-file storage."""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from ._blobs import Blob, BlobWriter
from ._http import (
    MAX_BODY,
    RouteSpec,
    blob_response,
    json_response,
    media_type,
    nonempty_str,
    now,
    parse_basic,
    valid_email,
)
from ._jsonbody import BodyError, discard_spills, read_json_spilling, read_small_json
from ._pdf import info_update
from ._state import SandboxState
from ._uploads import Invalid, decode_upload, discard, image_kind, is_pdf

__all__ = ["SOFIA", "SofiaState", "routes", "setup"]

PRODUCER = "signing_async sandbox"
MAX_ATTEMPTS = 3
TEXT_FIELDS = ("tenant_id", "transaction_id", "phone", "email")
FILE_FIELDS = ("user_selfie", "image_front", "image_back", "document_sign")
REQUIRED_FILES = ("user_selfie", "image_front", "document_sign")
IMAGE_FIELDS = ("user_selfie", "image_front", "image_back")
_MAX_TEXT = 64 * 1024
_CHUNK = 1 << 20
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{5,19}")


def _error(status: int, code: str, message: str) -> web.Response:
    return json_response({"code": code, "message": message}, status=status)


def _timestamp(moment: datetime) -> str:
    # The provider's examples use whole seconds: "2025-09-05T21:12:00Z".
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.define
class Transaction:
    """One signature request."""

    transaction_id: str
    tenant_id: str
    phone: str
    email: str
    files: dict[str, Blob]
    otp: str
    created_at: str
    status: str = "PENDING_OTP"
    failed_attempts: int = 0
    signed: dict[str, Any] | None = None

    @property
    def locked(self) -> bool:
        """Whether too many wrong codes were tried."""
        return self.failed_attempts >= MAX_ATTEMPTS


class SofiaState:
    """Transactions and the files the storage host serves."""

    def __init__(self, sandbox: SandboxState) -> None:
        self.sandbox = sandbox
        self.transactions: dict[str, Transaction] = {}
        self.storage: dict[str, tuple[Blob, str]] = {}  # path -> (blob, content type)
        self._trace_ids: Iterator[int] = itertools.count(654321)

    def reset(self) -> None:
        """Forget transactions and stored files."""
        self.transactions.clear()
        self.storage.clear()
        self._trace_ids = itertools.count(654321)

    def next_trace_id(self) -> str:
        """A fresh trace log id."""
        return str(next(self._trace_ids))


SOFIA = web.AppKey("signing_async_sandbox_sofia", SofiaState)


def _authorized(request: web.Request) -> bool:
    credentials = request.app[SOFIA].sandbox.credentials
    expected = (credentials.sofia_client_id, credentials.sofia_client_secret)
    return parse_basic(request.headers.get("Authorization")) == expected


def _unauthorized() -> web.Response:
    return _error(401, "WHK002", "authentication failed")


async def _read_part_text(part: BodyPartReader, name: str) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(_CHUNK):
        data += chunk
        if len(data) > _MAX_TEXT:
            raise Invalid(f"{name}: field too long")
    try:
        return data.decode(part.get_charset(default="utf-8"))
    except (UnicodeDecodeError, LookupError):
        raise Invalid(f"{name}: not valid text") from None


async def _next_part(reader: MultipartReader) -> MultipartReader | BodyPartReader | None:
    try:
        return await reader.next()
    except HttpProcessingError:
        # aiohttp's parser refuses the part's headers (a line without a colon, say).
        raise Invalid("malformed multipart body: a part's headers are invalid") from None


async def _read_multipart(
    request: web.Request, folder: Path, fields: dict[str, Any], files: dict[str, Blob]
) -> None:
    """Stream a multipart body: files go to blobs (spooled to disk when large)."""
    reader = await request.multipart()
    received = 0
    while (part := await _next_part(reader)) is not None:
        if not isinstance(part, BodyPartReader):
            raise Invalid("nested multipart bodies are not accepted")
        name = part.name or ""
        if name in FILE_FIELDS:
            writer = BlobWriter(folder, suffix=f".{name}")
            try:
                while chunk := await part.read_chunk(_CHUNK):
                    received += len(chunk)
                    if received > MAX_BODY:
                        raise BodyError("request body too large", status=413)
                    writer.write(chunk)
            except BaseException:
                writer.discard()
                raise
            if name in files:
                discard(files[name])
            files[name] = writer.close()
        elif name in TEXT_FIELDS:
            fields[name] = await _read_part_text(part, name)
        else:
            await part.release()  # unknown parts are read and ignored


async def _read_json(
    request: web.Request, folder: Path, fields: dict[str, Any], files: dict[str, Blob]
) -> None:
    """Read the JSON variant: the files arrive as Base64 strings."""
    body = await read_json_spilling(request, folder, MAX_BODY)
    try:
        if not isinstance(body, dict):
            raise Invalid("body must be a JSON object")
        for name in TEXT_FIELDS:
            if name in body:
                fields[name] = body[name]
        for name in FILE_FIELDS:
            value = body.get(name)
            if value is not None and value != "":
                files[name] = await decode_upload(value, name, folder)
    finally:
        discard_spills(body)


def _validate(state: SofiaState, fields: dict[str, Any], files: dict[str, Blob]) -> None:
    for name in TEXT_FIELDS:
        if not nonempty_str(fields.get(name)):
            raise Invalid(f"missing field: {name}")
    for name in REQUIRED_FILES:
        if name not in files or files[name].size == 0:
            raise Invalid(f"missing field: {name}")
    if fields["tenant_id"] != state.sandbox.credentials.sofia_tenant_id:
        raise Invalid("tenant_id: unknown tenant")
    if not valid_email(fields["email"]):
        raise Invalid("email: must be a valid e-mail address")
    if not _PHONE.fullmatch(fields["phone"]):
        raise Invalid("phone: must be a phone number")
    if fields["transaction_id"] in state.transactions:
        raise Invalid(f"duplicate transaction_id: {fields['transaction_id']!r} already exists")
    for name in IMAGE_FIELDS:
        if name in files and image_kind(files[name]) is None:
            raise Invalid(f"{name}: must be a JPEG or PNG image")
    if not is_pdf(files["document_sign"]):
        raise Invalid("document_sign: must be a PDF")


def _store_uploads(
    state: SofiaState, storage_url: str, transaction_id: str, files: dict[str, Blob]
) -> dict[str, str | None]:
    paths: dict[str, str | None] = {}
    for name in FILE_FIELDS:
        blob = files.get(name)
        if blob is None:
            paths[name] = None
            continue
        extension = "pdf" if name == "document_sign" else (image_kind(blob) or "bin")
        relative = f"uploads/{transaction_id}/{name}.{extension}"
        content_type = "application/pdf" if extension == "pdf" else f"image/{extension}"
        state.storage[relative] = (blob, content_type)
        paths[name] = f"{storage_url}/_storage/{quote(relative)}"
    return paths


async def create_signature(request: web.Request) -> web.StreamResponse:
    """``POST /create_signature`` — multipart/form-data or JSON with Base64 files."""
    if not _authorized(request):
        return _unauthorized()
    state = request.app[SOFIA]
    folder = state.sandbox.workdir
    fields: dict[str, Any] = {}
    files: dict[str, Blob] = {}
    kind = media_type(request)
    try:
        if kind == "multipart/form-data":
            await _read_multipart(request, folder, fields, files)
        elif kind == "application/json":
            await _read_json(request, folder, fields, files)
        else:
            raise Invalid("Content-Type must be multipart/form-data or application/json")
        _validate(state, fields, files)
    except (Invalid, BodyError, ValueError) as exc:
        for blob in files.values():
            discard(blob)
        status = exc.status if isinstance(exc, BodyError) else 400
        return _error(status, "WHK001", str(exc) or "invalid request")
    transaction_id = fields["transaction_id"]
    storage_url = state.sandbox.storage_url_for(request)
    transaction = Transaction(
        transaction_id=transaction_id,
        tenant_id=fields["tenant_id"],
        phone=fields["phone"],
        email=fields["email"],
        files=files,
        otp=f"{secrets.randbelow(10**6):06d}",
        created_at=_timestamp(now()),
    )
    state.transactions[transaction_id] = transaction
    return json_response(
        {
            "transaction_id": transaction_id,
            "status": "PENDING_OTP",
            "timestamp": transaction.created_at,
            "storage_paths": _store_uploads(state, storage_url, transaction_id, files),
        },
        status=201,
    )


def _sign_pdf(original: Blob, info: dict[str, str], folder: Path) -> Blob:
    """Write the signed copy: the original bytes plus an Info incremental update."""
    suffix = info_update(original.read_range, original.size, info)
    writer = BlobWriter(folder, suffix=".signed.pdf")
    for chunk in original.iter_chunks():
        writer.write(chunk)
    writer.write(suffix)
    return writer.close()


async def sign_document(request: web.Request) -> web.StreamResponse:
    """``POST /sign_document`` ``{"transaction_id", "otp_code"}``."""
    if not _authorized(request):
        return _unauthorized()
    if media_type(request) != "application/json":
        return _error(400, "WHK001", "Content-Type must be application/json")
    try:
        body = await read_small_json(request)
    except BodyError as exc:
        return _error(exc.status, "WHK001", str(exc))
    if not isinstance(body, dict):
        return _error(400, "WHK001", "body must be a JSON object")
    for name in ("transaction_id", "otp_code"):
        if not nonempty_str(body.get(name)):
            return _error(400, "WHK001", f"missing field: {name}")
    state = request.app[SOFIA]
    transaction = state.transactions.get(body["transaction_id"])
    if transaction is None:
        return _error(404, "WHK004", "transaction not found")
    if transaction.locked:
        return _error(400, "WHK001", "transaction locked after too many invalid OTP codes")
    # Compared as bytes: compare_digest refuses str with non-ASCII characters.
    if not secrets.compare_digest(body["otp_code"].encode(), transaction.otp.encode()):
        transaction.failed_attempts += 1
        if transaction.locked:
            return _error(400, "WHK001", "invalid OTP; transaction locked")
        left = MAX_ATTEMPTS - transaction.failed_attempts
        return _error(400, "WHK001", f"invalid OTP ({left} attempts left)")
    if transaction.signed is None:
        # Replaying the right code returns the same signature: a client that
        # lost the first answer can ask again safely.
        transaction.signed = await _sign(state, request, transaction)
    return json_response(transaction.signed)


async def _sign(
    state: SofiaState, request: web.Request, transaction: Transaction
) -> dict[str, Any]:
    original = transaction.files["document_sign"]
    signed_at = now()
    info = {
        "Producer": PRODUCER,
        "SignatureHash": original.sha256,
        "TransactionId": transaction.transaction_id,
        "SignedAt": _timestamp(signed_at),
    }
    try:
        signed = await asyncio.to_thread(_sign_pdf, original, info, state.sandbox.workdir)
    except ValueError:
        # The upload starts with %PDF- but has no usable trailer: keep it as is.
        signed = original
    relative = f"signed/{transaction.transaction_id}.pdf"
    state.storage[relative] = (signed, "application/pdf")
    transaction.status = "SIGNED"
    url = f"{state.sandbox.storage_url_for(request)}/_storage/{quote(relative)}"
    return {
        "transaction_id": transaction.transaction_id,
        "status": "SIGNED",
        "signed_document_url": url,
        "signature_hash": original.sha256,
        "timestamp": _timestamp(signed_at),
        "trace_log_id": state.next_trace_id(),
    }


async def storage(request: web.Request) -> web.StreamResponse:
    """``GET /_storage/{path}`` — the storage host; no credentials, like a bucket URL."""
    stored = request.app[SOFIA].storage.get(request.match_info["path"])
    if stored is None:
        return json_response({"error": "not found"}, status=404)
    blob, content_type = stored
    return blob_response(blob, content_type)


async def read_otp(request: web.Request) -> web.StreamResponse:
    """``GET /_sandbox/otp/{transaction_id}`` — the code the user would receive."""
    transaction = request.app[SOFIA].transactions.get(request.match_info["transaction_id"])
    if transaction is None:
        return _error(404, "WHK004", "transaction not found")
    return json_response({"otp_code": transaction.otp})


def routes() -> list[RouteSpec]:
    """The routes this provider serves, with their log names."""
    return [
        ("POST", "/create_signature", create_signature, "sofia.create_signature"),
        ("POST", "/sign_document", sign_document, "sofia.sign_document"),
        ("GET", "/_storage/{path:(signed|uploads)/.+}", storage, "sofia.storage"),
        ("GET", "/_sandbox/otp/{transaction_id:.+}", read_otp, "control"),
    ]


def setup(app: web.Application, sandbox: SandboxState) -> None:
    """Attach this provider's state to the application."""
    state = SofiaState(sandbox)
    app[SOFIA] = state
    sandbox.register(state)
