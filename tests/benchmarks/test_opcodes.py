"""The opcode counter: where a bulk item's Python work goes, counted exactly.

Nothing here looks at a timing: the counts are the interpreter's own.
"""

from __future__ import annotations

import sys

from benchmarks._opcodes import WORKLOADS, count, measure

ITEMS = 30


async def test_the_counts_split_a_bulk_item_s_work_between_the_engine_and_the_call() -> None:
    counts = {name: await measure(name, ITEMS) for name in WORKLOADS}
    many, workers, contacts = counts["create_many"], counts["workers"], counts["contacts"]

    # The single-item call's checks and decoding run in both bulk workloads.
    for found in (many, workers):
        assert any(name.startswith("check_signers (signing_async/") for name in found)
        assert any(name.startswith("structure (signing_async/_core/serde.py") for name in found)
    assert any(name.startswith("check_contact (signing_async/") for name in contacts)
    # What the engine adds shows as the difference, under the engine's names.
    assert many.total() > workers.total() > contacts.total() > 0
    beyond = many - workers
    assert any("signing_async/_core/bulk/_engine.py" in name for name in beyond)
    assert not any("signing_async/_core/bulk/_engine.py" in name for name in workers)


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
