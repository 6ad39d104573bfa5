"""SDK workloads on DANAsign: ``contacts.create`` and ``documents.create``.

They are written against the public names of DESIGN.md §2. When the SDK
being measured does not have them (yet), :meth:`unavailable` says what is
missing and the suite reports the variant as "not available".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import signing_async as sa

from ._server import API_TOKEN
from ._workloads import SIGNER, Workload, register, run_many

_CONTACT_NAMES = ("DanaSignConfig",)
_DOCUMENT_NAMES = ("DanaSignConfig", "Signer", "Placeholder", "Widget", "DocumentMetadata")


def missing_danasign(names: tuple[str, ...], namespace: str) -> str | None:
    """What the SDK lacks for a DANAsign workload, or None when it has everything."""
    absent = [name for name in names if not hasattr(sa, name)]
    if not hasattr(sa.SigningClient, namespace):
        absent.append(f"SigningClient.{namespace}")
    if absent:
        return f"signing_async has no {', '.join(absent)}"
    return None


def danasign_client(url: str) -> Any:
    """A DANAsign client of the benchmark server (typed loosely: the names may not exist)."""
    return sa.SigningClient(danasign=sa.DanaSignConfig(server_url=url, api_token=API_TOKEN))


@register("request/sdk-contacts")
class RequestContacts(Workload):
    """``contacts.create(name=, email=)``: a small JSON request, a small JSON answer."""

    @classmethod
    def unavailable(cls, params: dict[str, Any]) -> str | None:
        return missing_danasign(_CONTACT_NAMES, "contacts")

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

    @classmethod
    def unavailable(cls, params: dict[str, Any]) -> str | None:
        return missing_danasign(_DOCUMENT_NAMES, "documents")

    async def _create(self, path: Path, key: str) -> None:
        await self.client.documents.create(
            file=path,
            title=f"Contract {key}",
            signers=[sa.Signer(role="Signer 1", name=SIGNER["name"], email=SIGNER["email"])],
            placeholders=[
                sa.Placeholder(
                    role="Signer 1",
                    widgets=[sa.Widget(type="signature", page=1, x=100, y=600, w=150, h=40)],
                )
            ],
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
