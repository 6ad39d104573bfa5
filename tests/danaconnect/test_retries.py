"""What is replayed, how often, and what is never replayed."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

import signing_async as sa

from .fake import FakeDanaConnect, json_response

RETRIED_FOR_EVERY_METHOD = [408, 429, 503]
RETRIED_ONLY_WHEN_IDEMPOTENT = [500, 502, 504]


async def outcome_without_waiting(action: Callable[[], Awaitable[object]]) -> BaseException | None:
    """Run ``action`` until every task is blocked; it must be over by then.

    A call sleeping before a retry is blocked without having finished, so this
    tells "raised at once" from "waited, then raised" without a clock.
    """
    outcome: list[BaseException | None] = []

    async def run() -> None:
        try:
            await action()
        except Exception as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        await anyio.wait_all_tasks_blocked()
        group.cancel_scope.cancel()
    assert outcome, "the call was still waiting"
    return outcome[0]


async def start(client: sa.SigningClient, pdf: bytes) -> sa.Circuit:
    signer = {"name": "Ana", "email": "ana@example.com", "nif": "1"}
    return await client.circuits.start(id="1", signer=signer, docs=pdf)


async def test_post_not_replayed_once_sent(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    fake.start_script.append(sa.TransportError("connection reset", request_sent=True))

    with pytest.raises(sa.TransportError) as caught:
        await start(client, pdf_bytes)

    assert caught.value.request_sent is True
    assert "start circuit 1" in str(caught.value)
    assert len(fake.start_requests) == 1


async def test_post_not_replayed_after_read_timeout(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    fake.start_script.append(sa.RequestTimeout("no answer"))

    with pytest.raises(sa.RequestTimeout) as caught:
        await start(client, pdf_bytes)

    assert caught.value.request_sent is True
    assert len(fake.start_requests) == 1


@pytest.mark.parametrize(
    "error", [sa.ConnectError("refused"), sa.RequestTimeout("connect", request_sent=False)]
)
async def test_post_replayed_when_never_sent(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes, error: sa.TransportError
) -> None:
    fake.start_script.append(error)

    circuit = await start(client, pdf_bytes)

    assert circuit.circuit_id == "circ-1"
    assert len(fake.start_requests) == 2
    assert fake.start_requests[0].content == fake.start_requests[1].content


async def test_connect_errors_stop_after_max_retries(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    fake.start_script.extend([sa.ConnectError("refused")] * 5)

    with pytest.raises(sa.ConnectError) as caught:
        await start(client, pdf_bytes)

    assert caught.value.request_sent is False
    assert len(fake.start_requests) == 3


@pytest.mark.parametrize("status", RETRIED_FOR_EVERY_METHOD)
async def test_post_retried_on_status(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes, status: int
) -> None:
    fake.start_script.append(json_response(status, {"error": "try later"}))

    circuit = await start(client, pdf_bytes)

    assert circuit.circuit_id == "circ-1"
    assert len(fake.start_requests) == 2


@pytest.mark.parametrize("status", RETRIED_ONLY_WHEN_IDEMPOTENT)
async def test_post_not_retried_when_the_server_may_have_acted(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes, status: int
) -> None:
    fake.start_script.append(json_response(status, {"error": "boom"}))

    with pytest.raises(sa.ServerError, match="boom") as caught:
        await start(client, pdf_bytes)

    assert caught.value.status == status
    assert caught.value.may_have_acted
    assert "reached the server" in str(caught.value)
    assert len(fake.start_requests) == 1


@pytest.mark.parametrize("status", RETRIED_ONLY_WHEN_IDEMPOTENT)
async def test_get_retried_on_5xx_and_read_timeout(
    client: sa.SigningClient, fake: FakeDanaConnect, tmp_path: Path, status: int
) -> None:
    fake.download_script.extend(
        [json_response(status, {"error": "boom"}), sa.RequestTimeout("no answer")]
    )

    downloaded = await client.circuits.download_to("9", tmp_path / "out.zip")

    assert downloaded.size == len(fake.zip_bytes)
    assert len(fake.download_requests) == 3


@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_max_retries_respected(
    config: sa.DanaConnectConfig,
    transport: sa.MockTransport,
    fake: FakeDanaConnect,
    pdf_bytes: bytes,
    max_retries: int,
) -> None:
    fake.start_script.extend([json_response(503, {"error": "busy"})] * 10)
    policy = sa.RetryPolicy(max_retries=max_retries, backoff_initial=0)

    async with sa.SigningClient(danaconnect=config, transport=transport, retry=policy) as client:
        with pytest.raises(sa.ServerError) as caught:
            await start(client, pdf_bytes)

    assert caught.value.status == 503
    assert len(fake.start_requests) == max_retries + 1


async def test_not_retried_statuses(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    for status in (400, 403, 404, 409, 501):
        fake.start_script.append(json_response(status, {"error": f"no {status}"}))
        with pytest.raises(sa.APIError) as caught:
            await start(client, pdf_bytes)
        assert caught.value.status == status
    assert len(fake.start_requests) == 5


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "0"}, {"retry-after-ms": "0"}, {"Retry-After": "nan"}, {"Retry-After": "x"}],
)
async def test_short_retry_after_is_honoured(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes, headers: dict[str, str]
) -> None:
    fake.start_script.append(json_response(429, {"error": "slow down"}, headers))

    circuit = await start(client, pdf_bytes)

    assert circuit.circuit_id == "circ-1"
    assert len(fake.start_requests) == 2


def _http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@pytest.mark.parametrize(
    ("make_headers", "low", "high"),
    [
        (lambda: {"Retry-After": "61"}, 61, 61),
        (lambda: {"Retry-After": "3600"}, 3600, 3600),
        (lambda: {"retry-after-ms": "90000"}, 90, 90),
        # Built when the test runs, not when it is collected: a long suite
        # would otherwise eat into the ten minutes before this test starts.
        (lambda: {"Retry-After": _http_date(600)}, 500, 600),
    ],
    ids=["seconds", "an-hour", "milliseconds", "http-date"],
)
async def test_long_retry_after_raises_without_waiting(
    client: sa.SigningClient,
    fake: FakeDanaConnect,
    pdf_bytes: bytes,
    make_headers: Callable[[], dict[str, str]],
    low: float,
    high: float,
) -> None:
    fake.start_script.append(json_response(429, {"error": "quota exceeded"}, make_headers()))

    error = await outcome_without_waiting(lambda: start(client, pdf_bytes))

    assert isinstance(error, sa.RateLimitError)
    assert error.retry_after is not None
    assert low <= error.retry_after <= high
    assert "quota exceeded" in str(error)
    assert len(fake.start_requests) == 1


async def test_long_retry_after_on_503_raises_without_waiting(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    fake.start_script.append(json_response(503, {"error": "maintenance"}, {"Retry-After": "120"}))

    error = await outcome_without_waiting(lambda: start(client, pdf_bytes))

    assert isinstance(error, sa.ServerError)
    assert "maintenance" in str(error)
    assert len(fake.start_requests) == 1


@pytest.mark.parametrize(
    ("answer", "policy"),
    [
        (json_response(429, {}, {"Retry-After": "30"}), sa.RetryPolicy(backoff_initial=0)),
        (json_response(503, {}, {"retry-after-ms": "45000"}), sa.RetryPolicy(backoff_initial=0)),
        (json_response(503, {}), sa.RetryPolicy(backoff_initial=30)),
        (sa.ConnectError("refused"), sa.RetryPolicy(backoff_initial=30)),
    ],
)
async def test_waits_before_retrying(
    config: sa.DanaConnectConfig,
    transport: sa.MockTransport,
    fake: FakeDanaConnect,
    pdf_bytes: bytes,
    answer: sa.Response | Exception,
    policy: sa.RetryPolicy,
) -> None:
    # A Retry-After up to 60 s, or a backoff, is waited for: once every task is
    # blocked, the call is still pending after its first attempt.
    fake.start_script.append(answer)
    async with sa.SigningClient(danaconnect=config, transport=transport, retry=policy) as client:
        with pytest.raises(AssertionError, match="still waiting"):
            await outcome_without_waiting(lambda: start(client, pdf_bytes))

    assert len(fake.start_requests) == 1


async def test_rate_limit_after_retries_keeps_retry_after(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    fake.start_script.extend([json_response(429, {}, {"Retry-After": "0"})] * 3)

    with pytest.raises(sa.RateLimitError) as caught:
        await start(client, pdf_bytes)

    assert caught.value.retry_after == 0
    assert len(fake.start_requests) == 3


async def test_every_attempt_is_logged_at_debug(
    client: sa.SigningClient,
    fake: FakeDanaConnect,
    pdf_bytes: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.start_script.extend([sa.ConnectError("refused"), json_response(503, {})])

    with caplog.at_level(logging.DEBUG, logger="signing_async"):
        await start(client, pdf_bytes)

    attempts = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.DEBUG and "start circuit 1: attempt" in r.getMessage()
    ]
    assert len(attempts) == 3
    assert "attempt 1" in attempts[0]
    assert "refused" in attempts[0]
    assert "-> 503" in attempts[1]
    assert "-> 201" in attempts[2]
