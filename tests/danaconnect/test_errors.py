"""DANAconnect's error answers become the SDK's exceptions."""

from __future__ import annotations

import pytest

import signing_async as sa

from .fake import FakeDanaConnect, json_response


@pytest.fixture
def retry() -> sa.RetryPolicy:
    """No retries: each scripted answer is final."""
    return sa.RetryPolicy(max_retries=0)


async def start(client: sa.SigningClient, pdf: bytes) -> sa.Circuit:
    signer = {"name": "Ana", "email": "ana@example.com", "nif": "1"}
    return await client.circuits.start(id="42", signer=signer, docs=pdf)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, sa.BadRequestError),
        (401, sa.AuthenticationError),
        (403, sa.PermissionDeniedError),
        (404, sa.NotFoundError),
        (409, sa.ConflictError),
        (429, sa.RateLimitError),
        (500, sa.ServerError),
        (502, sa.ServerError),
        (503, sa.ServerError),
        (504, sa.ServerError),
        (418, sa.APIError),
    ],
)
async def test_status_maps_to_exception(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes, status: int, cls: type
) -> None:
    # 401 is replayed once with a fresh token: script it twice.
    fake.start_script.extend([json_response(status, {"error": "incomplete signer"})] * 2)

    with pytest.raises(cls) as caught:
        await start(client, pdf_bytes)

    error = caught.value
    assert type(error) is cls
    assert isinstance(error, sa.APIError)
    assert isinstance(error, sa.SigningError)
    assert error.status == status
    assert error.provider == "DANAconnect"
    assert error.message == "incomplete signer"
    assert error.body == {"error": "incomplete signer"}
    text = f"DANAconnect start circuit 42 failed with HTTP {status}: incomplete signer"
    # A 500, 502 or 504 does not prove that nothing was done: the error says so.
    assert error.may_have_acted == (status in (500, 502, 504))
    if error.may_have_acted:
        text += " (the request reached the server, which may have carried it out)"
    assert str(error) == text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"message": "channel unknown"}', "channel unknown"),
        (b'{"error": {"message": "nested text"}}', "nested text"),
        (b'{"error_description": "described"}', "described"),
        (b"<html><body>Bad Gateway</body></html>", "<html><body>Bad Gateway</body></html>"),
        (b"plain text failure\n", "plain text failure"),
        (b"\xff\xfe not utf-8", "\ufffd\ufffd not utf-8"),
        (b"", "no error text"),
        (b'["a", "list"]', '["a", "list"]'),
        (b'"just a string"', "just a string"),
    ],
)
async def test_error_text(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes, body: bytes, message: str
) -> None:
    fake.start_script.append(sa.Response(400, content=body))

    with pytest.raises(sa.BadRequestError) as caught:
        await start(client, pdf_bytes)

    assert caught.value.message == message
    assert message in str(caught.value)


async def test_code_and_request_id(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    fake.start_script.append(
        json_response(
            400, {"errorCode": "E12", "error": "bad nif"}, headers={"X-Request-ID": "req-77"}
        )
    )

    with pytest.raises(sa.BadRequestError) as caught:
        await start(client, pdf_bytes)

    assert caught.value.code == "E12"
    assert caught.value.request_id == "req-77"
    assert "HTTP 400 E12: bad nif" in str(caught.value)


async def test_huge_error_body_is_capped(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    fake.start_script.append(sa.Response(500, content=b"x" * (1 << 20)))

    with pytest.raises(sa.ServerError) as caught:
        await start(client, pdf_bytes)

    assert isinstance(caught.value.body, bytes)
    assert len(caught.value.body) == 64 * 1024
    assert len(str(caught.value)) < 500  # 300 characters of the body at most


@pytest.mark.parametrize(
    "answer",
    [
        sa.Response(200, content=b"<html>welcome</html>"),
        sa.Response(201, content=b""),
        json_response(200, ["circuitId", "1"]),
        json_response(200, {"link": "https://x.example/sign/1"}),
        json_response(200, {"circuitId": {"nested": True}}),
    ],
)
async def test_unexpected_success_body_is_a_decode_error(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes, answer: sa.Response
) -> None:
    fake.start_script.append(answer)

    with pytest.raises(sa.ResponseDecodeError, match="start circuit 42"):
        await start(client, pdf_bytes)
    assert len(fake.start_requests) == 1


async def test_non_json_success_body_is_quoted(
    client: sa.SigningClient, fake: FakeDanaConnect, pdf_bytes: bytes
) -> None:
    fake.start_script.append(sa.Response(200, content=b"<html>welcome</html>"))

    with pytest.raises(sa.ResponseDecodeError) as caught:
        await start(client, pdf_bytes)

    assert str(caught.value) == (
        "DANAconnect start circuit 42: the answer is not JSON: '<html>welcome</html>'"
    )
