"""client.documents.create_many: on a MockTransport and through the sandbox."""

from __future__ import annotations

import gc
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from danasign_helpers import MakeClient, body, reply

import signing_async as sa
from signing_async.bulk import SqliteJournalStore
from signing_async.sandbox import Fault, Sandbox, samples
from signing_async.transports import RecordedRequest

PDF = samples.make_pdf(text="bulk")


def item(index: int, **overrides: Any) -> dict[str, Any]:
    """The keyword arguments of one documents.create call, keyed ``doc-{index}``."""
    values: dict[str, Any] = {
        "file": sa.Document(PDF, f"contract-{index}.pdf"),
        "title": f"Contract {index}",
        "signers": [{"role": "Client", "name": "Ana", "email": f"ana{index}@example.com"}],
        "placeholders": [
            {
                "role": "Client",
                "widgets": [
                    {"type": "signature", "page": 1, "x": 100, "y": 700, "w": 200, "h": 50}
                ],
            }
        ],
        "metadata": {"external_id": f"doc-{index}", "tags": ["bulk"]},
    }
    values.update(overrides)
    return values


def answer(external_id: str) -> dict[str, Any]:
    return {
        "documentId": f"id-{external_id}",
        "status": "sent",
        "sentAt": "2025-03-18T08:25:33.123Z",
        "expiresAt": "2025-03-28T08:25:33.123Z",
        "queue": 7,
    }


def external_id(request: RecordedRequest) -> str:
    value = body(request)["metadata"]["externalId"]
    assert isinstance(value, str)
    return value


async def collect(
    run: sa.BulkRun[sa.CreatedDocument],
) -> dict[str | None, sa.BulkOutcome[sa.CreatedDocument]]:
    async with run as outcomes:
        found = [outcome async for outcome in outcomes]
    by_key = {outcome.key: outcome for outcome in found}
    assert len(by_key) == len(found)
    return by_key


async def consume(
    run: sa.BulkRun[sa.CreatedDocument], found: list[sa.BulkOutcome[sa.CreatedDocument]]
) -> None:
    async with run as outcomes:
        async for outcome in outcomes:
            found.append(outcome)


def sent_ids(requests: Sequence[RecordedRequest]) -> list[str]:
    return sorted(external_id(request) for request in requests)


async def test_create_many_takes_mappings_and_request_objects(make_client: MakeClient) -> None:
    client, transport = make_client(lambda request: reply(answer(external_id(request))))
    request_object = sa.DocumentRequest(**item(1))
    items: list[Any] = [item(0), request_object, item(2, filename="renamed.pdf")]
    outcomes = await collect(client.documents.create_many(items, concurrency=2))

    assert sent_ids(transport.requests) == ["doc-0", "doc-1", "doc-2"]
    assert {outcome.status for outcome in outcomes.values()} == {"succeeded"}
    document = outcomes["doc-1"].result
    assert isinstance(document, sa.CreatedDocument)
    assert document.document_id == "id-doc-1"
    assert document.raw == {"queue": 7}
    assert outcomes["doc-1"].index == 1
    sent = {external_id(r): body(r) for r in transport.requests}
    assert sent["doc-2"]["filename"] == "renamed.pdf"
    assert sent["doc-0"]["filename"] == "contract-0.pdf"
    assert sent["doc-0"]["metadata"] == {"externalId": "doc-0", "tags": ["bulk"]}
    assert "file=" not in repr(request_object)  # a PDF's bytes never fill a log line


async def test_bad_items_fail_with_clear_messages_and_the_others_go_on(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client, transport = make_client(lambda request: reply(answer(external_id(request))))
    (tmp_path / "notes.txt").write_bytes(b"just some notes")
    items: list[Any] = [
        item(0, file=tmp_path / "missing.pdf"),
        item(1, file=tmp_path / "notes.txt"),
        item(2, signers=[{"role": "Client", "name": "Ana", "email": "not-an-email"}]),
        {**item(3), "colour": "blue"},
        {key: value for key, value in item(4).items() if key != "title"},
        ["not", "a", "mapping"],
        item(6, metadata={"externalId": "camel"}),
        item(7),
    ]
    run = client.documents.create_many(items)
    async with run as outcomes:
        found = sorted([outcome async for outcome in outcomes], key=lambda o: o.index)

    assert [outcome.status for outcome in found] == ["failed"] * 7 + ["succeeded"]
    messages = [str(outcome.error) for outcome in found]
    assert messages[0].startswith("file: ")
    assert "missing.pdf" in messages[0]
    assert messages[1] == "file: notes.txt is not a PDF (it does not start with %PDF-)"
    assert messages[2] == "signers[0].email: not a valid e-mail address: 'not-an-email'"
    assert messages[3].startswith("colour: unknown key for DocumentRequest")
    assert messages[4] == "title: is required"
    assert messages[5] == "item: expected a DocumentRequest or a mapping, not list"
    assert found[5].key is None
    assert messages[6].startswith("metadata.externalId: unknown key for DocumentMetadata")
    assert [outcome.key for outcome in found[:5]] == [f"doc-{i}" for i in range(5)]
    assert sent_ids(transport.requests) == ["doc-7"]


async def test_without_a_journal_an_item_needs_no_external_id(make_client: MakeClient) -> None:
    client, transport = make_client(lambda request: reply(answer("x")))
    bare = {key: value for key, value in item(0).items() if key != "metadata"}
    outcomes = await collect(client.documents.create_many([bare]))
    assert outcomes[None].status == "succeeded"
    assert len(transport.requests) == 1
    assert "metadata" not in body(transport.requests[0])


async def test_with_a_journal_every_item_needs_an_external_id(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client, transport = make_client(lambda request: reply(answer(external_id(request))))
    bare = {key: value for key, value in item(0).items() if key != "metadata"}
    run = client.documents.create_many([bare, item(1)], journal=tmp_path / "docs.db")
    async with run as outcomes:
        found = sorted([outcome async for outcome in outcomes], key=lambda o: o.index)
    assert [outcome.status for outcome in found] == ["failed", "succeeded"]
    assert "every item needs its key when a journal is used" in str(found[0].error)
    assert sent_ids(transport.requests) == ["doc-1"]


async def test_a_journal_rerun_skips_done_items_and_returns_their_documents(
    make_client: MakeClient, tmp_path: Path
) -> None:
    journal = tmp_path / "docs.db"
    client, transport = make_client(lambda request: reply(answer(external_id(request))))
    items = [item(index) for index in range(5)]
    first = await collect(client.documents.create_many(items, journal=journal))
    again = await collect(client.documents.create_many(items, journal=journal))

    assert len(transport.requests) == 5
    assert {outcome.status for outcome in again.values()} == {"skipped"}
    for key, outcome in again.items():
        assert outcome.result == first[key].result
        assert isinstance(outcome.result, sa.CreatedDocument)
        assert outcome.result.sent_at == first[key].result.sent_at  # type: ignore[union-attr]
        assert outcome.result.raw == {"queue": 7}


async def test_unconfirmed_documents_are_uncertain_and_never_resent_unless_asked(
    make_client: MakeClient, tmp_path: Path
) -> None:
    journal = tmp_path / "docs.db"
    attempts: dict[str, int] = {}
    failing = {"doc-1": "drop", "doc-2": "400", "doc-3": "500", "doc-4": "503"}

    def handle(request: RecordedRequest) -> sa.Response:
        key = external_id(request)
        attempts[key] = attempts.get(key, 0) + 1
        fault = failing.get(key)
        if fault == "drop":
            raise sa.TransportError("connection lost", request_sent=True)
        if fault is not None:
            return reply({"error": f"refused {key}"}, int(fault))
        return reply(answer(key))

    client, _ = make_client(handle)
    items = [item(index) for index in range(5)]
    first = await collect(client.documents.create_many(items, journal=journal))
    assert {key: outcome.status for key, outcome in first.items()} == {
        "doc-0": "succeeded",
        "doc-1": "uncertain",
        "doc-2": "failed",
        "doc-3": "uncertain",  # a 500 may come from a server that crashed after creating
        "doc-4": "failed",  # 503 means "not processed", retried, then given up
    }
    assert attempts == {"doc-0": 1, "doc-1": 1, "doc-2": 1, "doc-3": 1, "doc-4": 3}

    failing.clear()
    second = await collect(client.documents.create_many(items, journal=journal))
    assert {key: outcome.status for key, outcome in second.items()} == {
        "doc-0": "skipped",
        "doc-1": "uncertain",
        "doc-2": "failed",  # refused for what it holds (400): reported again, not resent
        "doc-3": "uncertain",
        "doc-4": "succeeded",  # a transient failure: sent again
    }
    assert "on_uncertain='resend'" in str(second["doc-1"].error)
    assert "refused it in an earlier run" in str(second["doc-2"].error)
    assert attempts == {"doc-0": 1, "doc-1": 1, "doc-2": 1, "doc-3": 1, "doc-4": 4}

    # A person fixed the document and says so: the next run sends it.
    store = await SqliteJournalStore.open(journal)
    await store.resolve("doc-2", "failed")
    await store.aclose()
    third = await collect(
        client.documents.create_many(items, journal=journal, on_uncertain="resend")
    )
    assert third["doc-1"].status == third["doc-3"].status == "succeeded"
    assert third["doc-2"].status == "succeeded"
    assert attempts == {"doc-0": 1, "doc-1": 2, "doc-2": 2, "doc-3": 2, "doc-4": 4}


async def test_progress_counts_every_item(make_client: MakeClient) -> None:
    client, _ = make_client(lambda request: reply(answer(external_id(request))))
    seen: list[sa.BulkProgress] = []
    items = [item(0), item(1, title=""), item(2)]
    await collect(client.documents.create_many(items, progress=seen.append))
    last = seen[-1]
    assert (last.done, last.succeeded, last.failed, last.in_flight) == (3, 2, 1, 0)
    assert last.bytes_sent > 2 * len(PDF)  # two PDFs went out, Base64 inside JSON


async def test_a_refusal_of_access_fails_the_item_and_stops_the_run() -> None:
    async with Sandbox() as sb, sb.client() as client:
        sb.faults.add(Fault(route="danasign.createdocument", status=403, times=1))
        found: list[sa.BulkOutcome[sa.CreatedDocument]] = []
        run = client.documents.create_many([item(0), item(2)], concurrency=1)
        with pytest.raises(sa.BulkStopped) as stopped:
            await consume(run, found)
        again = await collect(client.documents.create_many([item(1)], concurrency=1))
        assert sb.created_count("doc-0") == 0
        assert sb.created_count("doc-2") == 0  # never sent: the run had stopped
        assert sb.created_count("doc-1") == 1
    assert stopped.value.reason == "permission"
    assert [(o.key, o.status) for o in found] == [("doc-0", "failed")]
    assert isinstance(found[0].error, sa.PermissionDeniedError)
    assert again["doc-1"].status == "succeeded"


async def test_tags_given_once_as_a_generator_are_sent(make_client: MakeClient) -> None:
    # The item's key is read from its metadata before the item is sent: that
    # must not use up the tags, which only the request may read.
    client, transport = make_client(lambda request: reply(answer(external_id(request))))
    tags = (tag for tag in ["bulk", "march"])
    items = [item(0, metadata={"external_id": "doc-0", "tags": tags})]
    found = await collect(client.documents.create_many(items))

    assert found["doc-0"].status == "succeeded"
    assert body(transport.requests[0])["metadata"]["tags"] == ["bulk", "march"]


async def test_kept_failed_outcomes_keep_no_frame_of_their_call_nor_its_document(
    make_client: MakeClient, tmp_path: Path
) -> None:
    # A file this small is held in memory from its load to its send: a failed
    # outcome's traceback would keep it (and the request body) alive.
    paths = []
    for index in range(20):
        path = tmp_path / f"contract-{index}.pdf"
        path.write_bytes(PDF)
        paths.append(path)
    client, transport = make_client(lambda request: reply({"error": "bad request"}, 400))
    items = [item(index, file=path) for index, path in enumerate(paths)]
    failed = list((await collect(client.documents.create_many(items))).values())
    assert [o.status for o in failed] == ["failed"] * 20
    assert all("bad request" in str(o.error) for o in failed)
    gc.collect()
    calls = [
        frame
        for frame in gc.get_objects()
        if isinstance(frame, types.FrameType) and frame.f_code.co_name == "create"
    ]
    assert calls == []
    assert len(transport.requests) == 20
