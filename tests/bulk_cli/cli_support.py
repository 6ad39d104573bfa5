"""Helpers of the bulk-send tests: the CLI in process, job folders, manifests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..cli_run import CliResult, run_cli_async
from ..sandbox_child import ROOT, child_env, control

EXAMPLES = ROOT / "examples" / "bulk"
SIGNATURE = {"type": "signature", "page": 1, "x": 72, "y": 680, "w": 200, "h": 60}


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without SIGNING_* variables, plus ``variables``."""
    return {**child_env(), **variables}


def danasign_env(url: str) -> dict[str, str]:
    """The environment configuring DANAsign for the sandbox at ``url``."""
    return environment(
        SIGNING_DANASIGN_SERVER_URL=url, SIGNING_DANASIGN_API_TOKEN="sandbox-api-token"
    )


async def bulk_send(*args: str | Path, env: Mapping[str, str]) -> CliResult:
    """Run ``signing-async bulk-send ARGS`` to the end, in process (stdout captured: plain mode)."""
    return await run_cli_async("bulk-send", *args, env=env)


async def sent_ids(url: str) -> list[str | None]:
    """The external ids of every document creation the sandbox received, in order."""
    log = await control(url, "GET", "requests")
    return [e["external_id"] for e in log["requests"] if e["route"] == "danasign.createdocument"]


def example_job(folder: Path) -> Path:
    """A copy of ``examples/bulk`` in ``folder``; returns its JSON Lines manifest."""
    shutil.copytree(EXAMPLES, folder / "job")
    return folder / "job" / "documents.jsonl"


def document_row(key: str, file: str, email: str = "ana@example.com") -> dict[str, Any]:
    """One manifest line: a document with one signer."""
    return {
        "metadata": {"external_id": key},
        "file": file,
        "title": f"Contract {key}",
        "signers": [{"role": "Client", "name": "Ana", "email": email}],
        "placeholders": [{"role": "Client", "widgets": [SIGNATURE]}],
    }


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as JSON Lines."""
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON Lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def names(folder: Path) -> list[str]:
    """The sorted names of what ``folder`` holds."""
    return sorted(path.name for path in folder.iterdir())
