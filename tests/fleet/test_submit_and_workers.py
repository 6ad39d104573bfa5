"""submit, run_worker, job_status and resolve, in one process, against the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest

import signing_async as sa
from signing_async.fleet import (
    PostgresJournal,
    job_status,
    resolve,
    run_worker,
    submit,
)
from signing_async.sandbox import Fault, Sandbox
from tests.conftest import MINIMAL_PDF

from .waiting import wait_for_status, wait_until_done


def document(index: int, file: Any) -> dict[str, Any]:
    return {
        "file": file,
        "title": f"Contract {index}",
        "signers": [{"role": "Client", "name": "Ana", "email": f"ana{index}@example.com"}],
        "placeholders": [
            {
                "role": "Client",
                "widgets": [{"type": "signature", "page": 1, "x": 10, "y": 10, "w": 90, "h": 30}],
            }
        ],
        "metadata": {"external_id": f"doc-{index}"},
    }


async def test_two_workers_send_a_submitted_job_once(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    monkeypatch.chdir(tmp_path)  # a relative path is stored absolute, for any worker's folder
    items = [document(index, Path("contract.pdf")) for index in range(25)]
    async with Sandbox() as sb:
        status = await submit(dsn, provider="danasign", items=items, job="march", chunk_size=4)
        assert (status.total, status.pending) == (25, 25)
        assert status.kind == "DANAsign documents"
        # Submitting again adds nothing and queues nothing twice.
        again = await submit(dsn, provider="danasign", items=items, job="march", chunk_size=4)
        assert again.total == 25

        async with anyio.create_task_group() as group:
            for _ in range(2):
                group.start_soon(lambda: run_worker(dsn, client_factory=sb.client, concurrency=4))
            done = await wait_until_done(dsn, "march")
            group.cancel_scope.cancel()

        assert (done.total, done.succeeded) == (25, 25)
        assert all(sb.created_count(f"doc-{index}") == 1 for index in range(25))
    with psycopg.connect(dsn) as connection:
        payload = connection.execute(
            "SELECT payload FROM signing_async.items WHERE job = 'march' AND key = 'doc-0'"
        ).fetchone()
    assert payload is not None
    assert payload[0]["file"] == str(pdf)


async def test_submit_checks_every_item_first_and_stores_nothing_when_one_is_bad(
    dsn: str, tmp_path: Path
) -> None:
    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    items = [document(0, pdf), document(1, MINIMAL_PDF), document(2, pdf)]
    with pytest.raises(sa.ValidationError, match="item 1: fleet documents must be paths") as caught:
        await submit(dsn, provider="danasign", items=items, job="bad")
    assert caught.value.field == "file"
    with pytest.raises(sa.ConfigurationError, match="no job 'bad'"):
        await job_status(dsn, job="bad")  # the job itself was rolled back too
    with pytest.raises(sa.ValidationError, match="provider"):
        await submit(dsn, provider="nobody", items=items, job="bad")
    with pytest.raises(sa.ValidationError, match="item 0"):
        await submit(dsn, provider="danasign", items=[{"title": "no key"}], job="bad")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "bad\x00title"),
        ("title", "bad\udce9title"),
        ("metadata", {"tags": ["\x00"]}),
        ("file", "contract-\udce9.pdf"),  # a path not UTF-8 (surrogateescape), made a Path below
        ("file", sa.Document("contract.pdf", "a\x00b.pdf")),  # a document's name
    ],
    ids=["nul", "surrogate", "nested-nul", "path", "document-name"],
)
async def test_text_postgresql_cannot_store_is_refused_naming_its_field(
    dsn: str, tmp_path: Path, field: str, value: object
) -> None:
    # jsonb refuses \u0000 and a lone surrogate: the database's raw error, in
    # the middle of the submit, became a clear refusal before anything is stored.
    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    bad = document(1, pdf)
    if field == "metadata":
        bad["metadata"] = {**bad["metadata"], **value}  # type: ignore[dict-item]
    elif isinstance(value, str) and value.endswith(".pdf"):
        bad[field] = tmp_path / value
    elif isinstance(value, sa.Document):
        bad[field] = sa.Document(tmp_path / str(value.content), value.name)
    else:
        bad[field] = value
    with pytest.raises(sa.ValidationError, match="item 1: ") as caught:
        await submit(dsn, provider="danasign", items=[document(0, pdf), bad], job="text")
    assert caught.value.field.startswith(field)
    with pytest.raises(sa.ConfigurationError, match="no job 'text'"):
        await job_status(dsn, job="text")  # nothing stored


@pytest.mark.parametrize("job", ["a\x00b", "a\udce9b"], ids=["nul", "surrogate"])
async def test_a_job_name_postgresql_cannot_store_is_refused(dsn: str, job: str) -> None:
    with pytest.raises(sa.ValidationError) as caught:
        await submit(dsn, provider="danasign", items=[], job=job)
    assert caught.value.field == "job"
    with pytest.raises(sa.ValidationError) as caught:
        PostgresJournal(dsn, job=job)
    assert caught.value.field == "job"


async def test_a_worker_concurrency_past_what_a_run_takes_is_refused_at_once() -> None:
    # Each chunk would get half of it, past 10,000, and fail in its task, again and again.
    with pytest.raises(sa.ValidationError) as caught:
        await run_worker(
            "postgresql://app@127.0.0.1:1/db", client_factory=sa.SigningClient, concurrency=20_002
        )
    assert caught.value.field == "concurrency"


async def test_an_uncertain_item_is_resolved_by_a_person(dsn: str) -> None:
    opened = await PostgresJournal(dsn, job="j").open_run(
        kind="DANAsign documents", resend_uncertain=False
    )
    assert (await opened.claim("doc-1", 0)).decision == "send"
    await opened.mark_in_flight(["doc-1"])
    await opened.aclose()  # died with the request in flight

    status = await job_status(dsn, job="j", uncertain=True)
    assert (status.in_flight, status.total) == (1, 1)
    assert [item.key for item in status.uncertain_items] == ["doc-1"]
    await resolve(dsn, "j", "doc-1", "succeeded", result={"documentId": "D-1"})
    status = await job_status(dsn, job="j", uncertain=True)
    assert (status.succeeded, status.uncertain_items) == (1, ())
    with pytest.raises(sa.ValidationError, match="not uncertain"):
        await resolve(dsn, "j", "doc-1", "failed")
    with pytest.raises(sa.ValidationError, match="not in the job"):
        await resolve(dsn, "j", "doc-9", "failed")
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT result FROM signing_async.items WHERE job = 'j' AND key = 'doc-1'"
        ).fetchone()
    assert row is not None
    assert json.loads(row[0]) == {"documentId": "D-1"}


async def test_a_worker_cancelled_mid_chunk_stops_cleanly_and_another_finishes_the_job(
    dsn: str, tmp_path: Path
) -> None:
    """Cancelled while its requests are in flight, a worker records its chunk's fate
    (anyio's test runner fails the test on any error left in a callback, such as
    procrastinate writing to a pool already closed) and its chunk goes back to the queue."""
    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    items = [document(index, pdf) for index in range(8)]
    async with Sandbox() as sb:
        sb.faults.add(Fault(route="danasign.createdocument", latency=30.0, times=4))
        await submit(dsn, provider="danasign", items=items, job="cut", chunk_size=8)
        async with anyio.create_task_group() as group:
            group.start_soon(
                lambda: run_worker(dsn, client_factory=sb.client, concurrency=8, stalled_after=1)
            )
            # Four requests marked in flight, held by the latency fault.
            await wait_for_status(dsn, "cut", lambda status: status.in_flight == 4)
            group.cancel_scope.cancel()

        status = await job_status(dsn, job="cut")
        assert (status.in_flight, status.pending, status.succeeded) == (4, 4, 0)

        async with anyio.create_task_group() as group:
            group.start_soon(
                lambda: run_worker(dsn, client_factory=sb.client, concurrency=8, stalled_after=1)
            )
            done = await wait_until_done(dsn, "cut")
            group.cancel_scope.cancel()
    # The four in flight when the first worker stopped may exist: uncertain, never resent.
    assert (done.succeeded, done.uncertain) == (4, 4)
    assert all(sb.created_count(f"doc-{index}") <= 1 for index in range(8))
