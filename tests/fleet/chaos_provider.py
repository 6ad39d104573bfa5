"""A hostile DANAsign for the fleet's chaos tests, run in a process of its own.

It implements only ``POST /api/1.0/createdocument`` (the ``x-api-token``
header, the answer ``{"documentId", "status": "sent", "sentAt",
"expiresAt"}``), and misbehaves on purpose, drawing from a seeded random
generator for every request:

- latency: a few milliseconds before acting and a few more before answering,
  so that a worker killed at a random moment often leaves a document created
  and its answer unread;
- ``--p503``: 503 and nothing created (a provider out of capacity);
- ``--p-drop``: the document is created, then the connection is closed
  without an answer;
- ``--p504``: the document is created, then a 504 (a gateway that stopped
  waiting);
- ``--stubborn``: that share of the external ids (chosen by the seed) get a
  503 every time, so some items stay failed whatever the client retries.

It counts the documents created per ``metadata.externalId`` and each fault
drawn, served as JSON by ``GET /_chaos/stats``. Nothing here agrees with the
SDK by construction: it is built on the hostile-server tests' raw HTTP
server, not on the sandbox.

Run: ``python -m tests.fleet.chaos_provider --port-file F --seed S``; the
port (on 127.0.0.1) is written to ``F`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import uuid
import zlib
from collections import Counter
from pathlib import Path

from ..hostile.server import HostileServer, RawRequest, answer_json

__all__ = ["API_TOKEN", "ChaosProvider", "main"]

API_TOKEN = "chaos-api-token"

STUBBORN = 0.012
"""The share of keys that always get a 503 (13 and 23 of the 1,500 keys for
the tests' seeds). A stubborn key fails transiently, so every redelivery of
its chunk sends it again, and a kill during one of those sends leaves it
uncertain: about half of them end so. The chaos tests want at least one to
end failed; with 6 keys, all 6 were once left uncertain (one run in about
twenty-five), with 13 or more that is a chance in thousands or less."""
"""The API token the provider accepts."""


class ChaosProvider:
    """The provider's state: what it created, which faults it drew."""

    def __init__(
        self,
        *,
        seed: int,
        latency: tuple[float, float] = (0.002, 0.02),
        p503: float = 0.02,
        p_drop: float = 0.02,
        p504: float = 0.01,
        stubborn: float = STUBBORN,
    ) -> None:
        self.random = random.Random(seed)  # noqa: S311 - faults, not cryptography
        self.seed = seed
        self.latency = latency
        self.p503 = p503
        self.p_drop = p_drop
        self.p504 = p504
        self.stubborn = stubborn
        self.created: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.requests = 0

    def is_stubborn(self, key: str) -> bool:
        """Whether ``key`` always gets a 503 (a stable choice for a seed)."""
        return zlib.crc32(f"{self.seed}:{key}".encode()) % 10_000 < self.stubborn * 10_000

    def stats(self) -> dict[str, object]:
        """What ``GET /_chaos/stats`` answers."""
        return {
            "requests": self.requests,
            "created": dict(self.created),
            "faults": dict(self.faults),
        }

    async def handle(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        """One request: the stats, or a document creation with its faults."""
        if request.method == "GET" and request.path == "/_chaos/stats":
            await answer_json(writer, 200, json.dumps(self.stats()))
            return
        if request.method != "POST" or request.path != "/api/1.0/createdocument":
            await answer_json(writer, 404, '{"error": "not found"}')
            return
        if request.headers.get("x-api-token") != API_TOKEN:
            await answer_json(writer, 405, '{"error": "Invalid API token"}')
            return
        self.requests += 1
        try:
            body = json.loads(request.body)
            key = str(body["metadata"]["externalId"])
        except (ValueError, KeyError, TypeError):
            await answer_json(writer, 400, '{"error": "metadata.externalId is required"}')
            return
        # Draw every fault now, in arrival order, so the seed decides them.
        draw = self.random.random()
        before, after = (self.random.uniform(*self.latency) / 2 for _ in range(2))
        await asyncio.sleep(before)
        if self.is_stubborn(key) or draw < self.p503:
            self.faults["stubborn_503" if self.is_stubborn(key) else "503"] += 1
            await answer_json(writer, 503, '{"error": "Service unavailable"}')
            return
        self.created[key] += 1
        await asyncio.sleep(after)
        draw -= self.p503
        if draw < self.p_drop:
            self.faults["drop"] += 1
            writer.transport.abort()  # created, and no answer ever comes
            return
        draw -= self.p_drop
        if draw < self.p504:
            self.faults["504"] += 1
            await answer_json(writer, 504, '{"error": "Gateway timeout"}')
            return
        answer = {
            "documentId": uuid.uuid4().hex,
            "status": "sent",
            "sentAt": "2026-03-01T10:00:00.000Z",
            "expiresAt": "2026-03-31T10:00:00.000Z",
        }
        await answer_json(writer, 200, json.dumps(answer))


async def serve(provider: ChaosProvider, port_file: Path) -> None:
    """Serve ``provider`` on a free loopback port, written to ``port_file``, forever."""
    server = HostileServer(provider.handle)
    async with server:
        # Written whole, then renamed: a reader never sees half a port.
        partial = port_file.with_name(port_file.name + ".part")
        partial.write_text(server.url.rsplit(":", 1)[1])
        partial.replace(port_file)
        while True:
            server.requests.clear()  # its log of every request is not needed here
            await asyncio.sleep(1)


def main(argv: list[str] | None = None) -> None:
    """The command line: ``--port-file F --seed S`` and the fault rates."""
    parser = argparse.ArgumentParser(prog="python -m tests.fleet.chaos_provider")
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", default="2,20", help="min,max per request")
    parser.add_argument("--p503", type=float, default=0.02)
    parser.add_argument("--p-drop", type=float, default=0.02)
    parser.add_argument("--p504", type=float, default=0.01)
    parser.add_argument("--stubborn", type=float, default=STUBBORN)
    args = parser.parse_args(argv)
    low, high = (float(part) / 1000 for part in args.latency_ms.split(","))
    provider = ChaosProvider(
        seed=args.seed,
        latency=(low, high),
        p503=args.p503,
        p_drop=args.p_drop,
        p504=args.p504,
        stubborn=args.stubborn,
    )
    asyncio.run(serve(provider, args.port_file))


if __name__ == "__main__":
    main()
