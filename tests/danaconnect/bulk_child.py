"""A bulk run in its own process, for the kill test: ``bulk_child.py BASE_URL JOURNAL COUNT``.

It starts circuits ``c-0`` … ``c-{COUNT-1}`` four at a time against the
emulator at BASE_URL and prints one JSON line per outcome, flushed, so the
test knows how far it got before it kills the process.
"""

from __future__ import annotations

import json
import sys

import anyio
from circuit_server import circuit_item

import signing_async as sa


async def main(base_url: str, journal: str, count: int) -> None:
    config = sa.DanaConnectConfig(
        client_id="bulk-client",
        client_secret="bulk-secret",
        channel="acme",
        base_url=base_url,
        download_base_url=base_url,
    )
    items = (circuit_item(index) for index in range(count))
    async with sa.SigningClient(danaconnect=config) as client:
        run = client.circuits.start_many(items, concurrency=4, journal=journal)
        async with run as outcomes:
            async for outcome in outcomes:
                print(json.dumps({"key": outcome.key, "status": outcome.status}), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]))
