"""The opcode counter: where a bulk item's Python work goes, counted exactly.

Nothing here looks at a timing: the counts are the interpreter's own.
"""

from __future__ import annotations

import sys

from benchmarks._opcodes import WORKLOADS, client, count, measure

ITEMS = 64


async def test_the_counts_split_a_bulk_item_s_work_between_the_engine_and_the_call() -> None:
    async with client() as shared:
        counts = {name: await measure(shared, name, ITEMS) for name in WORKLOADS}
    many, workers, contacts = counts["create_many"], counts["workers"], counts["contacts"]

    # The single-item call's checks and decoding run once per item in both.
    for found in (many, workers):
        assert any(name.startswith("check_signers (signing_async/") for name in found)
        assert any(name.startswith("structure (signing_async/_core/serde.py") for name in found)
    assert any(name.startswith("check_contact (signing_async/") for name in contacts)
    # What the engine adds shows as the difference, under the engine's names.
    assert sum(many.values()) > sum(workers.values()) > sum(contacts.values()) > 0
    assert any("signing_async/_core/bulk/_engine.py" in name for name in many)
    assert not any("signing_async/_core/bulk/_engine.py" in name for name in workers)
    # The workload's own code is not the SDK's, and is left out.
    assert not any("benchmarks/_opcodes.py" in name for found in counts.values() for name in found)


async def test_one_more_item_costs_the_same_whatever_the_run_s_length() -> None:
    # What a run costs once (its workers, its opening and closing) is left out.
    async with client() as shared:
        shorter = await measure(shared, "create_many", 64)
        longer = await measure(shared, "create_many", 128)
    assert sum(shorter.values()) > 0

    # The SDK's functions cost the same to the opcode; the event loop's turns
    # (and the caller's frames they resume) are shared by more or fewer items.
    def sdk(found: dict[str, float]) -> dict[str, float]:
        return {name: count for name, count in found.items() if "(signing_async/" in name}

    assert sdk(shorter) == sdk(longer)


async def test_counting_puts_back_the_tracer_it_found() -> None:
    seen: list[str] = []

    def outer(frame: object, event: str, arg: object) -> None:
        seen.append(event)

    async def work() -> None:
        return None

    previous = sys.gettrace()
    sys.settrace(outer)
    try:
        counts = await count(work)
        assert sys.gettrace() is outer
    finally:
        sys.settrace(previous)
    assert counts.total() > 0
    assert any(name.startswith("work (") for name in counts)
