"""Document manifests (JSON Lines and CSV) through ``documents.create_many`` and the sandbox."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

import signing_async as sa
from signing_async.bulk import CSV_TYPES, FILE_FIELDS, read_csv, read_manifest
from signing_async.sandbox import Sandbox, samples

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "bulk"
SIGNATURE = {"type": "signature", "page": 1, "x": 72, "y": 680, "w": 200, "h": 60}


def row(key: str, file: str, email: str = "ana@example.com") -> dict[str, Any]:
    return {
        "metadata": {"external_id": key},
        "file": file,
        "title": f"Contract {key}",
        "signers": [{"role": "Client", "name": "Ana", "email": email}],
        "placeholders": [{"role": "Client", "widgets": [SIGNATURE]}],
    }


def flat(data: dict[str, Any]) -> dict[str, str]:
    """``data`` as CSV cells: dotted names, numbered lists."""
    cells: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{prefix}.{index}", item)
        else:
            cells[prefix] = str(value)

    walk("", data)
    return cells


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """A job folder: two real PDFs and a text file posing as one."""
    (tmp_path / "pdfs").mkdir()
    samples.write_pdf(tmp_path / "pdfs" / "a.pdf", text="a")
    samples.write_pdf(tmp_path / "pdfs" / "b.pdf", text="b")
    (tmp_path / "pdfs" / "notes.pdf").write_text("meeting notes, not a PDF")
    return tmp_path


ROWS = [
    row("good-1", "pdfs/a.pdf"),
    row("missing", "pdfs/nowhere.pdf"),
    row("not-pdf", "pdfs/notes.pdf"),
    row("bad-email", "pdfs/a.pdf", email="ana.example.com"),
    row("good-2", "pdfs/b.pdf"),
]


def write(job: Path, kind: str) -> Path:
    if kind == "jsonl":
        manifest = job / "jobs.jsonl"
        manifest.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
        return manifest
    manifest = job / "jobs.csv"
    records = [flat(r) for r in ROWS]
    with manifest.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return manifest


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
async def test_bad_rows_fail_with_clear_messages_and_the_others_succeed(
    job: Path, kind: str
) -> None:
    manifest = write(job, kind)
    items = read_manifest(manifest, files=FILE_FIELDS["documents"], types=CSV_TYPES["documents"])
    async with Sandbox() as sb, sb.client() as client:
        async with client.documents.create_many(items, concurrency=2) as outcomes:
            found = {outcome.key: outcome async for outcome in outcomes}
        created = {key: sb.created_count(key) for key in found if key}

    assert {key: outcome.status for key, outcome in found.items()} == {
        "good-1": "succeeded",
        "missing": "failed",
        "not-pdf": "failed",
        "bad-email": "failed",
        "good-2": "succeeded",
    }
    assert created == {"good-1": 1, "missing": 0, "not-pdf": 0, "bad-email": 0, "good-2": 1}
    missing = str(found["missing"].error)
    assert missing.startswith("file: ")
    assert str(job / "pdfs" / "nowhere.pdf") in missing
    assert str(found["not-pdf"].error) == (
        "file: notes.pdf is not a PDF (it does not start with %PDF-)"
    )
    assert str(found["bad-email"].error) == (
        "signers[0].email: not a valid e-mail address: 'ana.example.com'"
    )
    assert [found[key].index for key in ("good-1", "missing", "good-2")] == [0, 1, 4]


def test_csv_types_turn_cells_into_numbers_and_refuse_bad_ones(tmp_path: Path) -> None:
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(
        "metadata.external_id,placeholders.0.widgets.0.page,placeholders.0.widgets.0.x,"
        "settings.send_in_order,signers.0.name\n"
        "k1,2,10.5,yes,007\n"
        "k2,two,1,no,Bond\n"
        "k3,1,1,maybe,Bond\n",
        encoding="utf-8",
    )
    rows = list(read_csv(manifest, types=CSV_TYPES["documents"]))
    assert rows[0] == {
        "metadata": {"external_id": "k1"},
        "placeholders": [{"widgets": [{"page": 2, "x": 10.5}]}],
        "settings": {"send_in_order": True},
        "signers": [{"name": "007"}],  # text columns stay text
    }
    assert rows[1] == sa.InvalidItem(
        "jobs.csv line 3",
        "placeholders.0.widgets.0.page: invalid literal for int() with base 10: 'two'",
        key="k2",
    )
    assert rows[2] == sa.InvalidItem(
        "jobs.csv line 4", "settings.send_in_order: expected true or false, not 'maybe'", key="k3"
    )
    # Without types every cell is a string, as before.
    assert list(read_csv(manifest))[1]["placeholders"] == [{"widgets": [{"page": "two", "x": "1"}]}]


@pytest.mark.parametrize("name", ["documents.jsonl", "documents.csv"])
async def test_the_example_manifests_send_cleanly(name: str) -> None:
    items = read_manifest(
        EXAMPLES / name, files=FILE_FIELDS["documents"], types=CSV_TYPES["documents"]
    )
    async with Sandbox() as sb, sb.client() as client:
        async with client.documents.create_many(items) as outcomes:
            found = [outcome async for outcome in outcomes]
        created = [sb.created_count(f"contract-2025-{i:03d}") for i in (1, 2, 3)]
    assert [outcome.status for outcome in found] == ["succeeded"] * 3
    assert created == [1, 1, 1]
