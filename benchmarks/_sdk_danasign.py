"""SDK workloads on DANAsign: ``contacts.create``, ``documents.create`` and ``create_many``."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import signing_async as sa

from ._sandbox import API_TOKEN as SANDBOX_API_TOKEN
from ._sandbox import ROLE, WIDGET, SandboxWorkload
from ._server import API_TOKEN
from ._workloads import SIGNER, Workload, register, run_many


def danasign_client(url: str, api_token: str = API_TOKEN) -> sa.SigningClient:
    """A DANAsign client of a local server, configured as a user would."""
    return sa.SigningClient(danasign=sa.DanaSignConfig(server_url=url, api_token=api_token))


@register("request/sdk-contacts")
class RequestContacts(Workload):
    """``contacts.create(name=, email=)``: a small JSON request, a small JSON answer."""

    async def setup(self) -> None:
        self.client = danasign_client(self.context.url)
        await self.client.contacts.create(name=SIGNER["name"], email=SIGNER["email"])

    async def run(self) -> dict[str, Any]:
        count = self.params["requests"]
        contacts = self.client.contacts

        async def one(index: int) -> None:
            await contacts.create(name=f"Contact {index}", email=f"c{index}@example.com")

        await run_many(count, self.params["concurrency"], one)
        return {"requests": count}

    async def teardown(self) -> None:
        await self.client.aclose()


@register("upload/sdk-documents")
class UploadDocuments(Workload):
    """``documents.create(file=<path>, ...)``: one signer, one signature widget."""

    async def _create(self, path: Path, key: str) -> None:
        await self.client.documents.create(
            file=path,
            title=f"Contract {key}",
            signers=[sa.Signer(role=ROLE, name=SIGNER["name"], email=SIGNER["email"])],
            placeholders=[sa.Placeholder(role=ROLE, widgets=[sa.Widget(**WIDGET)])],
            metadata=sa.DocumentMetadata(external_id=key),
        )

    async def setup(self) -> None:
        self.client = danasign_client(self.context.url)
        await self._create(Path(self.params["warmup_file"]), "warm-up")

    async def run(self) -> dict[str, Any]:
        files = [Path(name) for name in self.params["files"]]

        async def one(index: int) -> None:
            await self._create(files[index], f"u{index}")

        await run_many(len(files), self.params["concurrency"], one)
        return {"requests": len(files), "bytes": sum(path.stat().st_size for path in files)}

    async def teardown(self) -> None:
        await self.client.aclose()


class _BulkDocuments(SandboxWorkload):
    """``documents.create_many(items, concurrency=)`` against the sandbox.

    Each item is a mapping of ``documents.create``'s keyword arguments: the
    PDF's path, a title, one signer, one signature widget and
    ``metadata=DocumentMetadata(external_id=...)``. Items are produced lazily,
    as the bulk engine pulls them. Every outcome must be ``succeeded``.
    """

    journal: ClassVar[bool] = False

    async def setup(self) -> None:
        await super().setup()
        self.folder = Path(tempfile.mkdtemp(prefix="bulk-", dir=self.context.workdir))
        self.client = danasign_client(self.context.url, SANDBOX_API_TOKEN)
        self.signers = [sa.Signer(role=ROLE, name=SIGNER["name"], email=SIGNER["email"])]
        self.placeholders = [sa.Placeholder(role=ROLE, widgets=[sa.Widget(**WIDGET)])]
        await self._send([Path(self.params["warmup_file"])], "warm-up")

    def _items(self, files: Sequence[Path], prefix: str) -> Iterator[dict[str, Any]]:
        for index, path in enumerate(files):
            key = f"{prefix}-{index:05d}"
            yield {
                "file": path,
                "title": f"Contract {key}",
                "signers": self.signers,
                "placeholders": self.placeholders,
                "metadata": sa.DocumentMetadata(external_id=key),
            }

    async def _send(self, files: Sequence[Path], prefix: str) -> None:
        journal = self.folder / f"{prefix}.db" if self.journal else None
        succeeded = 0
        async with self.client.documents.create_many(
            self._items(files, prefix), concurrency=self.params["concurrency"], journal=journal
        ) as outcomes:
            async for outcome in outcomes:
                if outcome.status != "succeeded":
                    raise RuntimeError(f"{outcome.key}: {outcome.status}: {outcome.error}")
                succeeded += 1
        if succeeded != len(files):
            raise RuntimeError(f"{succeeded} outcomes for {len(files)} documents")

    async def run(self) -> dict[str, Any]:
        files = [Path(name) for name in self.params["files"]]
        await self._send(files, "bulk")
        return {"requests": len(files), "bytes": sum(path.stat().st_size for path in files)}

    async def teardown(self) -> None:
        await self.client.aclose()
        shutil.rmtree(self.folder, ignore_errors=True)
        await super().teardown()


@register("bulk/sdk")
class BulkDocuments(_BulkDocuments):
    """``create_many`` without a journal."""


@register("bulk/sdk-journal")
class BulkDocumentsJournal(_BulkDocuments):
    """``create_many`` with a journal (a fresh SQLite file in the variant's own folder)."""

    journal = True
