"""What every provider's ``*_many`` does alike, through the sandbox: one test per behaviour.

The providers come from :data:`tests.bulk_providers.BULK_PROVIDERS`; what is
particular to one provider (its items' validation messages, its answers'
extra fields) stays in that provider's own tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from signing_async.sandbox import Sandbox
from tests.bulk_providers import BULK_PROVIDERS, BulkProvider

pytestmark = pytest.mark.parametrize("provider", BULK_PROVIDERS, ids=lambda p: p.name)


async def collect(run: Any) -> list[Any]:
    """Every outcome of ``run``, in item order."""
    async with run as outcomes:
        found = [outcome async for outcome in outcomes]
    return sorted(found, key=lambda outcome: outcome.index)


def ids(provider: BulkProvider, outcomes: Sequence[Any]) -> list[str]:
    """The ids of the objects the outcomes' results name."""
    return [getattr(outcome.result, provider.result_id) for outcome in outcomes]


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_each_item_is_created_once_within_the_concurrency(
    provider: BulkProvider, concurrency: int, tmp_path: Path
) -> None:
    items = (provider.item(index, tmp_path) for index in range(12))
    async with Sandbox(seed=7) as sb, sb.client() as client:
        outcomes = await collect(provider.many(client)(items, concurrency=concurrency))
        created = provider.created(sb)
        peak = sb.max_in_flight(provider.route)

    assert [outcome.status for outcome in outcomes] == ["succeeded"] * 12
    assert [outcome.key for outcome in outcomes] == [provider.key(index) for index in range(12)]
    # Twelve successes, twelve distinct objects, twelve creations: one each.
    assert len(set(ids(provider, outcomes))) == 12
    assert created == 12
    assert 1 <= peak <= concurrency


async def test_a_journal_rerun_skips_done_items_and_returns_their_results(
    provider: BulkProvider, tmp_path: Path
) -> None:
    journal = tmp_path / "run.db"
    items = [provider.item(index, tmp_path) for index in range(4)]
    async with Sandbox() as sb, sb.client() as client:
        first = await collect(provider.many(client)(items, journal=journal, concurrency=2))
        again = await collect(provider.many(client)(items, journal=journal))
        created = provider.created(sb)

    assert [outcome.status for outcome in first] == ["succeeded"] * 4
    assert [outcome.status for outcome in again] == ["skipped"] * 4
    assert [outcome.result for outcome in again] == [outcome.result for outcome in first]
    assert created == 4


async def test_a_key_used_twice_in_a_run_fails_the_second_item_alone(
    provider: BulkProvider, tmp_path: Path
) -> None:
    items = [provider.item(index, tmp_path) for index in range(3)]
    items.append(provider.item(1, tmp_path))
    async with Sandbox() as sb, sb.client() as client:
        outcomes = await collect(provider.many(client)(items, concurrency=2))
        created = provider.created(sb)

    assert [outcome.status for outcome in outcomes] == ["succeeded"] * 3 + ["failed"]
    assert f"{provider.key(1)!r} was already used by item 1" in str(outcomes[3].error)
    assert created == 3


async def test_an_unknown_field_fails_its_item_alone_before_anything_is_sent(
    provider: BulkProvider, tmp_path: Path
) -> None:
    items = [provider.item(0, tmp_path), {**provider.item(1, tmp_path), "colour": "blue"}]
    async with Sandbox() as sb, sb.client() as client:
        outcomes = await collect(provider.many(client)(items))
        sent = len(sb.requests_for(provider.route))

    assert [outcome.status for outcome in outcomes] == ["succeeded", "failed"]
    assert str(outcomes[1].error).startswith("colour: unknown key for ")
    assert sent == 1
