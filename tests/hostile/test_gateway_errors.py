"""A gateway error after the server acted: the create is never sent twice.

The server here creates the object (and counts it), then answers as a
gateway would whose upstream finished the work but whose answer was lost: a
504 (the gateway stopped waiting) or a 502 (the upstream connection was
reset). Replaying the POST would create a second contract; the SDK raises at
once, with an error saying the request reached a server that may have acted,
and the bulk engine reports the item ``uncertain`` so that a rerun on the
same journal does not send it again. Reads are still retried.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import signing_async as sa

from ..conftest import MINIMAL_PDF
from .server import HostileServer, RawRequest, answer, answer_json

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\xff\xd9"
ZIP = io.BytesIO()
with zipfile.ZipFile(ZIP, "w") as archive:
    archive.writestr("contract.pdf", MINIMAL_PDF)
NO_WAIT = sa.RetryPolicy(backoff_initial=0.0, backoff_max=0.0)  # max_retries stays 2
SIGNATURE = {"type": "signature", "page": 1, "x": 100, "y": 700, "w": 200, "h": 50}
GATEWAY_PAGE = b"<html><body><h1>%d</h1>The upstream did not answer.</body></html>"
_TRANSACTION_ID = re.compile(rb'name="transaction_id"\r\n(?:[^\r\n]+\r\n)*\r\n([^\r\n]*)\r\n')


class Gateway:
    """A server behind a gateway: it acts on every create, the gateway may lose the answer.

    Args:
        script: Per item key, the status the gateway answers each attempt
            with, in order; once used up, the answer gets through. A 502 or
            504 comes after the item was created; a 503 before anything was
            done (the upstream refused the work).
        reads: The statuses a read (GET) gets before its answer gets through.
    """

    def __init__(
        self, script: Mapping[str, list[int]] | None = None, reads: tuple[int, ...] = ()
    ) -> None:
        self.script = {key: list(statuses) for key, statuses in (script or {}).items()}
        self.reads = reads
        self.created: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.read_attempts: Counter[str] = Counter()
        self.url = ""

    async def handle(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        if request.method == "GET":
            await self._read(request, writer)
        elif request.path == "/oauth2/token":
            await answer_json(writer, 200, '{"access_token": "tok", "expires_in": 3600}')
        elif request.path.startswith("/api/v1/biometric/start_circuit/"):
            key = json.loads(request.body)["id"]
            await self._create(writer, key, {"circuitId": f"circ-{key}", "link": "https://x/s"})
        elif request.path == "/api/1.0/createdocument":
            key = json.loads(request.body)["metadata"]["externalId"]
            await self._create(writer, key, {"documentId": f"doc-{key}", "status": "sent"})
        elif request.path == "/create_signature":
            found = _TRANSACTION_ID.search(request.body)
            assert found is not None, "no transaction_id part"
            key = found.group(1).decode()
            created = {"transaction_id": key, "status": "PENDING_OTP", "storage_paths": {}}
            await self._create(writer, key, created, status=201)
        else:
            await answer_json(writer, 404, '{"error": "no such route"}')

    async def _create(
        self, writer: asyncio.StreamWriter, key: str, result: dict[str, Any], status: int = 200
    ) -> None:
        self.received[key] += 1
        steps = self.script.get(key) or []
        gateway = steps.pop(0) if steps else None
        if gateway == 503:
            await answer(writer, 503, GATEWAY_PAGE % 503, {"Content-Type": "text/html"})
            return
        self.created[key] += 1  # the upstream did the work ...
        if gateway is None:
            await answer_json(writer, status, json.dumps(result))
        else:  # ... and the gateway lost its answer
            await answer(writer, gateway, GATEWAY_PAGE % gateway, {"Content-Type": "text/html"})

    async def _read(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        attempt = self.read_attempts[request.path]
        self.read_attempts[request.path] += 1
        if attempt < len(self.reads):
            status = self.reads[attempt]
            await answer(writer, status, GATEWAY_PAGE % status, {"Content-Type": "text/html"})
        elif request.path == "/api/tokens/whoami":
            await answer_json(writer, 200, '{"user": {"objectId": "u-1"}, "scopes": []}')
        elif request.path.startswith("/api/v1/biometric/document_circuit/"):
            await answer(writer, 200, ZIP.getvalue(), {"Content-Type": "application/zip"})
        else:
            await answer(writer, 200, MINIMAL_PDF, {"Content-Type": "application/pdf"})


@dataclass(frozen=True)
class Provider:
    """One provider's create, bulk create and read, against a :class:`Gateway`."""

    name: str
    client: Callable[[str], sa.SigningClient]
    item: Callable[[str], dict[str, Any]]
    create: Callable[[sa.SigningClient, dict[str, Any]], Awaitable[object]]
    create_many: Callable[[sa.SigningClient, list[dict[str, Any]], Path], sa.BulkRun[Any]]
    read: Callable[[sa.SigningClient, str, Path], Awaitable[object]]

    def __str__(self) -> str:
        return self.name


def _danasign_item(key: str) -> dict[str, Any]:
    return {
        "file": MINIMAL_PDF,
        "title": f"Contract {key}",
        "signers": [{"role": "Client", "name": "Ana", "email": "ana@example.com"}],
        "placeholders": [{"role": "Client", "widgets": [SIGNATURE]}],
        "metadata": {"external_id": key},
    }


def _circuit_item(key: str) -> dict[str, Any]:
    signer = {"name": "Ana", "email": "ana@example.com", "nif": "1"}
    return {"id": key, "signer": signer, "docs": [sa.Document(MINIMAL_PDF, "contract.pdf")]}


def _otp_item(key: str) -> dict[str, Any]:
    return {
        "transaction_id": key,
        "user_selfie": JPEG,
        "image_front": JPEG,
        "document_sign": MINIMAL_PDF,
        "phone": "+573001234567",
        "email": "ana@example.com",
    }


DANASIGN = Provider(
    "DANAsign",
    lambda url: sa.SigningClient(
        danasign=sa.DanaSignConfig(server_url=url, api_token="hostile-token"), retry=NO_WAIT
    ),
    _danasign_item,
    lambda client, item: client.documents.create(**item),
    lambda client, items, journal: client.documents.create_many(items, journal=journal),
    lambda client, url, folder: client.api_tokens.whoami(),
)
DANACONNECT = Provider(
    "DANAconnect",
    lambda url: sa.SigningClient(
        danaconnect=sa.DanaConnectConfig(
            client_id="hostile-client",
            client_secret="hostile-secret",
            channel="acme",
            base_url=url,
            download_base_url=url,
        ),
        retry=NO_WAIT,
    ),
    _circuit_item,
    lambda client, item: client.circuits.start(**item),
    lambda client, items, journal: client.circuits.start_many(items, journal=journal),
    lambda client, url, folder: client.circuits.download_to("9", folder / "signed.zip"),
)
SOFIA = Provider(
    "S.O.F.I.A.",
    lambda url: sa.SigningClient(
        sofia=sa.SofiaConfig(
            client_id="hostile-client",
            client_secret="hostile-secret",
            tenant_id="tenant-1",
            base_url=url,
        ),
        retry=NO_WAIT,
    ),
    _otp_item,
    lambda client, item: client.otp_signatures.create(**item),
    lambda client, items, journal: client.otp_signatures.create_many(items, journal=journal),
    lambda client, url, folder: client.otp_signatures.download_signed(
        f"{url}/storage/signed.pdf", folder / "signed.pdf"
    ),
)
PROVIDERS = [DANASIGN, DANACONNECT, SOFIA]


@asynccontextmanager
async def serving(gateway: Gateway, provider: Provider) -> AsyncIterator[sa.SigningClient]:
    async with HostileServer(gateway.handle) as server:
        gateway.url = server.url
        async with provider.client(server.url) as client:
            yield client


Outcomes = dict[str | None, sa.BulkOutcome[Any]]


async def two_runs(
    gateway: Gateway, provider: Provider, keys: list[str], journal: Path
) -> tuple[Outcomes, Outcomes]:
    """Run the bulk create of ``keys`` twice on one journal; each run's outcomes by key."""
    runs: list[Outcomes] = []
    async with serving(gateway, provider) as client:
        items = [provider.item(key) for key in keys]
        for _ in range(2):
            async with provider.create_many(client, items, journal) as outcomes:
                runs.append({outcome.key: outcome async for outcome in outcomes})
    return runs[0], runs[1]


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
@pytest.mark.parametrize("status", [504, 502])
async def test_a_create_answered_by_a_gateway_after_acting_is_sent_once(
    provider: Provider, status: int, tmp_path: Path
) -> None:
    # Every attempt would create the object and be answered `status`.
    gateway = Gateway({"k-1": [status] * 3}, reads=(502, 504))

    async with serving(gateway, provider) as client:
        with pytest.raises(sa.ServerError) as caught:
            await provider.create(client, provider.item("k-1"))
        # A read answered 502, then 504, is still retried: replaying it is harmless.
        await provider.read(client, gateway.url, tmp_path)

    assert gateway.created == {"k-1": 1}
    assert gateway.received == {"k-1": 1}
    error = caught.value
    assert error.status == status
    assert error.provider == provider.name
    assert error.may_have_acted
    assert "the request reached the server, which may have carried it out" in str(error)
    assert sum(gateway.read_attempts.values()) == 3


@pytest.mark.parametrize("provider", PROVIDERS, ids=str)
async def test_create_many_reports_gateway_errors_uncertain_and_never_resends_them(
    provider: Provider, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.db"
    keys = [f"k-{index}" for index in range(8)]
    gateway = Gateway(
        {
            "k-1": [504, 504, 504],  # created, then a gateway timeout
            "k-4": [502, 502, 502],  # created, then a bad gateway
            "k-6": [503, 503, 503],  # refused before anything was done, every retry
        }
    )

    first, rerun = await two_runs(gateway, provider, keys, journal)

    assert {key: outcome.status for key, outcome in first.items()} == {
        **dict.fromkeys(keys, "succeeded"),
        "k-1": "uncertain",
        "k-4": "uncertain",
        "k-6": "failed",
    }
    for key in ("k-1", "k-4"):
        error = first[key].error
        assert isinstance(error, sa.ServerError)
        assert error.may_have_acted
    assert {key: outcome.status for key, outcome in rerun.items()} == {
        **dict.fromkeys(keys, "skipped"),
        "k-1": "uncertain",  # reported, not sent: it exists already
        "k-4": "uncertain",
        "k-6": "succeeded",  # nothing was created: sent again
    }
    # Each key created exactly once over both runs; the uncertain ones were sent once.
    assert gateway.created == dict.fromkeys(keys, 1)
    assert gateway.received["k-1"] == gateway.received["k-4"] == 1
    assert gateway.received["k-6"] == 3 + 1
