"""A bulk run whose journal's disk fills up: a clear error, and still nothing sent twice.

Each run is a child process (the limit on file sizes it sets is its own):
the first writes its SQLite journal under a file size limit that stands in
for a full disk, so a commit fails part-way through the run; the second
reruns the job on the same journal with no limit. The provider is a
``MockTransport`` handler in each child that records every document it
creates.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[2]
COUNT = 400

_CHILD = """
import asyncio, json, resource, signal, sys
from pathlib import Path

import signing_async as sa

journal, limit, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
if limit:
    # Writing past the limit fails with EFBIG, as a full disk fails a write.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
created = []


def handler(request):
    key = json.loads(request.content)["metadata"]["externalId"]
    created.append(key)
    answer = {"documentId": f"d-{key}", "status": "sent"}
    return sa.Response(200, content=json.dumps(answer).encode())


def items():
    for index in range(count):
        yield {
            "file": b"%PDF-1.4 tiny",
            "title": f"Contract {index}",
            "signers": [{"role": "Client", "name": "Ana", "email": "ana@example.com"}],
            "placeholders": [{"role": "Client", "widgets": [
                {"type": "signature", "page": 1, "x": 1, "y": 1, "w": 10, "h": 10}]}],
            "metadata": {"external_id": f"k{index:04d}"},
        }


async def main():
    config = sa.DanaSignConfig(server_url="http://127.0.0.1:9", api_token="t")
    outcomes, error = {}, None
    async with sa.SigningClient(danasign=config, transport=sa.MockTransport(handler)) as client:
        try:
            run = client.documents.create_many(items(), concurrency=8, journal=journal)
            async with run as each:
                async for outcome in each:
                    outcomes[outcome.key] = outcome.status
        except Exception as exc:
            error = {
                "journal_error": isinstance(exc, sa.JournalError),
                "signing_error": isinstance(exc, sa.SigningError),
                "message": str(exc),
            }
    return {"created": created, "outcomes": outcomes, "error": error}


print(json.dumps(asyncio.run(main())))
"""


async def run_child(journal: Path, limit: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = await anyio.run_process(
        [sys.executable, "-c", _CHILD, str(journal), str(limit), str(COUNT)], env=env
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_a_journal_whose_disk_fills_up_stops_the_run_and_the_rerun_sends_nothing_twice(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "contracts.db"

    # 128 KiB: the journal's first commits fit, a few dozen items later they do not.
    first = await run_child(journal, 128 * 1024)

    assert first["error"] is not None, "the run should have stopped"
    assert first["error"]["journal_error"]
    assert first["error"]["signing_error"]
    assert first["error"]["message"].startswith(f"cannot write the journal {journal}: ")
    assert 0 < len(first["created"]) < COUNT  # it failed part-way, as a full disk would
    assert Counter(first["created"]).most_common(1)[0][1] == 1
    # Every item it reported created was created; none it did not report was sent.
    succeeded = {key for key, status in first["outcomes"].items() if status == "succeeded"}
    assert succeeded == set(first["created"])

    second = await run_child(journal, 0)

    assert second["error"] is None
    created = Counter(first["created"] + second["created"])
    assert set(created.values()) == {1}  # nothing sent twice, across both runs
    statuses = Counter(second["outcomes"].values())
    assert sum(statuses.values()) == COUNT
    assert set(statuses) <= {"succeeded", "skipped", "uncertain"}
    # What the first run created is skipped (recorded) or uncertain (its answer was
    # not recorded when the disk filled): never sent again. So is an item a worker
    # had marked in flight, at its claim, when the disk filled and the run stopped
    # before sending it: the full disk took the undoing of the mark too. At most
    # one per worker (concurrency 8).
    done_before = {k for k, s in second["outcomes"].items() if s in ("skipped", "uncertain")}
    marked_unsent = done_before - set(first["created"])
    assert set(first["created"]) <= done_before
    assert len(marked_unsent) <= 8
    assert {second["outcomes"][key] for key in marked_unsent} <= {"uncertain"}
    assert set(created) == {f"k{index:04d}" for index in range(COUNT)} - marked_unsent
    assert set(second["created"]) == set(created) - set(first["created"])
