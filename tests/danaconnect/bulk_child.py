"""A bulk run in its own process, for the kill tests.

``bulk_child.py BASE_URL JOURNAL COUNT [CONCURRENCY [BACKOFF]]`` starts
circuits ``c-0`` … ``c-{COUNT-1}``, CONCURRENCY (4) at a time, against the
emulator at BASE_URL and prints one JSON line per outcome, flushed, so the
test knows how far it got before it kills the process. BACKOFF, when given,
is the longest wait between retries, in seconds.
"""

from __future__ import annotations

import json
import sys

import anyio
from fake import CHANNEL, CLIENT_ID, CLIENT_SECRET, circuit_item

import signing_async as sa


async def main(base_url: str, journal: str, count: int, concurrency: int, backoff: str) -> None:
    config = sa.DanaConnectConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        channel=CHANNEL,
        base_url=base_url,
        download_base_url=base_url,
    )
    items = (circuit_item(index) for index in range(count))
    retry = sa.RetryPolicy()
    if backoff:
        retry = sa.RetryPolicy(backoff_initial=float(backoff) / 8, backoff_max=float(backoff))
    async with sa.SigningClient(danaconnect=config, retry=retry) as client:
        run = client.circuits.start_many(items, concurrency=concurrency, journal=journal)
        async with run as outcomes:
            async for outcome in outcomes:
                print(json.dumps({"key": outcome.key, "status": outcome.status}), flush=True)


if __name__ == "__main__":
    concurrency = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    backoff = sys.argv[5] if len(sys.argv) > 5 else ""
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]), concurrency, backoff)
