"""The session tells a send observer when a request that creates something leaves."""

from __future__ import annotations

from collections.abc import AsyncIterator

from signing_async import MockTransport, Response, RetryPolicy, Timeout
from signing_async._core.error_mapping import ErrorMapper
from signing_async._core.observe import observe_sends
from signing_async._core.session import Call, CoreSession
from signing_async._core.transport import StreamBody
from signing_async.transports._mock import RecordedRequest


class Recorder:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.bytes = 0

    async def sending(self) -> None:
        self.log.append("sending")

    def sent(self, size: int) -> None:
        self.bytes += size


def streamed(data: bytes) -> StreamBody:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 4):
            yield data[start : start + 4]

    return StreamBody(len(data), chunks)


async def test_a_post_is_announced_before_each_attempt_and_its_bytes_counted() -> None:
    log: list[str] = []
    answers = iter([Response(503), Response(200, content=b"{}")])

    def handle(request: RecordedRequest) -> Response:
        log.append(f"{request.method} on the wire")
        return next(answers)

    session = CoreSession(
        MockTransport(handle), retry=RetryPolicy(backoff_initial=0.0), timeout=Timeout()
    )
    recorder = Recorder(log)
    call = Call(
        "P", "create", "POST", "https://api.test/x", ErrorMapper("P"), body=streamed(b"0123456789")
    )
    with observe_sends(recorder):
        assert await session.json(call) == {}
    assert log == ["sending", "POST on the wire", "sending", "POST on the wire"]
    assert recorder.bytes == 20  # the retry sent the body again


async def test_idempotent_calls_and_calls_outside_the_context_are_not_announced() -> None:
    log: list[str] = []
    session = CoreSession(
        MockTransport(lambda request: Response(200, content=b"{}")),
        retry=RetryPolicy(),
        timeout=Timeout(),
    )
    recorder = Recorder(log)
    get = Call("P", "read", "GET", "https://api.test/x", ErrorMapper("P"))
    post = Call("P", "create", "POST", "https://api.test/x", ErrorMapper("P"), body=b"abc")
    with observe_sends(recorder):
        await session.json(get)
    await session.json(post)  # no observer here
    assert log == []
    assert recorder.bytes == 0
