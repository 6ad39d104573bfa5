"""One process of a fleet that shares a ``PostgresTokenStore``, for ``test_tokens.py``.

``tokens_child.py DSN BASE_URL NAME`` builds a DANAconnect client on the
emulator at BASE_URL whose token store is ``PostgresTokenStore(DSN)`` and
whose every request carries ``X-Child: NAME`` (so the emulator knows who
asked for a token). It prints ``ready``, then for each ``call`` line read
from stdin prints ``calling``, starts one circuit and prints ``done`` (or
``error`` and the error's type); it ends at the end of stdin.
"""

from __future__ import annotations

import sys

import anyio
import attrs

import signing_async as sa
from signing_async.fleet import PostgresTokenStore

CLIENT_ID = "bulk-client"  # circuit_server.py's credentials
CLIENT_SECRET = "bulk-secret"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class Tagged:
    """A transport that names this process in a header of every request."""

    def __init__(self, inner: sa.Transport, name: str) -> None:
        self._inner = inner
        self._name = name

    async def send(self, request: sa.Request) -> sa.Response:
        headers = {**request.headers, "X-Child": self._name}
        return await self._inner.send(attrs.evolve(request, headers=headers))

    async def aclose(self) -> None:
        await self._inner.aclose()


async def main(dsn: str, base_url: str, name: str) -> None:
    config = sa.DanaConnectConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        channel="acme",
        base_url=base_url,
        download_base_url=base_url,
    )
    async with (
        PostgresTokenStore(dsn) as store,
        sa.SigningClient(
            danaconnect=config,
            transport=Tagged(sa.AiohttpTransport(), name),
            token_store=store,
        ) as client,
    ):
        print("ready", flush=True)
        calls = 0
        async for line in anyio.wrap_file(sys.stdin):
            if line.strip() != "call":
                continue
            calls += 1
            print("calling", flush=True)
            signer = {"name": "Ada", "email": "ada@example.com", "nif": "N1"}
            try:
                await client.circuits.start(
                    id=f"{name}-{calls}", signer=signer, docs=sa.Document(PDF, "contract.pdf")
                )
            except sa.SigningError as exc:
                print("error", type(exc).__name__, flush=True)
            else:
                print("done", flush=True)


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:4])
