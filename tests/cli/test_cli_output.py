"""``Output``: plain lines when piped, rich on a terminal, JSON lines with --json."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from signing_async.cli._output import Output
from signing_async.danasign import ApiSession, Contact, CreatedDocument, DocumentStatus

WHEN = dt.datetime(2025, 3, 10, 12, 34, 56, 789000, tzinfo=dt.timezone.utc)


def plain() -> Output:
    # An explicit non-terminal console: rich's own environment variables
    # (FORCE_COLOR and friends) must not turn the test's output fancy.
    return Output(console=Console(file=io.StringIO(), force_terminal=False))


def terminal() -> tuple[Output, io.StringIO]:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, highlight=False)
    return Output(console=console), screen


def test_plain_tables_are_tab_separated(capsys: pytest.CaptureFixture[str]) -> None:
    out = plain()
    assert not out.fancy
    out.table(
        "documents (sent)",
        ["id", "title", "status", "created"],
        [
            ("d1", "Contract", DocumentStatus.SENT, WHEN),
            ("d2", None, "draft", None),
            ("d3", "Tab\there,\nnewline", 3, True),
        ],
    )
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines() == [  # pure TSV: no title line
        "id\ttitle\tstatus\tcreated",
        "d1\tContract\tsent\t2025-03-10T12:34:56.789000+00:00",
        "d2\t\tdraft\t",
        "d3\tTab here, newline\t3\ttrue",
    ]


def test_plain_results_are_key_value_lines(capsys: pytest.CaptureFixture[str]) -> None:
    plain().result(
        Contact("c1", name="Ana", email="ana@example.com", created_at=WHEN, raw={"x": 1})
    )
    assert capsys.readouterr().out.splitlines() == [
        "object_id: c1",
        "name: Ana",
        "email: ana@example.com",
        "phone: ",
        "created_at: 2025-03-10T12:34:56.789000+00:00",
        "updated_at: ",
    ]
    plain().result({"roles": ["Client", "Provider"], "nested": {"ok": False}, "path": Path("a")})
    assert capsys.readouterr().out.splitlines() == [
        'roles: ["Client", "Provider"]',
        'nested: {"ok": false}',
        "path: a",
    ]


def test_plain_steps_are_bare_lines(capsys: pytest.CaptureFixture[str]) -> None:
    plain().step("DANAsign: [b]3[/b] created", count=3)
    assert capsys.readouterr().out == "DANAsign: [b]3[/b] created\n"


def test_json_emit_renders_models_without_raw_and_datetimes_as_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = CreatedDocument(
        "d1", status=DocumentStatus.SENT, sent_at=WHEN, raw={"unclaimed": "kept aside"}
    )
    out = Output(json_mode=True)
    out.emit(document)
    out.emit({"documents": [document], "where": Path("out") / "x.zip", "day": WHEN.date()})
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first == {
        "document_id": "d1",
        "status": "sent",
        "sent_at": "2025-03-10T12:34:56.789000+00:00",
        "expires_at": None,
    }
    assert dt.datetime.fromisoformat(first["sent_at"]) == WHEN
    assert second == {
        "documents": [first],
        "where": str(Path("out") / "x.zip"),
        "day": "2025-03-10",
    }


def test_json_never_shows_what_a_model_hides_from_repr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = ApiSession(session_token="r:session-4f1e9", user_id="u1", scopes=("documents:read",))
    Output(json_mode=True).result(session)
    plain().result(session)
    printed = capsys.readouterr().out
    assert "r:session-4f1e9" not in printed
    first = json.loads(printed.splitlines()[0])
    assert first == {"user_id": "u1", "scopes": ["documents:read"]}


def test_json_steps_and_tables(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output(json_mode=True)
    out.step("circuit started", circuit_id="658936", size=10)
    out.table("contacts", ["id", "created"], [("c1", WHEN), ("c2", None)])
    step, table = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert step == {
        "event": "step",
        "message": "circuit started",
        "circuit_id": "658936",
        "size": 10,
    }
    assert table == {
        "table": "contacts",
        "rows": [
            {"id": "c1", "created": "2025-03-10T12:34:56.789000+00:00"},
            {"id": "c2", "created": None},
        ],
    }


def test_errors_go_to_stderr_in_every_mode(capsys: pytest.CaptureFixture[str]) -> None:
    plain().error("template not found")
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "error: template not found\n")

    Output(json_mode=True).error("template not found")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err) == {"event": "error", "message": "template not found"}


def test_a_terminal_gets_rich_output_with_server_data_verbatim(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, screen = terminal()
    assert out.fancy
    out.step("document '[/b] odd' sent")
    out.table("documents [all]", ["id", "title"], [("d1", "[red]not markup[/red]"), ("d2", None)])
    text = screen.getvalue()
    assert capsys.readouterr().out == ""  # everything went to the console
    assert "✓" in text
    assert "document '[/b] odd' sent" in text
    assert "documents [all]" in text
    assert "[red]not markup[/red]" in text
    assert "┃" in text  # a drawn table, not tab-separated lines
    assert "\t" not in text
    assert "None" not in text


def test_json_mode_on_a_terminal_stays_json(capsys: pytest.CaptureFixture[str]) -> None:
    screen = io.StringIO()
    out = Output(json_mode=True, console=Console(file=screen, force_terminal=True))
    assert not out.fancy
    out.table("t", ["a"], [(1,)])
    assert json.loads(capsys.readouterr().out) == {"table": "t", "rows": [{"a": 1}]}
    assert screen.getvalue() == ""
