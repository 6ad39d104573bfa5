"""Bulk sending of tiny documents against the minimal server: what each item costs.

With 2 KiB documents the network and the server have almost nothing to do,
so what is measured is the client's per-item work: for the SDK the bulk
engine, the journal, validation, encoding and the request path; for the
baseline the loop a user would write by hand (the one the SDK promises to
keep up with)::

    semaphore = asyncio.Semaphore(64)
    async def one(body):
        async with semaphore, session.post(url, json=body) as r:
            await r.json()
    await asyncio.gather(*(one(body) for body in bodies))

Both post the same ``createdocument`` JSON (the Base64 PDF, one signer, one
signature widget, an external id) to the minimal server, which can wait
``latency`` seconds before answering, as a provider does. Every variant
checks that the server created exactly one document per item.

The million-item workload sends ``documents.create_many`` a generator (no
item list is ever held) with a SQLite journal, and reports the journal's
size: memory must not grow with the number of items.

The ``bulk-files`` workloads send the same documents given as paths, one
file per item, as a manifest gives them: the SDK reads each file off the
event loop (on the process's file thread); the hand-written loop reads it
with ``Path.read_bytes()`` on the event loop, as such a loop usually does.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import aiohttp

import signing_async as sa

from ._payloads import MIB, pdf_bytes
from ._sandbox import ROLE, WIDGET
from ._sdk_danasign import danasign_client
from ._server import API_TOKEN
from ._workloads import SIGNER, Workload, configure_server, register

WARM_UP = 16
"""Items sent before the measurement, so connections and caches are warm."""


class _TinyBulk(Workload):
    """The parts every variant shares: the document, the server's latency, the count check."""

    async def setup(self) -> None:
        configure_server(self.context.url, document_delay=self.params["latency"])
        self.pdf = pdf_bytes(self.params["size"])
        self.count = int(self.params["count"])
        self.concurrency = int(self.params["concurrency"])

    def ideal(self) -> dict[str, Any]:
        """The physical limit with a latency: ``concurrency`` items per ``latency`` seconds."""
        latency = self.params["latency"]
        return {"ideal_items_per_s": self.concurrency / latency} if latency else {}

    def server_delta(self, before: Any, after: Any) -> dict[str, Any]:
        figures = super().server_delta(before, after)
        created = after["documents"] - before["documents"]
        if created != self.count:
            raise RuntimeError(f"the server created {created} documents for {self.count} items")
        figures["documents_created"] = created
        return figures


class _TinyBulkSdk(_TinyBulk):
    """``documents.create_many`` of lazily produced mappings of ``create``'s arguments."""

    journal: ClassVar[bool] = False

    async def setup(self) -> None:
        await super().setup()
        self.folder = Path(tempfile.mkdtemp(prefix="bulk-tiny-", dir=self.context.workdir))
        self.client = danasign_client(self.context.url)
        self.signers = [sa.Signer(role=ROLE, name=SIGNER["name"], email=SIGNER["email"])]
        self.placeholders = [sa.Placeholder(role=ROLE, widgets=[sa.Widget(**WIDGET)])]
        await self._send(WARM_UP, "warm-up")

    def _file(self, key: str) -> bytes | Path:
        """The document of the item ``key``, as the workload hands it to the SDK."""
        return self.pdf

    def _items(self, count: int, prefix: str) -> Iterator[dict[str, Any]]:
        for index in range(count):
            key = f"{prefix}-{index:07d}"
            yield {
                "file": self._file(key),
                "title": f"Contract {key}",
                "signers": self.signers,
                "placeholders": self.placeholders,
                "metadata": sa.DocumentMetadata(external_id=key),
            }

    async def _send(self, count: int, prefix: str) -> float | None:
        """Send ``count`` items; return the journal's size in MiB (None without one)."""
        journal = self.folder / f"{prefix}.db" if self.journal else None
        succeeded = 0
        async with self.client.documents.create_many(
            self._items(count, prefix), concurrency=self.concurrency, journal=journal
        ) as outcomes:
            async for outcome in outcomes:
                if outcome.status != "succeeded":
                    raise RuntimeError(f"{outcome.key}: {outcome.status}: {outcome.error}")
                succeeded += 1
        if succeeded != count:
            raise RuntimeError(f"{succeeded} outcomes for {count} items")
        if journal is None:
            return None
        files = [journal, journal.with_name(journal.name + "-wal")]
        return sum(path.stat().st_size for path in files if path.exists()) / MIB

    async def run(self) -> dict[str, Any]:
        journal_mib = await self._send(self.count, "bulk")
        figures: dict[str, Any] = {"requests": self.count, **self.ideal()}
        if journal_mib is not None:
            figures["journal_mib"] = journal_mib
        return figures

    async def teardown(self) -> None:
        await self.client.aclose()
        shutil.rmtree(self.folder, ignore_errors=True)


@register("bulk-tiny/sdk")
class TinyBulkSdk(_TinyBulkSdk):
    """``create_many`` without a journal."""


@register("bulk-tiny/sdk-journal")
class TinyBulkSdkJournal(_TinyBulkSdk):
    """``create_many`` with a fresh SQLite journal in the run's temporary folder."""

    journal = True


@register("bulk-million/sdk-journal")
class MillionBulk(_TinyBulkSdk):
    """A million items from a generator, with a journal: memory flat, journal size reported."""

    journal = True


def write_documents(workdir: Path, size: int, count: int) -> Path:
    """A new folder of one document per item, ``{prefix}-{index:07d}.pdf``, each its own bytes.

    For the warm-up's items and the run's (prefixes ``warm-up`` and ``bulk``);
    written before the warm-up, outside the measurement.
    """
    folder = Path(tempfile.mkdtemp(prefix="bulk-files-", dir=workdir))
    for prefix, items in (("warm-up", WARM_UP), ("bulk", count)):
        for index in range(items):
            (folder / f"{prefix}-{index:07d}.pdf").write_bytes(pdf_bytes(size))
    return folder


class _OwnFiles(_TinyBulk):
    """Each item's document in a file of its own (see :func:`write_documents`)."""

    async def setup(self) -> None:
        self.documents = write_documents(
            self.context.workdir, self.params["size"], self.params["count"]
        )
        await super().setup()

    def path(self, key: str) -> Path:
        return self.documents / f"{key}.pdf"

    async def teardown(self) -> None:
        await super().teardown()
        shutil.rmtree(self.documents, ignore_errors=True)


@register("bulk-files/sdk")
class TinyBulkSdkFiles(_OwnFiles, _TinyBulkSdk):
    """``create_many`` without a journal, each document a path to its own file."""

    def _file(self, key: str) -> bytes | Path:
        return self.path(key)


@register("bulk-tiny/raw-aiohttp")
class TinyBulkRaw(_TinyBulk):
    """The hand-written loop: a semaphore, ``session.post(url, json=body)``, ``await r.json()``.

    Its pool is sized to the concurrency (aiohttp's default 100 when that is
    enough), as a user who wants the concurrency would size it.
    """

    async def setup(self) -> None:
        await super().setup()
        connector = aiohttp.TCPConnector(limit=max(100, self.concurrency))
        self.session = aiohttp.ClientSession(connector=connector)
        self.url = f"{self.context.url}/api/1.0/createdocument"
        self.headers = {"x-api-token": API_TOKEN}
        await self._send(WARM_UP, "warm-up")

    def _document(self, key: str) -> bytes:
        return self.pdf

    def _body(self, key: str) -> dict[str, Any]:
        return {
            "file": base64.b64encode(self._document(key)).decode("ascii"),
            "filename": "document.pdf",
            "title": f"Contract {key}",
            "signers": [{"role": ROLE, "name": SIGNER["name"], "email": SIGNER["email"]}],
            "placeholders": [{"role": ROLE, "widgets": [WIDGET]}],
            "metadata": {"externalId": key},
        }

    async def _send(self, count: int, prefix: str) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(index: int) -> None:
            async with (
                semaphore,
                self.session.post(
                    self.url, json=self._body(f"{prefix}-{index:07d}"), headers=self.headers
                ) as response,
            ):
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}: {await response.text()}")
                (await response.json())["documentId"]

        await asyncio.gather(*(one(index) for index in range(count)))

    async def run(self) -> dict[str, Any]:
        await self._send(self.count, "bulk")
        return {"requests": self.count, **self.ideal()}

    async def teardown(self) -> None:
        await self.session.close()


@register("bulk-files/raw-aiohttp")
class TinyBulkRawFiles(_OwnFiles, TinyBulkRaw):
    """The hand-written loop, each document read from its own file on the event loop."""

    def _document(self, key: str) -> bytes:
        return self.path(key).read_bytes()
