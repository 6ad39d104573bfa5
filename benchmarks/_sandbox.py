"""The real sandbox as a benchmark server, and what the bulk workloads share.

The bulk benchmark runs against ``python -m signing_async.sandbox`` in its
own process rather than the minimal benchmark server: the sandbox validates
every request and stores every document, as a provider would, and its
request log lets each run prove what reached it (how many documents were
created, under how many distinct external ids, how many at once).

Each bulk workload resets the sandbox before its warm-up and after its run
(``POST /_sandbox/reset``), so stored documents never pile up across rounds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._workloads import SIGNER, Workload

__all__ = [
    "API_TOKEN",
    "ROLE",
    "WIDGET",
    "SandboxWorkload",
    "document_fields",
    "reset_sandbox",
    "running_sandbox",
    "sandbox_requests",
]

API_TOKEN = "sandbox-api-token"
"""The sandbox's fixed DANAsign API token (public, sandbox-only)."""

ROLE = "Signer 1"
WIDGET: dict[str, Any] = {"type": "signature", "page": 1, "x": 100, "y": 600, "w": 150, "h": 40}
"""The one signature widget every bulk document carries, in wire form."""

CREATE_ROUTE = "danasign.createdocument"
"""The sandbox's name for ``POST /api/1.0/createdocument`` in its request log."""

_START_TIMEOUT = 60.0


def document_fields(filename: str, key: str) -> dict[str, Any]:
    """A bulk document's ``createdocument`` fields other than ``file``, in wire form."""
    return {
        "filename": filename,
        "title": f"Contract {key}",
        "signers": [{"role": ROLE, "name": SIGNER["name"], "email": SIGNER["email"]}],
        "placeholders": [{"role": ROLE, "widgets": [WIDGET]}],
        "metadata": {"externalId": key},
    }


def _call(url: str, method: str = "GET") -> Any:
    request = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
        return json.load(answer)


def reset_sandbox(url: str) -> None:
    """Forget every object the sandbox holds, its request log and its faults."""
    _call(f"{url}/_sandbox/reset", "POST")


def sandbox_requests(url: str) -> list[dict[str, Any]]:
    """The sandbox's request log, in arrival order (no headers)."""
    entries: list[dict[str, Any]] = _call(f"{url}/_sandbox/requests")["requests"]
    return entries


class SandboxWorkload(Workload):
    """A workload whose server is the sandbox: reset around it, checked through its log.

    The figures it adds to the result come from the requests logged during
    the measured run: ``documents_created`` (answered 200),
    ``distinct_external_ids`` and ``server_peak_in_flight`` (the most
    requests the sandbox was handling at once). The run is an error unless
    every file became exactly one document.
    """

    async def setup(self) -> None:
        reset_sandbox(self.context.url)

    async def teardown(self) -> None:
        reset_sandbox(self.context.url)

    def server_snapshot(self) -> Any:
        return sandbox_requests(self.context.url)

    def server_delta(self, before: Any, after: Any) -> dict[str, Any]:
        entries = after[len(before) :]
        creations = [entry for entry in entries if entry["route"] == CREATE_ROUTE]
        created = [entry for entry in creations if entry["status"] == 200]
        figures = {
            "documents_created": len(created),
            "distinct_external_ids": len({entry["external_id"] for entry in created}),
            "server_peak_in_flight": max((entry["in_flight"] for entry in creations), default=0),
        }
        expected = len(self.params["files"])
        if figures["documents_created"] != expected or len(creations) != expected:
            raise RuntimeError(
                f"the sandbox created {len(created)} documents out of {len(creations)} "
                f"requests; expected {expected}"
            )
        if figures["distinct_external_ids"] != expected:
            raise RuntimeError(
                f"{figures['distinct_external_ids']} distinct external ids for {expected} documents"
            )
        return figures


@contextmanager
def running_sandbox(folder: Path, env: dict[str, str], cwd: Path) -> Iterator[str]:
    """Start ``python -m signing_async.sandbox`` in its own process; yield its URL; stop it.

    Its stored files go under ``folder`` (its ``TMPDIR``), its output to
    ``folder / "sandbox.log"``.
    """
    ready = folder / "sandbox.ready"
    log = folder / "sandbox.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "signing_async.sandbox",
                "--port",
                "0",
                "--ready-file",
                str(ready),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**env, "TMPDIR": str(folder)},
        )
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield ready.read_text().strip()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
