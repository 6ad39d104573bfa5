"""What DANAconnect receives is byte for byte what its API documents."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import signing_async as sa

from .fake import (
    API,
    CHANNEL,
    CLIENT_ID,
    CLIENT_SECRET,
    DOWNLOAD,
    FakeDanaConnect,
    json_response,
)


async def test_token_request(
    client: sa.SigningClient, fake: FakeDanaConnect, signer: sa.CircuitSigner, pdf_bytes: bytes
) -> None:
    await client.circuits.start(id="2", signer=signer, docs=pdf_bytes)

    (request,) = fake.token_requests
    assert request.method == "POST"
    assert request.url == f"{API}/oauth2/token"
    expected_basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected_basic}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content == b"grant_type=client_credentials"


async def test_start_request(
    client: sa.SigningClient, fake: FakeDanaConnect, signer: sa.CircuitSigner, pdf_bytes: bytes
) -> None:
    circuit = await client.circuits.start(
        id="2", signer=signer, docs=[sa.Document(pdf_bytes, "contract.pdf")]
    )

    assert circuit == sa.Circuit("circ-2", f"{DOWNLOAD}/sign/2")
    (request,) = fake.start_requests
    assert request.method == "POST"
    assert request.url == f"{API}/api/v1/biometric/start_circuit/{CHANNEL}"
    assert request.headers["Authorization"] == f"Bearer {fake.issued[0]}"
    assert request.headers["Content-Type"] == "application/json"
    # A small document goes as bytes, encoded in one piece: the transport
    # (aiohttp, httpx) sets the Content-Length of bytes itself.
    assert json.loads(request.content) == {
        "id": "2",
        "signer": {"name": "Ana Pérez", "email": "ana@example.com", "nif": "12345678Z"},
        "docs": [
            {
                "name": "contract.pdf",
                "size": len(pdf_bytes),
                "content": base64.b64encode(pdf_bytes).decode(),
            }
        ],
    }


async def test_start_with_documents_from_disk(
    client: sa.SigningClient,
    fake: FakeDanaConnect,
    signer: sa.CircuitSigner,
    pdf_bytes: bytes,
    tmp_path: Path,
) -> None:
    big = pdf_bytes + b"%" + bytes(range(256)) * 12_000  # about 3 MiB, several chunks
    (tmp_path / "big.pdf").write_bytes(big)
    (tmp_path / "small.pdf").write_bytes(pdf_bytes)

    await client.circuits.start(
        id="3",
        signer=signer,
        docs=[tmp_path / "big.pdf", str(tmp_path / "small.pdf"), pdf_bytes],
    )

    (request,) = fake.start_requests
    docs = json.loads(request.content)["docs"]
    assert [(d["name"], d["size"]) for d in docs] == [
        ("big.pdf", len(big)),
        ("small.pdf", len(pdf_bytes)),
        ("document-3.pdf", len(pdf_bytes)),
    ]
    assert base64.b64decode(docs[0]["content"], validate=True) == big
    assert base64.b64decode(docs[1]["content"], validate=True) == pdf_bytes
    assert request.headers["Content-Length"] == str(len(request.content))


async def test_signer_as_mapping_and_single_document(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    await client.circuits.start(
        id="4", signer={"name": "Ana", "email": "ana@example.com", "nif": "X1"}, docs=pdf_bytes
    )

    body = json.loads(fake.start_requests[0].content)
    assert body["signer"] == {"name": "Ana", "email": "ana@example.com", "nif": "X1"}
    assert len(body["docs"]) == 1


async def test_channel_is_escaped_in_the_path(
    transport: sa.MockTransport,
    fake: FakeDanaConnect,
    signer: sa.CircuitSigner,
    pdf_bytes: bytes,
) -> None:
    config = sa.DanaConnectConfig(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, channel="a b/c", subdomain="acme"
    )
    async with sa.SigningClient(danaconnect=config, transport=transport) as client:
        await client.circuits.start(id="1", signer=signer, docs=pdf_bytes)
        async with client.circuits.download("x/y") as stream:
            await stream.aclose()

    assert fake.start_requests[0].url == f"{API}/api/v1/biometric/start_circuit/a%20b%2Fc"
    assert fake.download_requests[0].url == (
        f"{DOWNLOAD}/api/v1/biometric/document_circuit/a%20b%2Fc/circuit/x%2Fy"
    )


async def test_download_request(client: sa.SigningClient, fake: FakeDanaConnect) -> None:
    async with client.circuits.download("658936") as stream:
        assert stream.content_length == len(fake.zip_bytes)

    (request,) = fake.download_requests
    assert request.method == "GET"
    assert request.url == (
        f"https://acme.esignature-platform.com/api/v1/biometric/document_circuit/{CHANNEL}"
        "/circuit/658936"
    )
    assert request.headers["Authorization"] == f"Bearer {fake.issued[0]}"
    assert request.headers["Accept"] == "application/zip"
    assert request.headers["Content-Type"] == "application/zip"
    assert request.content == b""


async def test_download_base_url_override(
    transport: sa.MockTransport, fake: FakeDanaConnect
) -> None:
    config = sa.DanaConnectConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        channel=CHANNEL,
        base_url="https://biometric.integrationlayer.com/",
        download_base_url="https://downloads.staging.example/",
    )
    client = sa.SigningClient(danaconnect=config, transport=transport)
    async with client, client.circuits.download("9") as stream:
        await stream.aclose()

    assert fake.token_requests[0].url == "https://biometric.integrationlayer.com/oauth2/token"
    assert fake.download_requests[0].url == (
        f"https://downloads.staging.example/api/v1/biometric/document_circuit/{CHANNEL}/circuit/9"
    )


async def test_user_agent_is_sent(
    client: sa.SigningClient, fake: FakeDanaConnect, signer: sa.CircuitSigner, pdf_bytes: bytes
) -> None:
    await client.circuits.start(id="2", signer=signer, docs=pdf_bytes)

    for request in [*fake.token_requests, *fake.start_requests]:
        assert request.headers["User-Agent"] == f"signing-async/{sa.__version__}"


async def test_circuit_answer_without_link(
    client: sa.SigningClient, fake: FakeDanaConnect, signer: sa.CircuitSigner, pdf_bytes: bytes
) -> None:
    fake.start_script.append(json_response(200, {"circuitId": 658936, "status": "created"}))

    circuit = await client.circuits.start(id="2", signer=signer, docs=pdf_bytes)

    assert circuit.circuit_id == "658936"
    assert circuit.link is None
    assert circuit.raw == {"status": "created"}
