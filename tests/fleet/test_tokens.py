"""PostgresTokenStore: one token request per expiry across processes, on a real PostgreSQL.

The fleet tests run real processes (``tokens_child.py``) against a loopback
DANAconnect emulator started here, which counts token requests, hands out
the lifetimes a test sets, and holds a token request when told to. The other
tests drive a ``TokenCache`` over the store directly.
"""

from __future__ import annotations

import base64
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import psycopg
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

import signing_async as sa
from signing_async import ConfigurationError
from signing_async._core.bulk._pg_schema import TOKEN_LOCK_CLASS
from signing_async._core.tokens import AccessToken, TokenCache
from signing_async.fleet import PostgresTokenStore
from signing_async.fleet._tokens import RECHECK, lock_id
from signing_async.transports._mock import RecordedRequest

from ..danaconnect.fake import FakeDanaConnect, json_response
from ..sandbox_child import child_env
from .tokens_child import CLIENT_ID, CLIENT_SECRET

HERE = Path(__file__).parent
FLEET = 8
KEY = "0123abcd" * 8  # a store key: a digest of the credentials, as the client makes it


# -- the emulator -------------------------------------------------------------


class TokenServer(FakeDanaConnect):
    """The loopback DANAconnect, with tokens that expire and a count of token requests.

    Attributes:
        lifetime: The ``expires_in`` of the next tokens.
        hold_first: Leave the first token request unanswered until
            :meth:`answer_held` (or, failing that, the end of the test).
        requests: The ``X-Child`` of each token request received, in order.
        issued: The tokens handed out, in order.
        used: The token each accepted start_circuit carried.
        rejected: start_circuit requests refused for their token (unknown or expired).
    """

    def __init__(self) -> None:
        super().__init__(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        self.lifetime = 3600.0
        self.hold_first = False
        self.requests: list[str] = []
        self.used: list[str] = []
        self.rejected = 0
        self._expiry: dict[str, float] = {}
        self._answer = False

    async def answer_held(self) -> None:
        """Answer the held token request, as any other."""
        self._answer = True
        await self._notify()

    async def _token(self, request: RecordedRequest) -> sa.Response:
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {basic}":
            return json_response(401, {"error": "invalid_client"})
        self.requests.append(request.headers.get("X-Child", "?"))
        await self._notify()
        if self.hold_first and len(self.requests) == 1:
            await self.wait_for(lambda: self._answer or self._released)
            if not self._answer:  # the test is over: its process was killed meanwhile
                return json_response(503, {"error": "too late"})
        token = f"fleet-tok-{len(self.issued) + 1}-Qp"
        self.issued.append(token)
        self._expiry[token] = time.monotonic() + self.lifetime
        return json_response(200, {"access_token": token, "expires_in": self.lifetime})

    async def _start(self, request: RecordedRequest) -> sa.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self._expiry.get(token, -1.0) <= time.monotonic():
            self.rejected += 1
            return json_response(401, {"error": "invalid token"})
        self.used.append(token)
        return json_response(
            200, {"circuitId": str(len(self.used)), "link": "http://127.0.0.1:9/sign/x"}
        )


# -- the fleet ------------------------------------------------------------------


class Child:
    """One ``tokens_child.py`` process: send it lines, read its lines."""

    def __init__(self, name: str, process: anyio.abc.Process, log: Path) -> None:
        assert process.stdout is not None
        assert process.stdin is not None
        self.name = name
        self.process = process
        self.log = log
        self._out = BufferedByteReceiveStream(process.stdout)

    async def line(self) -> str:
        try:
            return (await self._out.receive_until(b"\n", 1 << 16)).decode().strip()
        except anyio.IncompleteRead:
            raise AssertionError(f"{self.name} ended early:\n{self.log.read_text()}") from None

    async def call(self) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send(b"call\n")


@asynccontextmanager
async def fleet(dsn: str, url: str, folder: Path, count: int = FLEET) -> AsyncIterator[list[Child]]:
    """``count`` child processes, each ready (client and store built, nothing fetched)."""
    async with AsyncExitStack() as stack:
        children = []
        for index in range(count):
            name = f"child-{index}"
            log = folder / f"{name}.log"
            process = await stack.enter_async_context(
                await anyio.open_process(
                    [sys.executable, str(HERE / "tokens_child.py"), dsn, url, name],
                    env=child_env(HERE),
                    stderr=log.open("wb"),
                )
            )
            children.append(Child(name, process, log))
        for child in children:
            assert await child.line() == "ready"
        yield children
        for child in children:
            if child.process.returncode is None:
                assert child.process.stdin is not None
                await child.process.stdin.aclose()  # the end of stdin: the child closes and exits


async def call_all(children: list[Child], server: TokenServer | None = None) -> list[str]:
    """Make every child start one circuit at once; their answers.

    With ``server``, the first token request is held until every child has
    started its call, so that they all ask for a token together.
    """
    if server is not None:
        server.hold_first = True
    for child in children:
        await child.call()
    for child in children:
        assert await child.line() == "calling"
    if server is not None:
        await server.answer_held()
    return [await child.line() for child in children]


async def sleep_past_the_stored_expiry(dsn: str) -> None:
    """Let the database sleep until the stored token has expired on its clock."""
    async with await psycopg.AsyncConnection.connect(dsn) as connection:
        await connection.execute(
            "SELECT pg_sleep(extract(epoch FROM max(expires_at) - clock_timestamp()) + 0.01)"
            " FROM signing_async.tokens"
        )


def stored_token_expired(dsn: str) -> bool:
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT bool_and(expires_at <= clock_timestamp()) FROM signing_async.tokens"
        ).fetchone()
    return bool(row and row[0])


# -- many processes -----------------------------------------------------------


async def test_eight_processes_on_a_cold_store_make_one_token_request(
    dsn: str, tmp_path: Path
) -> None:
    async with TokenServer() as server:
        with anyio.fail_after(120):  # a hang guard, not a speed check
            async with fleet(dsn, server.base_url, tmp_path) as children:
                answers = await call_all(children, server)
    assert answers == ["done"] * FLEET
    assert len(server.requests) == 1
    assert server.used == server.issued * FLEET
    assert server.rejected == 0


async def test_after_an_expiry_the_fleet_makes_one_more_token_request(
    dsn: str, tmp_path: Path
) -> None:
    async with TokenServer() as server:
        server.lifetime = 2.0
        with anyio.fail_after(120):  # a hang guard, not a speed check
            async with fleet(dsn, server.base_url, tmp_path) as children:
                assert await call_all(children, server) == ["done"] * FLEET
                before, rejected = len(server.requests), server.rejected
                # Every process's copy expires no later than the stored token
                # (its expiry was read off the database's clock, early by a
                # round trip at most): once the database says so, all have.
                await sleep_past_the_stored_expiry(dsn)
                assert stored_token_expired(dsn)
                server.lifetime = 3600.0
                used = len(server.used)
                assert await call_all(children) == ["done"] * FLEET
    assert before >= 1
    assert len(server.requests) == before + 1
    assert server.used[used:] == [server.issued[-1]] * FLEET
    assert server.rejected == rejected


async def test_when_the_refreshing_process_is_killed_the_others_make_one_more_request(
    dsn: str, tmp_path: Path
) -> None:
    async with TokenServer() as server:
        server.hold_first = True
        with anyio.fail_after(120):  # a hang guard, not a speed check
            async with fleet(dsn, server.base_url, tmp_path) as children:
                for child in children:
                    await child.call()
                    assert await child.line() == "calling"
                await server.wait_for(lambda: len(server.requests) == 1)
                holder = next(child for child in children if child.name == server.requests[0])
                holder.process.kill()  # SIGKILL, while the server holds its token request
                await holder.process.wait()
                others = [child for child in children if child is not holder]
                answers = [await child.line() for child in others]
    assert answers == ["done"] * (FLEET - 1)
    assert len(server.requests) == 2  # the held one, and one more
    assert server.used == server.issued * (FLEET - 1)
    assert server.rejected == 0


# -- one process ----------------------------------------------------------------


class Clock:
    """A monotonic clock some way off the real one, that a test can move on."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.monotonic() + self.offset


class Fetcher:
    """A token endpoint: counts requests, grants ``lifetime``."""

    def __init__(
        self, lifetime: float = 100.0, gate: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.lifetime = lifetime
        self.count = 0
        self._gate = gate

    async def __call__(self) -> tuple[str, float]:
        self.count += 1
        if self._gate is not None:
            await self._gate()
        await anyio.lowlevel.checkpoint()
        return f"fleet-tok-{self.count}-Qp", self.lifetime


def named(dsn: str, name: str) -> str:
    """``dsn`` with an application name, to find the store's sessions in ``pg_stat_activity``."""
    return f"{dsn}&application_name={name}"


def last_statements(dsn: str, name: str) -> list[tuple[int, Any]]:
    """The sessions named ``name``: their pid and when each last sent a statement."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        return connection.execute(
            "SELECT pid, query_start FROM pg_stat_activity WHERE application_name = %s"
            " ORDER BY pid",
            (name,),
        ).fetchall()


async def test_an_expiry_crosses_processes_on_the_database_clock(dsn: str) -> None:
    # Two processes whose monotonic clocks are hours apart.
    first, second = Clock(-7200.0), Clock(5000.0)
    async with (
        PostgresTokenStore(dsn, clock=first) as writer,
        PostgresTokenStore(dsn, clock=second) as reader,
    ):
        started = time.monotonic()
        await writer.set(KEY, AccessToken("fleet-tok-1-Qp", first() + 60.0, 60.0))
        token = await reader.get(KEY)
        remaining = token.remaining(second()) if token is not None else None
        elapsed = time.monotonic() - started
    assert token is not None
    assert (token.value, token.lifetime) == ("fleet-tok-1-Qp", 60.0)
    assert remaining is not None
    # Never later than the writer's expiry; earlier by at most the time spent.
    assert 60.0 - elapsed - 1e-3 <= remaining <= 60.0 + 1e-6


async def test_an_expired_row_reads_as_a_token_in_its_mandatory_window(dsn: str) -> None:
    clock = Clock(0.0)
    async with PostgresTokenStore(dsn, clock=clock) as writer:
        await writer.set(KEY, AccessToken("fleet-tok-1-Qp", clock() - 5.0, 60.0))
    async with PostgresTokenStore(dsn, clock=clock) as reader:
        token = await reader.get(KEY)
    assert token is not None
    assert token.remaining(clock()) < -5.0 + 1e-6
    assert token.in_mandatory_window(clock())


async def test_a_usable_token_is_served_without_a_database_round_trip(dsn: str) -> None:
    clock, fetch = Clock(0.0), Fetcher(lifetime=100.0)
    async with PostgresTokenStore(named(dsn, "cache-reads"), clock=clock) as store:
        cache = TokenCache(store, KEY, fetch, clock=clock)
        first = await cache.get()
        before = last_statements(dsn, "cache-reads")
        tokens = [await cache.get() for _ in range(1000)]
        clock.offset += 45.0  # 55 s left: the advisory window (50 s) is still ahead
        tokens += [await cache.get() for _ in range(1000)]
        after = last_statements(dsn, "cache-reads")
        clock.offset += 50.0  # 5 s left: the mandatory window, the table is read
        await cache.get()
        later = last_statements(dsn, "cache-reads")
    assert len(before) == 1  # one session, and it sent no statement in 2000 calls
    assert after == before
    assert later != before  # the measure can see a statement
    assert tokens == [first] * 2000
    assert fetch.count == 2


async def test_in_the_advisory_window_a_peers_refresh_is_checked_once_a_recheck(dsn: str) -> None:
    clock, fetch = Clock(0.0), Fetcher(lifetime=100.0)
    async with PostgresTokenStore(named(dsn, "advisory"), clock=clock) as store:
        cache = TokenCache(store, KEY, fetch, clock=clock)
        first = await cache.get()
        with psycopg.connect(dsn, autocommit=True) as peer:
            # A peer process is refreshing: it holds the key's refresh lock.
            peer.execute(
                "SELECT pg_advisory_lock(%s, %s)", (TOKEN_LOCK_CLASS, lock_id("signing_async", KEY))
            )
            clock.offset += 60.0  # 40 s left: the advisory window
            tried = await cache.get()
            once = last_statements(dsn, "advisory")
            again = [await cache.get() for _ in range(500)]
            twice = last_statements(dsn, "advisory")
            # The peer wrote its token and let go.
            peer.execute(
                "UPDATE signing_async.tokens SET value = 'fleet-tok-9-Qp',"
                " expires_at = clock_timestamp() + interval '100 seconds'"
            )
            peer.execute("SELECT pg_advisory_unlock_all()")
        not_yet = await cache.get()
        clock.offset += RECHECK
        taken = await cache.get()
    assert tried == first
    assert again == [first] * 500
    assert not_yet == first
    assert twice == once  # no statement until RECHECK has passed
    assert taken.value == "fleet-tok-9-Qp"
    assert fetch.count == 1  # the peer's token was taken, none was fetched here


async def a_session_waits_for_a_lock(dsn: str) -> None:
    """Return once a session of the database waits for a lock (a refresh lock, here)."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
        while True:
            cursor = await connection.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = await cursor.fetchone()
            if row is not None and row[0] > 0:
                return
            await anyio.sleep(0.01)


async def test_two_stores_on_a_cold_table_make_one_token_request(dsn: str) -> None:
    # The token request ends only once the other store waits for its lock.
    fetch = Fetcher(gate=lambda: a_session_waits_for_a_lock(dsn))
    async with PostgresTokenStore(dsn) as one, PostgresTokenStore(dsn) as two:
        caches = [TokenCache(store, KEY, fetch) for store in (one, two)]
        tokens: list[AccessToken] = []

        async def get(cache: TokenCache) -> None:
            tokens.append(await cache.get())

        with anyio.fail_after(60):  # a hang guard, not a speed check
            async with anyio.create_task_group() as group:
                for cache in caches * 10:
                    group.start_soon(get, cache)
    assert fetch.count == 1
    assert {token.value for token in tokens} == {"fleet-tok-1-Qp"}


async def test_a_rejected_token_is_dropped_only_while_it_is_the_current_one(dsn: str) -> None:
    fetch = Fetcher()
    async with PostgresTokenStore(dsn) as store:
        cache = TokenCache(store, KEY, fetch)
        stale = AccessToken("fleet-tok-0-Qp", 0.0, 100.0)
        current = await cache.get()
        await cache.invalidate(stale)  # replaced already: nothing happens
        kept = await cache.get()
        await cache.invalidate(current)
        renewed = await cache.get()
    async with PostgresTokenStore(dsn) as other:
        seen = await other.get(KEY)
    assert kept == current
    assert fetch.count == 2
    assert renewed.value == "fleet-tok-2-Qp"
    assert seen is not None
    assert seen.value == "fleet-tok-2-Qp"


async def test_without_its_database_the_store_still_hands_out_tokens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dsn = f"postgresql://app:pg-Pa55-9e1d@/tokens?host={tmp_path / 'nothing'}"
    store = PostgresTokenStore(dsn)
    fetch = Fetcher()
    cache = TokenCache(store, KEY, fetch)
    with caplog.at_level(logging.WARNING, logger="signing_async"):
        tokens = [await cache.get() for _ in range(3)]
    await store.aclose()
    assert fetch.count == 1
    assert {token.value for token in tokens} == {"fleet-tok-1-Qp"}
    messages = [
        record.getMessage()
        for record in caplog.records
        if record.name == "signing_async" and record.levelno >= logging.WARNING
    ]
    assert messages
    assert all("goes on without it" in message for message in messages)
    assert all("pg-Pa55-9e1d" not in message for message in messages)
    assert all("app:***@" in message for message in messages)
    assert "pg-Pa55-9e1d" not in repr(store)


@pytest.mark.parametrize("wait", [0, -1.0, float("inf"), float("nan"), "60", True])
def test_wait_must_be_a_positive_number(wait: Any) -> None:
    with pytest.raises(ConfigurationError, match="wait"):
        PostgresTokenStore("postgresql://app@/db", wait=wait)
