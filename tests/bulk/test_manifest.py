"""Manifest readers, and a manifest sent through ``circuits.start_many``."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

import signing_async as sa
from signing_async.bulk import FILE_FIELDS, read_csv, read_jsonl, read_manifest
from signing_async.transports._mock import RecordedRequest

PDF = b"%PDF-1.4\n%%EOF\n"
CONFIG = sa.DanaConnectConfig(client_id="id", client_secret="s", channel="acme", subdomain="x")


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """A job folder: ``pdfs/`` with two contracts and a text file posing as one."""
    folder = tmp_path / "job"
    (folder / "pdfs").mkdir(parents=True)
    (folder / "pdfs" / "a.pdf").write_bytes(PDF + b"a")
    (folder / "pdfs" / "b.pdf").write_bytes(PDF + b"b")
    (folder / "pdfs" / "notes.txt").write_bytes(b"just some notes")
    return folder


def signer(name: str, email: str | None = None) -> dict[str, str]:
    return {"name": name, "email": email or f"{name.lower()}@example.com", "nif": "N-" + name}


async def send_all(items: Any) -> tuple[list[sa.BulkOutcome[sa.Circuit]], list[dict[str, Any]]]:
    """Run ``items`` through start_many on a MockTransport; return outcomes and request bodies."""
    bodies: list[dict[str, Any]] = []

    def handle(request: RecordedRequest) -> sa.Response:
        if request.url.endswith("/oauth2/token"):
            return sa.Response(200, content=b'{"access_token": "t", "expires_in": 3600}')
        body = json.loads(request.content)
        bodies.append(body)
        return sa.Response(200, content=json.dumps({"circuitId": "C" + body["id"]}).encode())

    client = sa.SigningClient(danaconnect=CONFIG, transport=sa.MockTransport(handle))
    async with client, client.circuits.start_many(items, concurrency=2) as outcomes:
        found = sorted([o async for o in outcomes], key=lambda o: o.index)
    return found, bodies


def documents(body: dict[str, Any]) -> list[tuple[str, bytes]]:
    return [(doc["name"], base64.b64decode(doc["content"])) for doc in body["docs"]]


async def test_a_jsonl_manifest_sends_good_rows_and_fails_bad_ones_clearly(job: Path) -> None:
    lines = [
        {"id": "ok-1", "signer": signer("Ana"), "docs": ["pdfs/a.pdf"]},
        {"id": "ok-2", "signer": signer("Luis"), "docs": "pdfs/b.pdf"},
        {
            "id": "renamed",
            "signer": signer("Eva"),
            "docs": [{"path": "pdfs/a.pdf", "name": "C.pdf"}],
        },
        {"id": "missing", "signer": signer("Bo"), "docs": ["pdfs/nope.pdf"]},
        {"id": "not-pdf", "signer": signer("Cy"), "docs": ["pdfs/notes.txt"]},
        {"id": "bad-mail", "signer": signer("Di", "di-at-example.com"), "docs": ["pdfs/a.pdf"]},
    ]
    text = "\n".join(json.dumps(line) for line in lines)
    text += '\n\n{"id": "broken", "signer": \n["a list"]\n'
    manifest = job / "circuits.jsonl"
    manifest.write_text(text)

    outcomes, bodies = await send_all(read_manifest(manifest, files=FILE_FIELDS["circuits"]))

    assert [(o.key, o.status) for o in outcomes] == [
        ("ok-1", "succeeded"),
        ("ok-2", "succeeded"),
        ("renamed", "succeeded"),
        ("missing", "failed"),
        ("not-pdf", "failed"),
        ("bad-mail", "failed"),
        (None, "failed"),
        (None, "failed"),
    ]
    errors = [str(o.error) for o in outcomes]
    assert errors[3] == f"docs[0]: no such file: {job / 'pdfs' / 'nope.pdf'}"
    assert errors[4] == "docs[0]: notes.txt is not a PDF (it does not start with %PDF-)"
    assert errors[5] == "signer.email: not a valid e-mail address: 'di-at-example.com'"
    assert errors[6].startswith("circuits.jsonl line 8: not valid JSON: ")
    assert errors[7] == "circuits.jsonl line 9: expected a JSON object, found list"
    sent = {body["id"]: documents(body) for body in bodies}
    assert sent == {
        "ok-1": [("a.pdf", PDF + b"a")],
        "ok-2": [("b.pdf", PDF + b"b")],
        "renamed": [("C.pdf", PDF + b"a")],
    }


async def test_a_jsonl_line_nested_thousands_deep_fails_alone(job: Path) -> None:
    # The standard library's parser raises RecursionError on such a line: it
    # must fail as that line, not stop the reading of the whole manifest.
    good = {"id": "ok-1", "signer": signer("Ana"), "docs": ["pdfs/a.pdf"]}
    deep = '{"id": "deep", "signer": ' + "[" * 50_000 + "]" * 50_000 + "}"
    surrogate = '{"id": "lone \\ud800", "signer": {}, "docs": []}'
    manifest = job / "circuits.jsonl"
    manifest.write_text("\n".join([deep, surrogate, json.dumps(good)]) + "\n")

    outcomes, bodies = await send_all(read_manifest(manifest, files=FILE_FIELDS["circuits"]))

    assert [(o.key, o.status) for o in outcomes] == [
        (None, "failed"),
        (None, "failed"),
        ("ok-1", "succeeded"),
    ]
    assert str(outcomes[0].error) == (
        "circuits.jsonl line 1: not valid JSON: JSON nested more than 128 levels deep"
    )
    assert str(outcomes[1].error) == (
        "circuits.jsonl line 2: not valid JSON: JSON text with a lone surrogate (not valid Unicode)"
    )
    assert [body["id"] for body in bodies] == ["ok-1"]


async def test_a_csv_manifest_builds_nested_fields_and_lists(job: Path) -> None:
    manifest = job / "circuits.csv"
    manifest.write_text(
        "id,signer.name,signer.email,signer.nif,docs.0,docs.1\n"
        'c-1,"Ruiz, Ana",ana@example.com,X1,pdfs/a.pdf,\n'
        "c-2,Luis,luis@example.com,Y2,pdfs/a.pdf,pdfs/b.pdf\n"
        ",,,,,\n"
        "c-3,Bo,bo@example.com,Z3,pdfs/gone.pdf,\n"
        "c-4,Cy,cy@example,Z4,pdfs/a.pdf,\n"
        "c-5,Di,di@example.com,Z5,pdfs/notes.txt,\n"
        "c-6,only,four,cells\n"
    )

    outcomes, bodies = await send_all(read_csv(manifest, files=FILE_FIELDS["circuits"]))

    assert [(o.key, o.status) for o in outcomes] == [
        ("c-1", "succeeded"),
        ("c-2", "succeeded"),
        ("c-3", "failed"),
        ("c-4", "failed"),
        ("c-5", "failed"),
        (None, "failed"),
    ]
    assert "no such file" in str(outcomes[2].error)
    assert "not a valid e-mail address" in str(outcomes[3].error)
    assert "is not a PDF" in str(outcomes[4].error)
    assert (
        str(outcomes[5].error) == "circuits.csv line 8: expected 6 cells as in the header, found 4"
    )
    first = next(body for body in bodies if body["id"] == "c-1")
    assert first["signer"] == {"name": "Ruiz, Ana", "email": "ana@example.com", "nif": "X1"}
    assert documents(first) == [("a.pdf", PDF + b"a")]
    second = next(body for body in bodies if body["id"] == "c-2")
    assert documents(second) == [("a.pdf", PDF + b"a"), ("b.pdf", PDF + b"b")]


@pytest.mark.parametrize("position", ["²", "1" * 5000], ids=["superscript", "5000-digits"])
async def test_a_csv_column_numbered_with_what_int_refuses_fails_as_an_item(
    job: Path, position: str
) -> None:
    # "²".isdigit() is true and int("²") raises ValueError, as int() does past
    # 4,300 digits: such a header must give its rows a clear error, not stop
    # the read with a traceback.
    manifest = job / "circuits.csv"
    manifest.write_text(
        f"id,signer.name,signer.email,signer.nif,docs.{position}\n"
        "c-1,Ana,ana@example.com,X1,pdfs/a.pdf\n",
        encoding="utf-8",
    )

    outcomes, bodies = await send_all(read_csv(manifest, files=FILE_FIELDS["circuits"]))

    assert [(o.key, o.status) for o in outcomes] == [("c-1", "failed")]
    assert str(outcomes[0].error).startswith("circuits.csv line 2: docs: ")
    assert bodies == []


def test_paths_are_relative_to_the_manifest_not_the_working_directory(
    job: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    manifest = job / "m.jsonl"
    manifest.write_text(json.dumps({"id": "1", "docs": ["pdfs/a.pdf", "/abs/x.pdf"]}) + "\n")
    monkeypatch.chdir(tmp_path)
    (row,) = read_jsonl("job/m.jsonl", files=["docs"])
    assert row == {"id": "1", "docs": [job / "pdfs" / "a.pdf", Path("/abs/x.pdf")]}


def test_rows_are_read_one_at_a_time(job: Path) -> None:
    manifest = job / "big.jsonl"
    manifest.write_text("".join(json.dumps({"id": str(i)}) + "\n" for i in range(1000)))
    rows = read_manifest(manifest)
    assert next(rows) == {"id": "0"}
    assert next(rows) == {"id": "1"}
    assert sum(1 for _ in rows) == 998


def test_a_badly_encoded_line_fails_alone(job: Path) -> None:
    manifest = job / "m.jsonl"
    manifest.write_bytes(b'{"id": "1"}\n{"id": "\xff"}\n{"id": "3"}\n')
    rows = list(read_jsonl(manifest))
    assert rows[0] == {"id": "1"}
    assert isinstance(rows[1], sa.InvalidItem)
    assert str(rows[1].error()).startswith("m.jsonl line 2: not valid UTF-8")
    assert rows[2] == {"id": "3"}

    table = job / "m.csv"
    table.write_bytes(b"id,name\n1,Ana\n2,\xff\xfe\n3,Eva\n")
    cells = list(read_csv(table))
    assert cells[0] == {"id": "1", "name": "Ana"}
    assert isinstance(cells[1], sa.InvalidItem)
    assert str(cells[1].error()) == "m.csv line 3: not valid UTF-8"
    assert cells[2] == {"id": "3", "name": "Eva"}


def test_a_missing_manifest_or_a_bad_header_is_an_error(job: Path) -> None:
    with pytest.raises(sa.ValidationError, match="no such file"):
        read_manifest(job / "absent.csv")
    bad = job / "bad.csv"
    bad.write_text("id,signer,signer.name\n1,a,b\n")
    with pytest.raises(sa.ValidationError, match=r"'signer' and 'signer\.name' collide"):
        list(read_csv(bad))
    # One place written two ways: each row would be a list of one, or refused, by its cells.
    bad.write_text("id,docs.1,docs.01\n1,a.pdf,\n")
    with pytest.raises(sa.ValidationError, match=r"'docs\.1' and 'docs\.01' name the same place"):
        list(read_csv(bad))
    # A row is a mapping of fields: a header of positions would make it a list.
    bad.write_text("0,1\na.pdf,b.pdf\n")
    with pytest.raises(sa.ValidationError, match="column '0' must start with a field's name"):
        list(read_csv(bad))


async def test_a_bad_header_stops_the_run_with_its_error(job: Path) -> None:
    bad = job / "bad.csv"
    bad.write_text("id,docs,docs\n1,a.pdf,b.pdf\n")
    with pytest.raises(sa.ValidationError, match="column 'docs' appears twice"):
        await send_all(read_csv(bad, files=["docs"]))
