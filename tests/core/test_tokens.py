"""TokenCache: refresh windows, single flight and invalidation, on a fake clock."""

from __future__ import annotations

import logging

import anyio
import pytest

from signing_async import AccessToken, MemoryTokenStore, ServerError, SigningError
from signing_async._core.tokens import TokenCache, bounded_lifetime


class FakeClock:
    """A monotonic clock that only moves when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class GatedFetch:
    """A token endpoint whose answers are held back until the test releases them."""

    def __init__(self, lifetime: float = 1000.0) -> None:
        self.lifetime = lifetime
        self.calls = 0
        self.gate: anyio.Event | None = None
        self.failures: list[BaseException] = []

    async def __call__(self) -> tuple[str, float]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        return f"token-{self.calls}", self.lifetime


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fetch() -> GatedFetch:
    return GatedFetch()


@pytest.fixture
def store() -> MemoryTokenStore:
    return MemoryTokenStore()


@pytest.fixture
def cache(store: MemoryTokenStore, fetch: GatedFetch, clock: FakeClock) -> TokenCache:
    return TokenCache(store, "key", fetch, clock=clock)


async def gather_gets(cache: TokenCache, count: int, into: list[str]) -> None:
    async def one() -> None:
        into.append((await cache.get()).value)

    async with anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(one)


@pytest.mark.parametrize(
    ("lifetime", "advisory", "mandatory"),
    [(3600, 300, 30), (1000, 300, 30), (100, 50, 10), (1, 0.5, 0.1)],
)
def test_windows(lifetime: float, advisory: float, mandatory: float) -> None:
    token = AccessToken("t", expires_at=lifetime, lifetime=lifetime)
    at = lifetime  # expiry; "now" is expiry minus what remains

    assert not token.in_advisory_window(at - advisory - 1e-6)
    assert token.in_advisory_window(at - advisory + 1e-6)
    assert not token.in_mandatory_window(at - advisory + 1e-6)
    assert not token.in_mandatory_window(at - mandatory - 1e-6)
    assert token.in_mandatory_window(at - mandatory + 1e-6)
    assert token.in_mandatory_window(at + 1)  # expired
    assert token.remaining(at - 5) == 5


def test_token_repr_hides_the_value() -> None:
    token = AccessToken("very-secret-token", expires_at=1.0, lifetime=1.0)
    assert "very-secret-token" not in repr(token)


async def test_memory_store_discards_only_the_current_token(store: MemoryTokenStore) -> None:
    old = AccessToken("old", 10.0, 10.0)
    new = AccessToken("new", 20.0, 10.0)
    await store.set("k", new)

    await store.discard("k", old)
    assert await store.get("k") == new

    await store.discard("k", new)
    assert await store.get("k") is None
    await store.discard("k", new)  # harmless when absent


async def test_first_token_expiry_uses_the_clock(
    cache: TokenCache, store: MemoryTokenStore, clock: FakeClock
) -> None:
    token = await cache.get()

    assert token == AccessToken("token-1", clock.now + 1000, 1000)
    assert await store.get("key") == token


async def test_fresh_token_is_reused(
    cache: TokenCache, fetch: GatedFetch, clock: FakeClock
) -> None:
    first = await cache.get()
    clock.now += 699  # 301 s left: outside the advisory window
    assert await cache.get() is first
    assert fetch.calls == 1


async def test_cold_cache_single_flight(cache: TokenCache, fetch: GatedFetch) -> None:
    fetch.gate = anyio.Event()
    got: list[str] = []

    async with anyio.create_task_group() as group:
        group.start_soon(gather_gets, cache, 50, got)
        await anyio.wait_all_tasks_blocked()
        assert got == []  # everyone waits for the one refresh
        assert fetch.calls == 1
        fetch.gate.set()

    assert got == ["token-1"] * 50
    assert fetch.calls == 1


async def test_advisory_window_one_refresh_others_keep_the_old_token(
    cache: TokenCache, fetch: GatedFetch, clock: FakeClock
) -> None:
    await cache.get()
    clock.now += 1000 - 100  # 100 s left: advisory (< 300), not mandatory (< 30)
    fetch.gate = anyio.Event()
    got: list[str] = []

    async with anyio.create_task_group() as group:
        group.start_soon(gather_gets, cache, 20, got)
        await anyio.wait_all_tasks_blocked()
        # One caller is refreshing; the 19 others were not made to wait.
        assert got == ["token-1"] * 19
        assert fetch.calls == 2
        fetch.gate.set()

    assert sorted(got) == ["token-1"] * 19 + ["token-2"]
    assert fetch.calls == 2
    assert (await cache.get()).value == "token-2"


@pytest.mark.parametrize("remaining", [10.0, 0.0, -50.0])
async def test_mandatory_window_everyone_waits_for_one_refresh(
    cache: TokenCache, fetch: GatedFetch, clock: FakeClock, remaining: float
) -> None:
    await cache.get()
    clock.now += 1000 - remaining
    fetch.gate = anyio.Event()
    got: list[str] = []

    async with anyio.create_task_group() as group:
        group.start_soon(gather_gets, cache, 20, got)
        await anyio.wait_all_tasks_blocked()
        assert got == []
        fetch.gate.set()

    assert got == ["token-2"] * 20
    assert fetch.calls == 2


async def test_failed_advisory_refresh_returns_the_valid_token(
    cache: TokenCache, fetch: GatedFetch, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await cache.get()
    clock.now += 1000 - 100
    fetch.failures.append(ServerError("down", status=503, provider="P", operation="token"))

    with caplog.at_level(logging.WARNING, logger="signing_async"):
        token = await cache.get()

    assert token.value == "token-1"
    assert fetch.calls == 2
    assert "token refresh failed" in caplog.text
    # The next caller tries again.
    assert (await cache.get()).value == "token-3"


async def test_failed_mandatory_refresh_raises(
    cache: TokenCache, fetch: GatedFetch, clock: FakeClock
) -> None:
    await cache.get()
    clock.now += 1000 - 10
    fetch.failures.append(ServerError("down", status=503, provider="P", operation="token"))

    with pytest.raises(ServerError):
        await cache.get()
    assert (await cache.get()).value == "token-3"


async def test_callers_waiting_on_a_failed_refresh_share_its_error(
    cache: TokenCache, fetch: GatedFetch
) -> None:
    fetch.gate = anyio.Event()
    fetch.failures.append(ServerError("down", status=503, provider="P", operation="token"))
    errors: list[BaseException] = []

    async def one() -> None:
        try:
            await cache.get()
        except SigningError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(one)
        await anyio.wait_all_tasks_blocked()
        fetch.gate.set()

    assert len(errors) == 10
    assert all(isinstance(error, ServerError) for error in errors)
    assert fetch.calls == 1
    # A caller arriving after the failure tries again.
    assert (await cache.get()).value == "token-2"


async def test_cancelled_refresh_lets_a_waiter_refresh(
    cache: TokenCache, fetch: GatedFetch
) -> None:
    fetch.gate = anyio.Event()
    got: list[str] = []
    scope = anyio.CancelScope()

    async def cancelled_caller() -> None:
        with scope:
            await cache.get()

    async with anyio.create_task_group() as group:
        group.start_soon(cancelled_caller)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(gather_gets, cache, 3, got)
        await anyio.wait_all_tasks_blocked()
        # The caller doing the refresh goes away: the waiters must not inherit that.
        scope.cancel()
        fetch.gate.set()

    assert got == ["token-2"] * 3
    assert fetch.calls == 2


async def test_invalidate_current_token_forces_a_refresh(
    cache: TokenCache, fetch: GatedFetch
) -> None:
    token = await cache.get()
    await cache.invalidate(token)
    assert (await cache.get()).value == "token-2"


async def test_invalidate_replaced_token_keeps_the_new_one(
    cache: TokenCache, fetch: GatedFetch
) -> None:
    old = await cache.get()
    await cache.invalidate(old)
    new = await cache.get()

    await cache.invalidate(old)  # a late 401 for the old token

    assert await cache.get() is new
    assert fetch.calls == 2


class RushingClock(FakeClock):
    """A clock that moves a whole token lifetime on every reading."""

    def __call__(self) -> float:
        self.now += 1000.0
        return self.now


async def test_waiters_take_the_refreshed_token_even_if_it_already_looks_expired(
    store: MemoryTokenStore, fetch: GatedFetch
) -> None:
    # Whatever the lifetime or the clock says, callers that queued behind a
    # refresh use its token: one token request per refresh.
    cache = TokenCache(store, "key", fetch, clock=RushingClock())
    fetch.gate = anyio.Event()
    got: list[str] = []

    async with anyio.create_task_group() as group:
        group.start_soon(gather_gets, cache, 20, got)
        await anyio.wait_all_tasks_blocked()
        fetch.gate.set()

    assert got == ["token-1"] * 20
    assert fetch.calls == 1


@pytest.mark.parametrize(
    ("granted", "used"),
    [(0.0, 1.0), (-5.0, 1.0), (float("nan"), 1.0), (0.5, 1.0), (1.0, 1.0), (59.0, 59.0),
     (3600.0, 3600.0), (86400.0, 86400.0), (1e12, 86400.0), (float("inf"), 86400.0)],
)  # fmt: skip
async def test_granted_lifetimes_are_clamped(
    store: MemoryTokenStore, clock: FakeClock, granted: float, used: float
) -> None:
    cache = TokenCache(store, "key", GatedFetch(lifetime=granted), clock=clock)
    token = await cache.get()
    assert (token.lifetime, token.expires_at) == (used, clock.now + used)
    assert bounded_lifetime(granted) == used


class HeldStore(MemoryTokenStore):
    """A store whose next ``get``, once armed, reads the token and then waits to answer.

    As a database store's answer travels back: meanwhile the cache's other
    callers go on.
    """

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.reading = anyio.Event()  # the held get has read
        self.answer = anyio.Event()

    async def get(self, key: str) -> AccessToken | None:
        token = await super().get(key)
        if self.armed:
            self.armed = False
            self.reading.set()
            await self.answer.wait()
        return token


async def test_a_failed_refresh_is_shared_with_a_caller_whose_store_read_was_slow(
    fetch: GatedFetch, clock: FakeClock
) -> None:
    store = HeldStore()
    cache = TokenCache(store, "key", fetch, clock=clock)
    fetch.gate = anyio.Event()
    fetch.failures.append(ServerError("down", status=503, provider="P", operation="token"))
    errors: list[BaseException] = []

    async def caller() -> None:
        try:
            await cache.get()
        except SigningError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(caller)  # refreshes: its token request waits at the gate
        await anyio.wait_all_tasks_blocked()
        store.armed = True
        group.start_soon(caller)  # reads an empty store while the refresh runs ...
        await store.reading.wait()
        fetch.gate.set()  # ... which fails meanwhile
        await anyio.wait_all_tasks_blocked()
        store.answer.set()

    assert fetch.calls == 1  # single flight: the second caller shares the failure
    assert [type(error) for error in errors] == [ServerError, ServerError]


async def test_an_advisory_refresh_is_not_repeated_by_a_caller_whose_store_read_was_slow(
    fetch: GatedFetch, clock: FakeClock
) -> None:
    store = HeldStore()
    cache = TokenCache(store, "key", fetch, clock=clock)
    await cache.get()  # token-1, valid 1000 s
    clock.now += 800  # 200 s left: the advisory window, not the mandatory one
    values: list[str] = []

    async def caller() -> None:
        values.append((await cache.get()).value)

    async with anyio.create_task_group() as group:
        store.armed = True
        group.start_soon(caller)  # reads token-1, answered late
        await store.reading.wait()
        await caller()  # refreshes to token-2 meanwhile
        store.answer.set()

    assert fetch.calls == 2  # the first token and one refresh
    assert sorted(values) == ["token-2", "token-2"]
