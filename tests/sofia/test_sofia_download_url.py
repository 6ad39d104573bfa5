"""A signed-document URL with non-ASCII text goes out percent-encoded, never raw."""

from __future__ import annotations

from pathlib import Path

import pytest

import signing_async as sa
from signing_async.transports import RecordedRequest


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("¡", "http://127.0.0.1:9/%C2%A1"),
        ("signed/a b.pdf?name=é", "http://127.0.0.1:9/signed/a%20b.pdf?name=%C3%A9"),
        ("signed/1.pdf?sig=abc%2F", "http://127.0.0.1:9/signed/1.pdf?sig=abc%2F"),
    ],
)
async def test_the_url_is_sent_as_ascii(tmp_path: Path, given: str, sent: str) -> None:
    urls: list[str] = []

    def handler(request: RecordedRequest) -> sa.Response:
        urls.append(request.url)
        return sa.Response(
            200, content=b"%PDF-1.4 signed", headers={"Content-Type": "application/pdf"}
        )

    config = sa.SofiaConfig(
        client_id="id", client_secret="secret", tenant_id="t", base_url="http://127.0.0.1:9"
    )
    async with sa.SigningClient(sofia=config, transport=sa.MockTransport(handler)) as client:
        await client.otp_signatures.download_signed(given, tmp_path / "signed.pdf")

    assert urls == [sent]


async def test_a_host_that_is_not_ascii_is_refused(tmp_path: Path) -> None:
    def handler(request: RecordedRequest) -> sa.Response:
        raise AssertionError("nothing may be sent")

    config = sa.SofiaConfig(
        client_id="id", client_secret="secret", tenant_id="t", base_url="http://127.0.0.1:9"
    )
    async with sa.SigningClient(sofia=config, transport=sa.MockTransport(handler)) as client:
        with pytest.raises(sa.ValidationError, match="signature_or_url"):
            await client.otp_signatures.download_signed(
                "https://é.example/x.pdf", tmp_path / "s.pdf"
            )
