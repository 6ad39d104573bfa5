"""The circuit breaker: a systemic failure stops a bulk run, the unsent items stay pending."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from bulk_fake_api import FakeApi

from signing_async import (
    AuthenticationError,
    BulkOutcome,
    BulkProgress,
    BulkStopped,
    ConnectError,
    PermissionDeniedError,
    ValidationError,
)
from signing_async._core.bulk import BulkOptions, BulkRun, run_bulk
from signing_async._core.validation import require_text

MODES = ["stream", "rounds"]
COUNT = 40


def key_of(item: dict[str, Any]) -> str:
    return require_text(item.get("key"), "key")


def items() -> list[dict[str, Any]]:
    return [{"key": f"k{index}"} for index in range(COUNT)]


def start(api: FakeApi, **options: Any) -> BulkRun[dict[str, Any]]:
    return run_bulk(
        items(), key=key_of, send=api.send, kind="fake items", options=BulkOptions(**options)
    )


async def consume(run: BulkRun[Any], mode: str) -> tuple[list[BulkOutcome[Any]], Exception | None]:
    """Every outcome the run yields, and what it raised at the end (if anything)."""
    got: list[BulkOutcome[Any]] = []
    try:
        if mode == "stream":
            async with run as outcomes:
                async for outcome in outcomes:
                    got.append(outcome)
        else:
            async for outcome in run:
                got.append(outcome)
    except Exception as exc:
        return got, exc
    return got, None


def journal_states(path: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return dict(db.execute("SELECT key, state FROM items").fetchall())


async def rerun_sends_the_rest(api: FakeApi, journal: Path, mode: str) -> None:
    """With the fault gone, a rerun creates every item, each exactly once."""
    api.default_fault = None
    outcomes, error = await consume(start(api, concurrency=4, journal=journal), mode)
    assert error is None
    assert sorted(o.status for o in outcomes) == ["succeeded"] * COUNT
    assert sorted(api.created) == sorted(item["key"] for item in items())
    assert set(api.created.values()) == {1}
    assert set(journal_states(journal).values()) == {"succeeded"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "reason", "error_type"),
    [("401", "authentication", AuthenticationError), ("403", "permission", PermissionDeniedError)],
)
async def test_a_refused_credential_stops_the_run_and_the_rest_stay_pending(
    tmp_path: Path, mode: str, status: str, reason: str, error_type: type[Exception]
) -> None:
    journal = tmp_path / "run.db"
    api = FakeApi()
    api.default_fault = status
    snapshots: list[BulkProgress] = []

    outcomes, error = await consume(
        start(api, concurrency=4, journal=journal, progress=snapshots.append), mode
    )

    assert isinstance(error, BulkStopped)
    assert error.reason == reason
    assert isinstance(error.error, error_type)
    assert "stay pending" in str(error)
    # Only the requests already on their way were sent: at most one per worker.
    sent = sum(api.received.values())
    assert 1 <= sent <= 4
    assert len(outcomes) == sent
    assert all(o.status == "failed" and isinstance(o.error, error_type) for o in outcomes)
    states = journal_states(journal)
    assert sorted(key for key, state in states.items() if state == "failed") == sorted(
        o.key for o in outcomes
    )
    assert set(states.values()) <= {"failed", "pending"}  # nothing in flight, nothing uncertain
    assert snapshots[-1].stopped == str(error)
    assert all(s.stopped is None for s in snapshots[:1])

    await rerun_sends_the_rest(api, journal, mode)


@pytest.mark.parametrize("mode", MODES)
async def test_consecutive_connection_failures_stop_the_run(tmp_path: Path, mode: str) -> None:
    journal = tmp_path / "run.db"
    api = FakeApi()
    api.default_fault = "connect"

    outcomes, error = await consume(
        start(api, concurrency=2, journal=journal, stop_after_connect_failures=5), mode
    )

    assert isinstance(error, BulkStopped)
    assert error.reason == "connection"
    assert error.connect_failures == 5
    assert isinstance(error.error, ConnectError)
    # The fifth failure trips it; the other worker's item may be finishing then.
    assert 5 <= len(outcomes) <= 6
    assert all(o.status == "failed" and isinstance(o.error, ConnectError) for o in outcomes)
    states = journal_states(journal)
    assert list(states.values()).count("failed") == len(outcomes)
    assert set(states.values()) <= {"failed", "pending"}
    assert len(states) < COUNT  # the rest were never even read

    await rerun_sends_the_rest(api, journal, mode)


async def test_an_answer_between_connection_failures_resets_the_count() -> None:
    # Two failures, one success, and so on: never three in a row.
    faults = {f"k{i}": ["connect"] * 3 for i in range(COUNT) if i % 3 != 2}
    api = FakeApi(faults)

    outcomes, error = await consume(
        start(api, concurrency=1, stop_after_connect_failures=3), "stream"
    )

    assert error is None
    assert len(outcomes) == COUNT
    assert [o.status for o in outcomes].count("succeeded") == COUNT // 3


async def test_items_refused_before_sending_do_not_reset_the_count() -> None:
    api = FakeApi()
    api.default_fault = "connect"
    rows: list[dict[str, Any]] = [{"key": f"k{i}", "invalid": i % 2 == 1} for i in range(COUNT)]
    run = run_bulk(
        rows, key=key_of, send=api.send, kind="fake items",
        options=BulkOptions(concurrency=1, stop_after_connect_failures=3),
    )  # fmt: skip

    outcomes, error = await consume(run, "stream")

    assert isinstance(error, BulkStopped)
    assert [o.key for o in outcomes] == ["k0", "k1", "k2", "k3", "k4"]
    assert isinstance(outcomes[1].error, ValidationError)


async def test_none_never_stops_for_connection_failures() -> None:
    api = FakeApi()
    api.default_fault = "connect"

    outcomes, error = await consume(
        start(api, concurrency=4, stop_after_connect_failures=None), "stream"
    )

    assert error is None
    assert len(outcomes) == COUNT


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_a_bad_threshold_is_refused(bad: Any) -> None:
    with pytest.raises(ValidationError, match="stop_after_connect_failures"):
        start(FakeApi(), stop_after_connect_failures=bad)
