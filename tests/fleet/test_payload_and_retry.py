"""Pure pieces of the fleet: an item as JSON for another machine, and when a chunk is retried."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import signing_async as sa
from signing_async.fleet import ChunkNotDone
from signing_async.fleet._payload import from_payload, to_payload
from signing_async.fleet._queue import MAX_ATTEMPTS, MAX_RETRY_WAIT, ChunkRetry

# Text PostgreSQL's jsonb stores: no NUL, no lone surrogate (those are refused: see below).
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(TEXT.filter(bool), JSON, max_size=6))
def test_json_values_travel_unchanged(item: dict[str, Any]) -> None:
    payload = to_payload(item)
    assert from_payload(json.loads(json.dumps(payload))) == item


@given(st.dictionaries(TEXT.filter(bool), JSON, max_size=4), st.binary())
def test_bytes_anywhere_are_refused_naming_their_field(item: dict[str, Any], data: bytes) -> None:
    nested = {**item, "signers": [{"photo": data}]}
    with pytest.raises(sa.ValidationError) as caught:
        to_payload(nested)
    assert caught.value.field == "signers.0.photo"
    assert "paths or URLs" in str(caught.value)


def test_paths_are_made_absolute_and_documents_keep_their_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    item = {
        "file": "a.pdf",
        "documents": ["b.pdf", "https://files.example/c.pdf", Path("d.pdf")],
        "other": sa.Document(Path("e.pdf"), "Contract.pdf"),
        "title": "x.pdf",  # not a document field: text stays text
    }
    payload = json.loads(json.dumps(to_payload(item, files=("file", "documents"))))
    assert payload["file"] == str(tmp_path / "a.pdf")
    assert payload["documents"] == [
        str(tmp_path / "b.pdf"),
        "https://files.example/c.pdf",
        str(tmp_path / "d.pdf"),
    ]
    assert payload["title"] == "x.pdf"
    assert from_payload(payload)["other"] == sa.Document(str(tmp_path / "e.pdf"), "Contract.pdf")
    with pytest.raises(sa.ValidationError, match="paths or URLs"):
        to_payload({"file": sa.Document(b"%PDF-", "x.pdf")})
    with pytest.raises(sa.ValidationError, match="cannot be stored"):
        to_payload({"when": object()})


def test_a_chunk_waiting_for_a_peer_is_retried_soon_anything_else_later_and_later() -> None:
    assert ChunkRetry.wait(ChunkNotDone("x"), 500) == 1
    waits = [ChunkRetry.wait(RuntimeError("x"), attempts) for attempts in range(9)]
    assert waits == [1, 2, 4, 8, 16, 32, MAX_RETRY_WAIT, MAX_RETRY_WAIT, MAX_RETRY_WAIT]
    assert ChunkRetry.wait(RuntimeError("x"), MAX_ATTEMPTS) is None
    decision = ChunkRetry().get_retry_decision(
        exception=ChunkNotDone("x"), job=SimpleNamespace(attempts=3)
    )
    assert decision is not None
    assert decision.retry_at is not None
