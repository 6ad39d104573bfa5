"""A scripted DANAconnect behind a ``MockTransport``, and a client wired to it."""

from __future__ import annotations

import inspect
import io
import json
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.lowlevel
import pytest

import signing_async as sa
from signing_async.transports import RecordedRequest

API = "https://biometric.danaconnect.com"
DOWNLOAD = "https://acme.esignature-platform.com"
CLIENT_ID = "acme-client-id"
CLIENT_SECRET = "Sup3r-S3cret-Value-9f2"
CHANNEL = "acme"

Scripted = (
    sa.Response
    | BaseException
    | Callable[[RecordedRequest], "sa.Response | Awaitable[sa.Response]"]
)
"""One scripted answer: a response, an exception to raise, or a function of the request."""


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> sa.Response:
    """A JSON answer."""
    return sa.Response(
        status,
        headers={"Content-Type": "application/json", **(headers or {})},
        content=json.dumps(payload).encode(),
    )


def make_zip(files: dict[str, bytes]) -> bytes:
    """A ZIP archive holding ``files`` (stored, so its size is predictable)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def bearer(request: RecordedRequest) -> str:
    """The access token a request carried."""
    value = request.headers["Authorization"]
    assert value.startswith("Bearer ")
    return value.removeprefix("Bearer ")


class FakeDanaConnect:
    """Answers like DANAconnect, except where a test scripts something else.

    Each endpoint keeps the requests it received and a script: a list of
    answers used, in order, before the default behaviour resumes.
    """

    def __init__(self, zip_bytes: bytes) -> None:
        self.expires_in: float = 3600
        self.issued: list[str] = []
        self.zip_bytes = zip_bytes
        self.token_requests: list[RecordedRequest] = []
        self.start_requests: list[RecordedRequest] = []
        self.download_requests: list[RecordedRequest] = []
        self.token_script: list[Scripted] = []
        self.start_script: list[Scripted] = []
        self.download_script: list[Scripted] = []

    @property
    def current_token(self) -> str:
        """The last token issued."""
        return self.issued[-1]

    async def __call__(self, request: RecordedRequest) -> sa.Response:
        path = urlsplit(request.url).path
        requests: list[RecordedRequest]
        script: list[Scripted]
        default: Scripted
        if path == "/oauth2/token":
            requests, script, default = self.token_requests, self.token_script, self._token
        elif path.startswith("/api/v1/biometric/start_circuit/"):
            requests, script, default = self.start_requests, self.start_script, self._start
        elif path.startswith("/api/v1/biometric/document_circuit/"):
            requests, script, default = (
                self.download_requests,
                self.download_script,
                self._download,
            )
        else:
            return json_response(404, {"error": f"no route {path}"})
        requests.append(request)
        answer: Scripted = script.pop(0) if script else default
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, sa.Response):
            return answer
        result = answer(request)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _token(self, request: RecordedRequest) -> sa.Response:
        # Yield a few times, as a real round trip would, so concurrent callers pile up.
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        self.issued.append(f"access-{len(self.issued) + 1}-Zq8WvT")
        return json_response(
            200,
            {
                "access_token": self.issued[-1],
                "expires_in": self.expires_in,
                "token_type": "Bearer",
            },
        )

    def _start(self, request: RecordedRequest) -> sa.Response:
        circuit = json.loads(request.content)["id"]
        return json_response(
            201, {"circuitId": f"c-{circuit}", "link": f"{DOWNLOAD}/sign/c-{circuit}"}
        )

    def _download(self, request: RecordedRequest) -> sa.Response:
        return sa.Response(
            200,
            headers={"Content-Type": "application/zip", "Content-Length": str(len(self.zip_bytes))},
            content=self.zip_bytes,
        )


@pytest.fixture
def signed_zip(pdf_bytes: bytes) -> bytes:
    """The ZIP a completed circuit downloads as."""
    return make_zip({"contract-signed.pdf": pdf_bytes, "evidence.pdf": pdf_bytes})


@pytest.fixture
def fake(signed_zip: bytes) -> FakeDanaConnect:
    """The scripted DANAconnect."""
    return FakeDanaConnect(signed_zip)


@pytest.fixture
def transport(fake: FakeDanaConnect) -> sa.MockTransport:
    """A mock transport answered by ``fake``."""
    return sa.MockTransport(fake)


@pytest.fixture
def config() -> sa.DanaConnectConfig:
    """DANAconnect settings with the default hosts."""
    return sa.DanaConnectConfig(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, channel=CHANNEL, subdomain="acme"
    )


@pytest.fixture
def retry() -> sa.RetryPolicy:
    """The default policy, without waits."""
    return sa.RetryPolicy(backoff_initial=0)


@pytest.fixture
async def client(
    config: sa.DanaConnectConfig, transport: sa.MockTransport, retry: sa.RetryPolicy
) -> AsyncIterator[sa.SigningClient]:
    """A client talking to ``fake``."""
    async with sa.SigningClient(danaconnect=config, transport=transport, retry=retry) as client:
        yield client


@pytest.fixture
def signer() -> sa.CircuitSigner:
    """A valid signer."""
    return sa.CircuitSigner(name="Ana Pérez", email="ana@example.com", nif="12345678Z")
