"""``signing-async demo``: every provider's flow against its embedded sandbox, as a child."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

from cli_helpers import base_env, run_cli


def test_demo_prints_each_providers_steps_as_plain_lines(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # TMPDIR points the demo's temporary folder (and the sandbox's) here.
    result = run_cli(
        "demo", "--count", "30", "--concurrency", "4", env=base_env(TMPDIR=str(scratch))
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.lines
    expected = [
        r"sandbox listening on http://127\.0\.0\.1:\d+",
        r"DANAconnect: circuit \S+ started with 2 PDFs; signer link http://127\.0\.0\.1:\d+/\S+",
        r"DANAconnect: signer finished; signed ZIP downloaded \(\d+ bytes, sha256 [0-9a-f]{12}…\)",
        r"DANAsign: contacts batch: 3 created, 0 failed",
        r"DANAsign: document \S+ sent to 2 signers \(sent\)",
        r"DANAsign: document \S+ created from template '.+' \(draft\)",
        r"DANAsign: 1 document\(s\) with status 'sent': Service contract",
        r"S\.O\.F\.I\.A\.: transaction demo-otp-1 is PENDING_OTP",
        r"S\.O\.F\.I\.A\.: signed with the OTP; signed PDF downloaded \(\d+ bytes, hash verified\)",
    ]
    for pattern, line in zip(expected, lines, strict=False):
        assert re.fullmatch(pattern, line), (pattern, line)

    # The bulk send, twice with one journal: plain progress lines (one per 10%),
    # then each run's summary; the second run skips everything the first created.
    table_at = lines.index("route\trequests")
    bulk = lines[len(expected) : table_at]
    progress = [line for line in bulk if line.startswith("documents: ")]
    assert len(progress) == 20, bulk
    assert progress[9].startswith("documents: 30/30 done (100%): 30 ok, 0 failed, 0 uncertain")
    summaries = [line for line in bulk if not line.startswith("documents: ")]
    assert summaries == [
        "DANAsign bulk: 30 documents at concurrency 4: 30 succeeded; created twice: 0",
        "DANAsign bulk, same job again with its journal: 30 skipped",
    ]

    # Piped, so the table is plain tab-separated text, not rich's box drawing.
    assert lines[table_at] == "route\trequests"  # no title line: pure TSV
    rows = [line.split("\t") for line in lines[table_at + 1 : -1]]
    assert all(len(row) == 2 for row in rows), rows
    counts = {route: int(count) for route, count in rows}
    assert counts.get("danasign.createdocument") == 1 + 30
    for route in (
        "danaconnect.start_circuit",
        "danaconnect.download",
        "danasign.createdocument_template",
        "sofia.create_signature",
        "sofia.sign_document",
        "sofia.storage",
    ):
        assert counts.get(route) == 1, (route, counts)
    assert "control" not in counts
    assert not any(char in result.stdout for char in "┃│━")

    done = re.fullmatch(r"done in [\d.]+ s: (\d+) requests \((.+)\)", lines[-1])
    assert done is not None, lines[-1]
    assert int(done.group(1)) == sum(counts.values())
    by_status = [part.split(" x ") for part in done.group(2).split(", ")]
    assert sum(int(count) for count, _ in by_status) == sum(counts.values())

    # Without --keep nothing is left behind: not the demo's files, not the sandbox's.
    assert list(scratch.iterdir()) == []


def test_demo_json_lines_and_keep_leave_the_downloads(tmp_path: Path) -> None:
    keep = tmp_path / "kept" / "here"  # does not exist yet: the demo creates it
    result = run_cli("demo", "--json", "--keep", keep, env=base_env())

    assert result.returncode == 0, result.stderr
    events = result.json_lines()
    steps = [event for event in events if event.get("event") == "step"]
    tables = [event for event in events if "table" in event]
    assert len(steps) + len(tables) == len(events)
    assert all(isinstance(step["message"], str) and step["message"] for step in steps)
    assert steps[0]["url"].startswith("http://127.0.0.1:")
    assert any(step.get("circuit_id") for step in steps)
    (table,) = tables
    assert table["table"] == "requests the sandbox served"
    assert all(set(row) == {"route", "requests"} for row in table["rows"])
    assert all(isinstance(row["requests"], int) for row in table["rows"])

    (zip_step,) = [step for step in steps if "sha256" in step]
    archive = keep / "circuit-signed.zip"
    assert archive.stat().st_size == zip_step["size"]
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == zip_step["sha256"]
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        assert len(names) == 2
        assert all(opened.read(name).startswith(b"%PDF-") for name in names)

    (otp_step,) = [step for step in steps if "hash_verified" in step]
    assert otp_step["hash_verified"] is True
    signed = keep / "otp-signed.pdf"
    assert signed.read_bytes().startswith(b"%PDF-")
    assert f"({signed.stat().st_size} bytes" in otp_step["message"]
    # The generated inputs are kept too.
    assert (keep / "service-contract.pdf").read_bytes().startswith(b"%PDF-")
