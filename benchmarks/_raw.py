"""The baselines: the same calls written by hand with raw aiohttp (and httpx).

Each is what a competent user would write without the SDK, following the
libraries' documented patterns: one session, a token fetched once, the body
built per call, the status checked and the JSON answer decoded. Uploads come
in two flavours: *naive* (the whole Base64 payload built in memory with
``json.dumps``) and *streaming* (an async generator producing the JSON with
the Base64 in pieces, with an exact Content-Length, reading the file off the
event loop as aiohttp's docs do with aiofiles). The bulk uploader is the
streaming one posting DANAsign documents from a fixed number of workers. The
download writes each chunk as it comes, as in aiohttp's docs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from ._sandbox import API_TOKEN as SANDBOX_API_TOKEN
from ._sandbox import SandboxWorkload, document_fields
from ._server import API_TOKEN, BASIC
from ._workloads import CHANNEL, SIGNER, Workload, register, run_many

MIB = 1 << 20
READ_PIECE = 3 * 256 * 1024
"""768 KiB: a multiple of 3, so the pieces' Base64 concatenate without padding."""


def _start_url(base: str) -> str:
    return f"{base}/api/v1/biometric/start_circuit/{CHANNEL}"


def _circuit_json(key: str, name: str, data: bytes) -> bytes:
    content = base64.b64encode(data).decode("ascii")
    docs = [{"name": name, "size": len(data), "content": content}]
    return json.dumps({"id": key, "signer": SIGNER, "docs": docs}).encode()


def _contact_json(index: int) -> bytes:
    return json.dumps({"name": f"Contact {index}", "email": f"c{index}@example.com"}).encode()


async def _aiohttp_token(session: aiohttp.ClientSession, base: str) -> str:
    async with session.post(
        f"{base}/oauth2/token",
        data="grant_type=client_credentials",
        headers={"Authorization": BASIC, "Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        response.raise_for_status()
        token: str = (await response.json())["access_token"]
        return token


class _AiohttpClient(Workload):
    session_options: dict[str, Any] = {}  # noqa: RUF012 - read-only per class

    async def setup(self) -> None:
        self.session = aiohttp.ClientSession(**self.session_options)
        self.token = await _aiohttp_token(self.session, self.context.url)
        self.headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    async def _post_circuit(self, data: Any, headers: dict[str, str] | None = None) -> str:
        async with self.session.post(
            _start_url(self.context.url), data=data, headers=headers or self.headers
        ) as response:
            if response.status >= 400:
                raise RuntimeError(
                    f"start circuit: HTTP {response.status}: {await response.text()}"
                )
            circuit: str = (await response.json())["circuitId"]
            return circuit

    async def teardown(self) -> None:
        await self.session.close()


_CONTACT_HEADERS = {
    "x-api-token": API_TOKEN,
    "Content-Type": "application/json",
    "Accept": "application/json",
}


@register("request/raw-aiohttp")
class RequestAiohttp(Workload):
    """One small JSON request per call: DANAsign's ``POST /api/1.0/contacts``."""

    async def setup(self) -> None:
        self.session = aiohttp.ClientSession()
        self.url = f"{self.context.url}/api/1.0/contacts"
        await self._one(-1)

    async def _one(self, index: int) -> None:
        async with self.session.post(
            self.url, data=_contact_json(index), headers=_CONTACT_HEADERS
        ) as response:
            if response.status >= 400:
                raise RuntimeError(f"create contact: HTTP {response.status}")
            (await response.json())["data"]["objectId"]

    async def run(self) -> dict[str, Any]:
        count = self.params["requests"]
        await run_many(count, self.params["concurrency"], self._one)
        return {"requests": count}

    async def teardown(self) -> None:
        await self.session.close()


@register("request/raw-httpx")
class RequestHttpx(Workload):
    """The same calls with ``httpx.AsyncClient`` (pool as large as aiohttp's)."""

    @classmethod
    def unavailable(cls, params: dict[str, Any]) -> str | None:
        if importlib.util.find_spec("httpx") is None:
            return "httpx is not installed"
        return None

    async def setup(self) -> None:
        import httpx

        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        self.client = httpx.AsyncClient(limits=limits)
        self.url = f"{self.context.url}/api/1.0/contacts"
        await self._one(-1)

    async def _one(self, index: int) -> None:
        response = await self.client.post(
            self.url, content=_contact_json(index), headers=_CONTACT_HEADERS
        )
        response.raise_for_status()
        response.json()["data"]["objectId"]

    async def run(self) -> dict[str, Any]:
        count = self.params["requests"]
        await run_many(count, self.params["concurrency"], self._one)
        return {"requests": count}

    async def teardown(self) -> None:
        await self.client.aclose()


class _Upload(_AiohttpClient):
    async def setup(self) -> None:
        await super().setup()
        await self._upload(Path(self.params["warmup_file"]), "warm-up")

    async def _upload(self, path: Path, key: str) -> None:
        raise NotImplementedError

    async def run(self) -> dict[str, Any]:
        files = [Path(name) for name in self.params["files"]]

        async def one(index: int) -> None:
            await self._upload(files[index], f"u{index}")

        await run_many(len(files), self.params["concurrency"], one)
        return {"requests": len(files), "bytes": sum(path.stat().st_size for path in files)}


@register("upload/raw-naive")
class UploadNaive(_Upload):
    """Read the file, Base64 it, ``json.dumps`` the whole payload, post the bytes."""

    async def _upload(self, path: Path, key: str) -> None:
        with path.open("rb") as file:
            data = file.read()
        await self._post_circuit(_circuit_json(key, path.name, data))


def _envelope(path: Path, key: str) -> tuple[bytes, bytes, int]:
    """The JSON before and after the Base64, and the body's exact length."""
    size = path.stat().st_size
    head = json.dumps({"id": key, "signer": SIGNER})[:-1]
    head += f',"docs":[{{"name":{json.dumps(path.name)},"size":{size},"content":"'
    prefix, suffix = head.encode(), b'"}]}'
    return prefix, suffix, len(prefix) + 4 * -(-size // 3) + len(suffix)


async def _streamed(prefix: bytes, path: Path, suffix: bytes) -> AsyncIterator[bytes]:
    """The body: the JSON before, the file's Base64 read in pieces off the loop, the JSON after."""
    yield prefix
    with path.open("rb") as file:
        while piece := await asyncio.to_thread(file.read, READ_PIECE):
            yield base64.b64encode(piece)
    yield suffix


@register("upload/raw-streaming")
class UploadStreaming(_Upload):
    """An async generator: the JSON around the Base64, produced piece by piece."""

    async def _upload(self, path: Path, key: str) -> None:
        prefix, suffix, length = _envelope(path, key)
        headers = {**self.headers, "Content-Length": str(length)}
        await self._post_circuit(_streamed(prefix, path, suffix), headers)


def _document_envelope(path: Path, key: str) -> tuple[bytes, bytes, int]:
    """DANAsign ``createdocument`` JSON around the Base64 ``file``, and the exact length."""
    prefix = b'{"file":"'
    rest = json.dumps(document_fields(path.name, key), separators=(",", ":"))
    suffix = b'",' + rest[1:].encode()
    return prefix, suffix, len(prefix) + 4 * -(-path.stat().st_size // 3) + len(suffix)


@register("bulk/raw-aiohttp")
class BulkAiohttp(SandboxWorkload):
    """A hand-written bulk uploader: ``concurrency`` workers posting streamed documents."""

    async def setup(self) -> None:
        await super().setup()
        self.session = aiohttp.ClientSession()
        self.url = f"{self.context.url}/api/1.0/createdocument"
        self.headers = {
            "x-api-token": SANDBOX_API_TOKEN,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        await self._create(Path(self.params["warmup_file"]), "warm-up-00000")

    async def _create(self, path: Path, key: str) -> None:
        prefix, suffix, length = _document_envelope(path, key)
        async with self.session.post(
            self.url,
            data=_streamed(prefix, path, suffix),
            headers={**self.headers, "Content-Length": str(length)},
        ) as response:
            if response.status != 200:
                raise RuntimeError(f"create {key}: HTTP {response.status}: {await response.text()}")
            (await response.json())["documentId"]

    async def run(self) -> dict[str, Any]:
        files = [Path(name) for name in self.params["files"]]

        async def one(index: int) -> None:
            await self._create(files[index], f"bulk-{index:05d}")

        await run_many(len(files), self.params["concurrency"], one)
        return {"requests": len(files), "bytes": sum(path.stat().st_size for path in files)}

    async def teardown(self) -> None:
        await self.session.close()
        await super().teardown()


@register("download/raw-aiohttp")
class DownloadAiohttp(Workload):
    """``iter_chunked(1 MiB)`` with ``read_bufsize=1 MiB``, each chunk written as it comes."""

    async def setup(self) -> None:
        self.session = aiohttp.ClientSession(read_bufsize=MIB)
        token = await _aiohttp_token(self.session, self.context.url)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/zip"}
        self.target = self.context.workdir / "raw-download.zip"
        await self._download("warm-up")
        self.target.unlink()

    hash_chunks = False

    async def _download(self, circuit: str) -> int:
        url = f"{self.context.url}/api/v1/biometric/document_circuit/{CHANNEL}/circuit/{circuit}"
        size = 0
        digest = hashlib.sha256()
        async with self.session.get(url, headers=self.headers) as response:
            response.raise_for_status()
            with self.target.open("wb") as file:
                async for chunk in response.content.iter_chunked(MIB):
                    if self.hash_chunks:
                        digest.update(chunk)
                    file.write(chunk)
                    size += len(chunk)
        return size

    async def run(self) -> dict[str, Any]:
        return {"requests": 1, "bytes": await self._download("c1")}

    async def teardown(self) -> None:
        await self.session.close()
        self.target.unlink(missing_ok=True)


@register("download/raw-aiohttp-sha256")
class DownloadAiohttpSha256(DownloadAiohttp):
    """The same, hashing each chunk (on the event loop) as the SDK does (in a thread)."""

    hash_chunks = True
