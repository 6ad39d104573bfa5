"""A documents bulk run in its own process: ``documents_child.py URL JOURNAL COUNT``.

It sends documents ``ext-0`` … ``ext-{COUNT-1}`` four at a time to the
sandbox at URL with the journal at JOURNAL, and prints one JSON line per
outcome, until it finishes or is killed.
"""

from __future__ import annotations

import json
import sys

import anyio
from bulk_support import API_TOKEN, PDF, document

import signing_async as sa


async def main(url: str, journal: str, count: int) -> None:
    config = sa.DanaSignConfig(server_url=url, api_token=API_TOKEN)
    items = (document(index, PDF) for index in range(count))
    async with sa.SigningClient(danasign=config) as client:
        run = client.documents.create_many(items, concurrency=4, journal=journal)
        async with run as outcomes:
            async for outcome in outcomes:
                print(json.dumps({"key": outcome.key, "status": outcome.status}), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]))
