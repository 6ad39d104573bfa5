"""Circuits run on trio too (the core uses anyio), with a transport that does."""

from __future__ import annotations

import json
import os
from pathlib import Path

import anyio

import signing_async as sa
from signing_async.transports import RecordedRequest

from .fake import FakeDanaConnect, make_zip


def test_circuits_on_trio(tmp_path: Path, pdf_bytes: bytes) -> None:
    fake = FakeDanaConnect(zip_bytes=make_zip({"signed.pdf": pdf_bytes}))
    fake.start_script.append(sa.ConnectError("refused"))
    fake.download_script.append(
        sa.Response(200, headers={"Content-Length": "999999"}, content=b"PK\x03\x04")
    )
    (tmp_path / "doc.pdf").write_bytes(pdf_bytes)
    seen: list[RecordedRequest] = []

    async def main() -> None:
        config = fake.config()
        async with sa.SigningClient(
            danaconnect=config,
            transport=sa.MockTransport(fake),
            retry=sa.RetryPolicy(backoff_initial=0),
        ) as client:
            results: list[sa.Circuit] = []

            async def start(index: int) -> None:
                signer = {"name": "Ana", "email": "ana@example.com", "nif": "1"}
                results.append(
                    await client.circuits.start(
                        id=str(index), signer=signer, docs=tmp_path / "doc.pdf"
                    )
                )

            async with anyio.create_task_group() as group:
                for index in range(20):
                    group.start_soon(start, index)
            assert len(results) == 20

            try:
                await client.circuits.download_to("1", tmp_path / "bad.zip")
            except sa.TransportError:
                pass
            else:  # pragma: no cover - a failure of the test
                raise AssertionError("a short body was accepted")
            await client.circuits.download_to("1", tmp_path / "signed.zip")
            seen.extend(fake.start_requests)

    anyio.run(main, backend="trio")

    assert len(fake.token_requests) == 1
    assert len(seen) == 21  # one connect error, replayed
    assert {json.loads(r.content)["docs"][0]["size"] for r in seen} == {len(pdf_bytes)}
    assert sorted(os.listdir(tmp_path)) == ["doc.pdf", "signed.zip"]
