"""A thousand documents through ``documents.create_many`` while the sandbox misbehaves.

Over loopback, with a fixed seed: 10 % of the creations answer 503, 5 % are
created and then lose their connection before the answer, 2 % answer 429
with a short Retry-After, and the rest arrive with a little jittered latency.
Whatever happens, nothing is created twice and no outcome claims more than
the client can know.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import signing_async as sa
from signing_async.sandbox import Fault, Sandbox, samples

from .bulk_support import document

ROUTE = "danasign.createdocument"
COUNT = 1000
CONCURRENCY = 8
PDF = samples.make_pdf(text="fault test")
FAST = sa.RetryPolicy(backoff_initial=0.001, backoff_max=0.005)


async def test_a_thousand_documents_under_faults_are_never_created_twice() -> None:
    pulled = 0

    def items() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for index in range(COUNT):
            pulled += 1
            yield document(index, PDF)

    outcomes: list[sa.BulkOutcome[sa.CreatedDocument]] = []
    read_ahead: list[int] = []
    async with Sandbox(seed=20240601) as sb, sb.client(retry=FAST) as client:
        sb.faults.add(Fault(route=ROUTE, status=503, probability=0.10))
        sb.faults.add(Fault(route=ROUTE, drop="after", probability=0.05))
        sb.faults.add(Fault(route=ROUTE, status=429, retry_after=0.02, probability=0.02))
        sb.faults.add(Fault(route=ROUTE, latency=(0.0, 0.002)))
        run = client.documents.create_many(items(), concurrency=CONCURRENCY)
        async with run as stream:
            async for outcome in stream:
                outcomes.append(outcome)
                read_ahead.append(pulled - len(outcomes))
        created = {f"ext-{i}": sb.created_count(f"ext-{i}") for i in range(COUNT)}
        statuses = Counter(entry.status for entry in sb.requests_for(ROUTE))
        peak = sb.max_in_flight(ROUTE)

    # One outcome per item, each index once.
    assert len(outcomes) == COUNT
    assert sorted(outcome.index for outcome in outcomes) == list(range(COUNT))
    by_key = {outcome.key: outcome for outcome in outcomes}
    assert set(by_key) == set(created)

    for key, outcome in by_key.items():
        assert created[key] <= 1, key  # never created twice
        if created[key] == 0:
            assert outcome.status in ("failed", "uncertain"), outcome
        elif outcome.status != "succeeded":
            assert outcome.status == "uncertain", outcome  # created, not confirmed
        if outcome.status == "succeeded":
            assert created[key] == 1
            assert outcome.result is not None
        if outcome.status == "failed":
            assert outcome.error is not None

    # The faults did fire, and each left its mark.
    assert statuses[503] > 0
    assert statuses[429] > 0
    assert statuses[None] > 0  # dropped connections
    assert sum(o.status == "uncertain" for o in outcomes) >= statuses[None]
    assert sum(o.status == "succeeded" for o in outcomes) > 0.8 * COUNT

    # Bounded concurrency and lazy pulling: never more than the workers and the
    # outcome buffer ahead of what was handed out.
    assert 1 <= peak <= CONCURRENCY
    assert max(read_ahead) <= 2 * CONCURRENCY
    assert pulled == COUNT
