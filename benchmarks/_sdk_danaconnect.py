"""SDK workloads on DANAconnect: ``circuits.start``, ``circuits.download_to``, tokens."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import signing_async as sa

from ._payloads import tiny_pdf
from ._workloads import (
    CHANNEL,
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNER,
    Workload,
    configure_server,
    register,
    run_many,
    server_stats,
)


def danaconnect_client(url: str, **kwargs: Any) -> sa.SigningClient:
    """A client of the benchmark server, configured as a user would."""
    return sa.SigningClient(
        danaconnect=sa.DanaConnectConfig(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            channel=CHANNEL,
            base_url=url,
            download_base_url=url,
        ),
        **kwargs,
    )


SDK_SIGNER = sa.CircuitSigner(**SIGNER)


@register("upload/sdk-circuits")
class UploadCircuits(Workload):
    """``circuits.start`` with PDFs on disk (streamed by the SDK)."""

    async def setup(self) -> None:
        self.client = danaconnect_client(self.context.url)
        docs = [Path(self.params["warmup_file"])]
        await self.client.circuits.start(id="warm-up", signer=SDK_SIGNER, docs=docs)

    async def run(self) -> dict[str, Any]:
        files = [Path(name) for name in self.params["files"]]
        circuits = self.client.circuits

        async def one(index: int) -> None:
            await circuits.start(id=f"u{index}", signer=SDK_SIGNER, docs=[files[index]])

        await run_many(len(files), self.params["concurrency"], one)
        return {"requests": len(files), "bytes": sum(path.stat().st_size for path in files)}

    async def teardown(self) -> None:
        await self.client.aclose()


@register("download/sdk")
class DownloadTo(Workload):
    """``circuits.download_to`` into the run's folder."""

    checksum = True

    async def setup(self) -> None:
        self.client = danaconnect_client(self.context.url)
        self.target = self.context.workdir / "sdk-download.zip"
        warm = await self.client.circuits.download_to("warm-up", self.target)
        warm.path.unlink()

    async def run(self) -> dict[str, Any]:
        downloaded = await self.client.circuits.download_to(
            "c1", self.target, checksum=self.checksum
        )
        return {"requests": 1, "bytes": downloaded.size}

    async def teardown(self) -> None:
        await self.client.aclose()
        self.target.unlink(missing_ok=True)


@register("download/sdk-no-checksum")
class DownloadToNoChecksum(DownloadTo):
    """``circuits.download_to(..., checksum=False)``: the same without the SHA-256."""

    checksum = False


class _RecordingStore(sa.MemoryTokenStore):
    """The default store, remembering the current token so the run can time its life."""

    current: sa.AccessToken | None = None

    async def set(self, key: str, token: sa.AccessToken) -> None:
        self.current = token
        await super().set(key, token)


@register("tokens/sdk")
class Tokens(Workload):
    """Bursts of concurrent calls on a cold cache, a warm one, and around an expiry.

    The token lifetime is short (``token_ttl``) and the token endpoint answers
    after ``token_delay``, as a remote OAuth server would. Scenarios, in order,
    each a burst of ``calls`` concurrent ``circuits.start``:

    - cold: a new client, no token yet (every caller must wait for one);
    - warm: the token is fresh (no token request expected);
    - advisory: the token is in its advisory window (one caller refreshes, the
      others keep using it);
    - expired: the token has expired (every caller waits for one refresh).
    """

    async def setup(self) -> None:
        configure_server(
            self.context.url,
            token_ttl=self.params["token_ttl"],
            token_delay=self.params["token_delay"],
        )
        self.pdf = sa.Document(tiny_pdf(), "tiny.pdf")

    async def _burst(self, client: sa.SigningClient, label: str) -> dict[str, Any]:
        before = server_stats(self.context.url)
        latencies: list[float] = []

        async def one(index: int) -> None:
            started = time.perf_counter()
            await client.circuits.start(id=f"{label}{index}", signer=SDK_SIGNER, docs=[self.pdf])
            latencies.append(time.perf_counter() - started)

        calls = self.params["calls"]
        started = time.perf_counter()
        await run_many(calls, calls, one)
        wall = time.perf_counter() - started
        after = server_stats(self.context.url)
        return {
            "token_requests": after["token_requests"] - before["token_requests"],
            "rejected": after["rejected_tokens"] - before["rejected_tokens"],
            "p50_ms": statistics.median(latencies) * 1000,
            "max_ms": max(latencies) * 1000,
            "burst_ms": wall * 1000,
        }

    async def run(self) -> dict[str, Any]:
        store = _RecordingStore()
        client = danaconnect_client(self.context.url, token_store=store)
        scenarios: dict[str, Any] = {}
        try:
            scenarios["cold"] = await self._burst(client, "cold")
            scenarios["warm"] = await self._burst(client, "warm")
            token = store.current
            assert token is not None
            # Halfway between the advisory and the mandatory thresholds.
            advisory = min(300.0, token.lifetime / 2)
            mandatory = min(30.0, token.lifetime / 10)
            await _sleep_until_remaining(token, (advisory + mandatory) / 2)
            scenarios["advisory"] = await self._burst(client, "adv")
            token = store.current
            assert token is not None
            await _sleep_until_remaining(token, -0.05)
            scenarios["expired"] = await self._burst(client, "exp")
        finally:
            await client.aclose()
        return {"requests": 4 * self.params["calls"], "scenarios": scenarios}

    async def teardown(self) -> None:
        configure_server(self.context.url, token_ttl=3600.0, token_delay=0.0)


async def _sleep_until_remaining(token: sa.AccessToken, remaining: float) -> None:
    delay = token.remaining(time.monotonic()) - remaining
    if delay > 0:
        await asyncio.sleep(delay)
