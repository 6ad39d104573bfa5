"""The DANAconnect flow on HttpxTransport, under asyncio and trio alike.

Token, start a circuit (documents streamed from disk as Base64 JSON), then
download the signed ZIP; and the failure paths that involve the event loop:
timeouts, a dropped download, retries, concurrent token refreshes, early close.
"""

from __future__ import annotations

import gc
import hashlib
import io
import logging
import socket
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path

import anyio
import httpx
import pytest

import signing_async as sa

from ..danaconnect.fake import FakeDanaConnect
from .conftest import PDF, big_pdf, zip_of

pytestmark = pytest.mark.anyio

SIGNER = sa.CircuitSigner(name="Ana Pérez", email="ana@example.com", nif="12345678Z")
WAIT = 20.0
"""An upper bound on the whole test's waits: a hang fails the test instead of stalling the run."""


def client(config: sa.DanaConnectConfig, **kwargs: object) -> sa.SigningClient:
    transport = kwargs.pop("transport", None) or sa.HttpxTransport()
    return sa.SigningClient(danaconnect=config, transport=transport, **kwargs)  # type: ignore[arg-type]


def listing(folder: Path) -> list[str]:
    """The names in ``folder``, sorted."""
    return sorted(path.name for path in folder.iterdir())


@contextmanager
def no_unfinished_generators() -> Iterator[None]:
    """Fail if one of the SDK's async generators is left for the GC to finalize.

    trio warns about each one (asyncio finalizes them quietly): the SDK must
    close every byte iterator it stops reading early. httpx's own generators
    are not the SDK's to close (httpx issue #3686), so they are not counted.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    leaks = [
        str(w.message)
        for w in caught
        if "garbage collected" in str(w.message) and "signing_async" in str(w.message)
    ]
    assert leaks == []


async def test_token_start_and_download(
    anyio_backend: str, config: sa.DanaConnectConfig, danaconnect: FakeDanaConnect, tmp_path: Path
) -> None:
    contract = big_pdf(2_500_000)  # several Base64 pieces up, several chunks down
    (tmp_path / "contract.pdf").write_bytes(contract)
    target = tmp_path / "signed.zip"
    expected = zip_of({"contract.pdf": contract, "annex.pdf": PDF})
    danaconnect.zip_bytes = expected
    with anyio.fail_after(WAIT):
        async with client(config) as sdk:
            circuit = await sdk.circuits.start(
                id="order-1",
                signer=SIGNER,
                docs=[tmp_path / "contract.pdf", sa.Document(PDF, "annex.pdf")],
            )
            downloaded = await sdk.circuits.download_to(circuit.circuit_id, target)

    assert circuit.circuit_id == "circ-order-1"
    assert circuit.link is not None
    assert circuit.link.endswith("/sign/order-1")
    assert danaconnect.tokens == 1
    assert danaconnect.created == {"order-1": 1}
    assert danaconnect.documents["order-1"] == {"contract.pdf": contract, "annex.pdf": PDF}
    ((content_length, transfer_encoding),) = danaconnect.uploads
    assert content_length is not None
    assert int(content_length) > len(contract) * 4 // 3
    assert transfer_encoding is None

    assert danaconnect.downloads == 1
    assert downloaded.path == target
    assert downloaded.size == len(expected)
    assert downloaded.sha256 == hashlib.sha256(expected).hexdigest()
    assert target.read_bytes() == expected
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as archive:
        assert archive.read("signed-contract.pdf") == contract
    assert listing(tmp_path) == ["contract.pdf", "signed.zip"]


async def test_concurrent_calls_on_a_cold_cache_fetch_one_token(
    anyio_backend: str, config: sa.DanaConnectConfig, danaconnect: FakeDanaConnect
) -> None:
    circuits: list[sa.Circuit] = []

    async def start(index: int) -> None:
        circuits.append(await sdk.circuits.start(id=f"order-{index}", signer=SIGNER, docs=PDF))

    with anyio.fail_after(WAIT):
        async with client(config) as sdk, anyio.create_task_group() as group:
            for index in range(8):
                group.start_soon(start, index)

    assert danaconnect.tokens == 1
    assert len({circuit.circuit_id for circuit in circuits}) == 8
    assert sum(danaconnect.created.values()) == 8


async def test_an_early_exit_from_a_download_frees_the_connection(
    anyio_backend: str, config: sa.DanaConnectConfig, danaconnect: FakeDanaConnect, tmp_path: Path
) -> None:
    danaconnect.zip_bytes = zip_of({"contract.pdf": big_pdf(2_000_000)})
    # One connection in the pool: if leaving the download early kept it, the
    # next call would wait for it forever (and fail_after would fail the test).
    transport = sa.HttpxTransport(limits=httpx.Limits(max_connections=1))
    with anyio.fail_after(WAIT):
        async with client(config, transport=transport) as sdk:
            circuit = await sdk.circuits.start(id="order-1", signer=SIGNER, docs=big_pdf(2_000_000))
            with no_unfinished_generators():
                async with sdk.circuits.download(circuit.circuit_id) as stream:
                    assert stream.content_length is not None
                    async with aclosing(stream.iter_chunks(64 * 1024)) as chunks:
                        async for chunk in chunks:
                            assert chunk.startswith(b"PK\x03\x04")
                            break
            downloaded = await sdk.circuits.download_to(circuit.circuit_id, tmp_path / "a.zip")
    assert downloaded.size == stream.content_length


async def test_a_dropped_download_fails_leaving_nothing(
    anyio_backend: str, config: sa.DanaConnectConfig, danaconnect: FakeDanaConnect, tmp_path: Path
) -> None:
    danaconnect.download_faults.append("truncate")
    with anyio.fail_after(WAIT), pytest.raises(sa.TransportError) as caught:
        async with client(config) as sdk:
            await sdk.circuits.download_to("circ-1", tmp_path / "signed.zip")
    assert not isinstance(caught.value, sa.RequestTimeout)
    assert danaconnect.downloads == 1
    assert listing(tmp_path) == []


@pytest.mark.parametrize(
    "deadlines",
    [sa.Timeout(read=0.3), sa.Timeout(read=30.0, total=0.5)],
    ids=["read", "total"],
)
async def test_a_stalled_download_times_out(
    anyio_backend: str,
    config: sa.DanaConnectConfig,
    danaconnect: FakeDanaConnect,
    tmp_path: Path,
    deadlines: sa.Timeout,
) -> None:
    danaconnect.zip_bytes = zip_of({"contract.pdf": big_pdf(200_000)})
    danaconnect.download_faults.append("stall")
    with anyio.fail_after(WAIT), pytest.raises(sa.RequestTimeout):
        async with client(config, retry=sa.RetryPolicy(max_retries=0)) as sdk:
            await sdk.circuits.download_to("circ-1", tmp_path / "signed.zip", timeout=deadlines)
    assert danaconnect.downloads == 1
    assert listing(tmp_path) == []


async def test_wrong_credentials_are_an_authentication_error(
    anyio_backend: str, config: sa.DanaConnectConfig, danaconnect: FakeDanaConnect
) -> None:
    wrong = sa.DanaConnectConfig(
        client_id=config.client_id,
        client_secret="not-the-secret",
        channel=config.channel,
        base_url=config.base_url,
        download_base_url=config.download_base_url,
    )
    with anyio.fail_after(WAIT), pytest.raises(sa.AuthenticationError) as caught:
        async with client(wrong) as sdk:
            await sdk.circuits.start(id="order-1", signer=SIGNER, docs=PDF)
    assert caught.value.status == 401
    assert "not-the-secret" not in str(caught.value)
    assert danaconnect.bodies == []


async def test_a_long_error_body_is_read_in_part_and_closed(
    anyio_backend: str, config: sa.DanaConnectConfig, danaconnect: FakeDanaConnect
) -> None:
    danaconnect.faults["refused-at-length"] = ["400-long"]
    with anyio.fail_after(WAIT), no_unfinished_generators():
        async with client(config) as sdk:
            with pytest.raises(sa.BadRequestError) as caught:
                await sdk.circuits.start(id="refused-at-length", signer=SIGNER, docs=PDF)
            # The connection went back (closed): the next call goes through.
            circuit = await sdk.circuits.start(id="order-2", signer=SIGNER, docs=PDF)
    assert "refused: xxx" in str(caught.value)
    assert circuit.circuit_id == "circ-order-2"


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_default_transport_under_trio_points_to_httpx(
    anyio_backend: str, config: sa.DanaConnectConfig, danaconnect: FakeDanaConnect
) -> None:
    with pytest.raises(sa.ConfigurationError, match="HttpxTransport"):
        async with sa.SigningClient(danaconnect=config) as sdk:
            await sdk.circuits.start(id="order-1", signer=SIGNER, docs=PDF)
    assert danaconnect.tokens == 0


async def test_an_unreachable_server_is_a_connect_error_after_retries(
    anyio_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as bound:  # bound, never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        config = sa.DanaConnectConfig(
            client_id="trio-client",
            client_secret="trio-Secret-7c1f",
            channel="acme",
            base_url=url,
            download_base_url=url,
        )
        retry = sa.RetryPolicy(max_retries=2, backoff_initial=0.01)
        caplog.set_level(logging.DEBUG, logger="signing_async")
        with anyio.fail_after(WAIT), pytest.raises(sa.ConnectError) as caught:
            async with client(config, retry=retry) as sdk:
                await sdk.circuits.start(id="order-1", signer=SIGNER, docs=PDF)
    assert caught.value.request_sent is False
    assert "get access token" in str(caught.value)
    attempts = [r.getMessage() for r in caplog.records if "failed after" in r.getMessage()]
    assert len(attempts) == 3
