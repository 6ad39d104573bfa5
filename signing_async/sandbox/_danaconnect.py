"""DANAconnect Biometric Circuit API: OAuth token, circuits, signed-document ZIPs."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import attrs
from aiohttp import web

from ._blobs import Blob, new_path
from ._http import (
    MAX_BODY,
    RouteSpec,
    SandboxFileResponse,
    bearer_token,
    is_int,
    json_response,
    media_type,
    nonempty_str,
    now,
    parse_basic,
    valid_email,
)
from ._jsonbody import BodyError, discard_spills, read_form, read_json_spilling
from ._pdf import info_update
from ._state import SandboxState
from ._uploads import Invalid, decode_pdf, discard

__all__ = ["DANACONNECT", "Circuit", "DanaConnectState", "complete", "decline", "routes", "setup"]

PRODUCER = "signing_async sandbox"


@attrs.define
class Circuit:
    """One signing circuit and its uploaded documents."""

    circuit_id: str
    channel: str
    reference: str
    signer: dict[str, str]
    docs: list[tuple[str, Blob]]
    created_at: datetime
    completed_at: datetime | None = None
    archive: Path | None = None
    declined_at: datetime | None = None

    @property
    def status(self) -> str:
        """``"completed"``, ``"declined"`` or ``"waiting"`` (for the signer)."""
        if self.archive is not None:
            return "completed"
        return "declined" if self.declined_at is not None else "waiting"


class DanaConnectState:
    """Issued tokens and circuits."""

    def __init__(self, sandbox: SandboxState) -> None:
        self.sandbox = sandbox
        self.tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.circuits: dict[str, Circuit] = {}
        self._ids: Iterator[int] = itertools.count(658936)

    def reset(self) -> None:
        """Forget tokens and circuits."""
        self.tokens.clear()
        self.circuits.clear()
        self._ids = itertools.count(658936)

    def issue_token(self) -> tuple[str, float]:
        """A new opaque token and its lifetime in seconds."""
        lifetime = self.sandbox.token_lifetime
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + lifetime
        return token, lifetime

    def next_circuit_id(self) -> str:
        """A fresh numeric circuit id."""
        return str(next(self._ids))


DANACONNECT = web.AppKey("signing_async_sandbox_danaconnect", DanaConnectState)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return json_response({"error": message}, status=status, headers=headers)


def _check_bearer(request: web.Request) -> web.Response | None:
    """A 401 answer unless the request carries a live token."""
    state = request.app[DANACONNECT]
    token = bearer_token(request.headers.get("Authorization"))
    challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    if token is None:
        return _error(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    expiry = state.tokens.get(token)
    if expiry is None:
        return _error(401, "invalid token", challenge)
    if time.monotonic() >= expiry:
        del state.tokens[token]
        return _error(401, "token expired", challenge)
    return None


async def token(request: web.Request) -> web.StreamResponse:
    """``POST /oauth2/token`` — client-credentials grant with Basic client auth."""
    state = request.app[DANACONNECT]
    credentials = state.sandbox.credentials
    expected = (credentials.danaconnect_client_id, credentials.danaconnect_client_secret)
    if parse_basic(request.headers.get("Authorization")) != expected:
        return json_response(
            {"error": "invalid_client", "error_description": "client authentication failed"},
            status=401,
            headers={"WWW-Authenticate": 'Basic realm="danaconnect"'},
        )
    if media_type(request) != "application/x-www-form-urlencoded":
        return _error(400, "Content-Type must be application/x-www-form-urlencoded")
    try:
        form = await read_form(request)
    except BodyError as exc:
        return _error(exc.status, str(exc))
    grant_type = form.get("grant_type", [None])[0]
    if grant_type is None:
        return _error(400, "grant_type is required")
    if grant_type != "client_credentials":
        return _error(400, "unsupported grant_type: only client_credentials is allowed")
    access_token, lifetime = state.issue_token()
    # Whole lifetimes go out as integers, like the real service's 3600.
    expires_in: float = int(lifetime) if lifetime.is_integer() else lifetime
    return json_response(
        {"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer"}
    )


def _validate_signer(signer: Any) -> dict[str, str]:
    if not isinstance(signer, dict):
        raise Invalid("signer: must be an object with name, email and nif")
    if not nonempty_str(signer.get("name")):
        raise Invalid("signer.name: must be a non-empty string")
    if not valid_email(signer.get("email")):
        raise Invalid("signer.email: must be a valid e-mail address")
    if not nonempty_str(signer.get("nif")):
        raise Invalid("signer.nif: must be a non-empty string")
    return {"name": signer["name"], "email": signer["email"], "nif": signer["nif"]}


async def _decode_doc(index: int, doc: Any, folder: Path) -> tuple[str, Blob]:
    field = f"docs[{index}]"
    if not isinstance(doc, dict):
        raise Invalid(f"{field}: must be an object with name, size and content")
    name = doc.get("name")
    if not nonempty_str(name) or not name.lower().endswith(".pdf"):
        raise Invalid(f"{field}.name: must be a file name ending in .pdf")
    size = doc.get("size")
    if not is_int(size) or size < 0:
        raise Invalid(f"{field}.size: must be a non-negative integer (the document's bytes)")
    blob = await decode_pdf(doc.get("content"), f"{field}.content", folder)
    if blob.size != size:
        discard(blob)
        raise Invalid(f"{field}.size: is {size} but the decoded document has {blob.size} bytes")
    return name, blob


async def start_circuit(request: web.Request) -> web.StreamResponse:
    """``POST /api/v1/biometric/start_circuit/{channel}``."""
    if (denied := _check_bearer(request)) is not None:
        return denied
    state = request.app[DANACONNECT]
    sandbox = state.sandbox
    channel = request.match_info["channel"]
    if channel != sandbox.credentials.channel:
        return _error(404, "unknown channel")
    if media_type(request) != "application/json":
        return _error(400, "Content-Type must be application/json")
    try:
        body = await read_json_spilling(request, sandbox.workdir, MAX_BODY)
    except BodyError as exc:
        return _error(exc.status, str(exc))
    docs: list[tuple[str, Blob]] = []
    try:
        if not isinstance(body, dict):
            raise Invalid("body: must be a JSON object")
        reference = body.get("id")
        if not nonempty_str(reference):
            raise Invalid("id: must be a non-empty string")
        signer = _validate_signer(body.get("signer"))
        raw_docs = body.get("docs")
        if not isinstance(raw_docs, list) or not raw_docs:
            raise Invalid("docs: must be a non-empty list")
        for index, doc in enumerate(raw_docs):
            docs.append(await _decode_doc(index, doc, sandbox.workdir))
    except Invalid as exc:
        for _, blob in docs:
            discard(blob)
        return _error(400, str(exc))
    finally:
        discard_spills(body)
    circuit_id = state.next_circuit_id()
    state.circuits[circuit_id] = Circuit(
        circuit_id=circuit_id,
        channel=channel,
        reference=reference,
        signer=signer,
        docs=docs,
        created_at=now(),
    )
    link = f"{sandbox.url_for(request)}/sign/{circuit_id}"
    # 200, the seed's only success code (the SDK accepts any 2xx).
    return json_response({"circuitId": circuit_id, "link": link})


def _unique_name(name: str, used: set[str]) -> str:
    # Two uploads may share a name; a ZIP should not hold duplicate entries.
    candidate, counter = PurePosixPath(name).name or "document.pdf", 2
    stem, suffix = candidate[: -len(".pdf")], candidate[-len(".pdf") :]
    while candidate.lower() in used:
        candidate = f"{stem} ({counter}){suffix}"
        counter += 1
    used.add(candidate.lower())
    return candidate


def signed_suffix(blob: Blob, info: dict[str, str]) -> bytes:
    """The bytes that turn an uploaded PDF into its "signed" copy."""
    try:
        return info_update(blob.read_range, blob.size, info)
    except ValueError:
        # The upload starts with %PDF- but has no usable trailer: mark it with
        # a comment rather than fail the signer.
        summary = " ".join(f"{key}={value}" for key, value in info.items())
        return f"\n% {PRODUCER}: {summary}\n".encode("latin-1", "replace")


def _build_archive(circuit: Circuit, folder: Path) -> Path:
    """Write the circuit's ZIP of signed copies and return its path."""
    assert circuit.completed_at is not None
    stamp = circuit.completed_at
    info = {
        "Producer": PRODUCER,
        "SignedBy": circuit.signer["name"],
        "CircuitId": circuit.circuit_id,
        "ModDate": stamp.strftime("D:%Y%m%d%H%M%SZ"),
    }
    path = new_path(folder, ".zip")
    used: set[str] = set()
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        for name, blob in circuit.docs:
            suffix = signed_suffix(blob, info)
            entry = zipfile.ZipInfo(_unique_name(name, used), date_time=stamp.timetuple()[:6])
            # Stored, not deflated: sample PDFs are padded with spaces and would
            # shrink to nothing, hiding the transfer sizes benchmarks measure.
            entry.compress_type = zipfile.ZIP_STORED
            entry.file_size = blob.size + len(suffix)  # lets zipfile pick ZIP64 up front
            with archive.open(entry, "w") as out:
                for chunk in blob.iter_chunks():
                    out.write(chunk)
                out.write(suffix)
    return path


async def complete(state: DanaConnectState, circuit_id: str) -> bool:
    """Act as the signer of ``circuit_id``: the signed ZIP becomes downloadable.

    Returns:
        False when there is no such circuit.
    """
    circuit = state.circuits.get(circuit_id)
    if circuit is None:
        return False
    if circuit.archive is None:
        # The control route may overrule a signer who declined.
        circuit.declined_at = None
        circuit.completed_at = circuit.completed_at or now()
        circuit.archive = await asyncio.to_thread(_build_archive, circuit, state.sandbox.workdir)
    return True


def decline(state: DanaConnectState, circuit_id: str) -> bool:
    """Act as the signer of ``circuit_id`` who refuses to sign: nothing becomes downloadable.

    A circuit already completed stays completed.

    Returns:
        False when there is no such circuit.
    """
    circuit = state.circuits.get(circuit_id)
    if circuit is None:
        return False
    if circuit.archive is None and circuit.declined_at is None:
        circuit.declined_at = now()
    return True


async def complete_circuit(request: web.Request) -> web.StreamResponse:
    """``POST /_sandbox/circuits/{circuit_id}/complete`` — act as the signer."""
    circuit_id = request.match_info["circuit_id"]
    if not await complete(request.app[DANACONNECT], circuit_id):
        return _error(404, "unknown circuit")
    return json_response({"circuitId": circuit_id, "status": "completed"})


async def download(request: web.Request) -> web.StreamResponse:
    """``GET /api/v1/biometric/document_circuit/{channel}/circuit/{circuit_id}``."""
    if (denied := _check_bearer(request)) is not None:
        return denied
    state = request.app[DANACONNECT]
    channel = request.match_info["channel"]
    if channel != state.sandbox.credentials.channel:
        return _error(404, "unknown channel")
    circuit = state.circuits.get(request.match_info["circuit_id"])
    if circuit is None or circuit.channel != channel:
        return _error(404, "unknown circuit")
    if circuit.archive is None:
        if circuit.declined_at is not None:
            return _error(409, "circuit declined by the signer")
        return _error(409, "circuit not completed")
    return SandboxFileResponse(
        circuit.archive,
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="circuit-{circuit.circuit_id}.zip"'},
    )


def routes() -> list[RouteSpec]:
    """The routes this provider serves, with their log names."""
    return [
        ("POST", "/oauth2/token", token, "danaconnect.token"),
        (
            "POST",
            "/api/v1/biometric/start_circuit/{channel}",
            start_circuit,
            "danaconnect.start_circuit",
        ),
        (
            "GET",
            "/api/v1/biometric/document_circuit/{channel}/circuit/{circuit_id}",
            download,
            "danaconnect.download",
        ),
        ("POST", "/_sandbox/circuits/{circuit_id}/complete", complete_circuit, "control"),
    ]


def setup(app: web.Application, sandbox: SandboxState) -> None:
    """Attach this provider's state to the application."""
    state = DanaConnectState(sandbox)
    app[DANACONNECT] = state
    sandbox.register(state)
