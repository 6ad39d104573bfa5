"""No credential reaches a log record or an exception, whatever happens on the way.

One mixed run through every provider: successes, a rejected token, retried
5xx answers, a read timeout (a latency fault against a short read timeout),
refusals and bad credentials, with the SDK's logger at DEBUG. The secrets
looked for are the configured ones plus the access tokens the sandbox saw in
Authorization headers.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Iterator
from pathlib import Path

import anyio
import pytest

import signing_async as sa
from signing_async.sandbox import Fault, Sandbox, samples

from .support import FAST_RETRY, SIGNER, WAIT, Samples, bearer_tokens

SHORT_READ = sa.Timeout(read=0.2)
SLOW = 0.6  # seconds of injected latency: three times the read timeout


class Raised:
    """Collects every exception the run provokes."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    async def expect(self, kind: type[sa.SigningError], call: Awaitable[object]) -> None:
        with pytest.raises(kind) as caught:
            await call
        self.errors.append(caught.value)


def chain(error: BaseException) -> Iterator[BaseException]:
    """An exception and everything it was raised from or during."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]


async def danaconnect_flow(
    sb: Sandbox, client: sa.SigningClient, raised: Raised, out: Path
) -> None:
    docs = sa.Document(samples.make_pdf(), "c.pdf")
    circuit = await client.circuits.start(id="s-1", signer=SIGNER, docs=docs)
    await raised.expect(
        sa.ConflictError, client.circuits.download_to(circuit.circuit_id, out / "early.zip")
    )
    await sb.complete_circuit(circuit.circuit_id)
    # A rejected token: refreshed and replayed.
    sb.faults.add(Fault(route="danaconnect.start_circuit", status=401, times=1))
    await client.circuits.start(id="s-2", signer=SIGNER, docs=docs)
    # 503 then success; a read timeout then success (a GET is replayed).
    sb.faults.add(Fault(route="danaconnect.download", status=503, times=1))
    await client.circuits.download_to(circuit.circuit_id, out / "a.zip")
    sb.faults.add(Fault(route="danaconnect.download", latency=SLOW, times=1))
    await client.circuits.download_to(circuit.circuit_id, out / "b.zip", timeout=SHORT_READ)
    # A read timeout on a POST: raised, not replayed.
    sb.faults.add(Fault(route="danaconnect.start_circuit", latency=SLOW, times=1))
    await raised.expect(
        sa.RequestTimeout,
        client.circuits.start(id="s-3", signer=SIGNER, docs=docs, timeout=SHORT_READ),
    )
    # A token rejected for good.
    sb.faults.add(Fault(route="danaconnect.start_circuit", status=401))
    await raised.expect(
        sa.AuthenticationError, client.circuits.start(id="s-4", signer=SIGNER, docs=docs)
    )
    sb.faults.clear()
    # Every retry budget spent on 502s.
    sb.faults.add(Fault(route="danaconnect.download", status=502, times=3))
    await raised.expect(
        sa.ServerError, client.circuits.download_to(circuit.circuit_id, out / "c.zip")
    )


async def danasign_flow(
    sb: Sandbox, client: sa.SigningClient, raised: Raised, files: Samples
) -> str:
    session = await client.api_tokens.create_session()
    await client.contacts.create(name="Ana Pérez", email="ana@example.com")
    sb.faults.add(Fault(route="danasign.contacts.list", status=502, times=1))
    assert len([contact async for contact in client.contacts.list()]) == 1
    await raised.expect(
        sa.BadRequestError, client.contacts.create(name="Ana Again", email="ana@example.com")
    )
    readonly = sa.DanaSignConfig(
        server_url=sb.url, api_token=sb.credentials.danasign_readonly_token
    )
    async with sb.client(danasign=readonly, retry=FAST_RETRY) as limited:
        await raised.expect(
            sa.PermissionDeniedError, limited.contacts.create(name="Luis", email="luis@example.com")
        )
    await raised.expect(sa.NotFoundError, client.templates.get("NoSuchTpl0"))
    return session.session_token


async def sofia_flow(
    sb: Sandbox, client: sa.SigningClient, raised: Raised, files: Samples, out: Path
) -> None:
    await client.otp_signatures.create(
        transaction_id="t-1",
        user_selfie=files.jpeg,
        image_front=files.png,
        document_sign=files.contract,
        phone="+573001234567",
        email="ana@example.com",
    )
    right = sb.otp("t-1")
    await raised.expect(
        sa.BadRequestError,
        client.otp_signatures.sign("t-1", "000000" if right != "000000" else "111111"),
    )
    await raised.expect(sa.NotFoundError, client.otp_signatures.sign("t-nowhere", "123456"))
    signature = await client.otp_signatures.sign("t-1", right)
    sb.faults.add(Fault(route="sofia.storage", status=500, times=1))
    await client.otp_signatures.download_signed(signature, out / "signed.pdf")


async def bad_credentials(sb: Sandbox, raised: Raised, files: Samples) -> list[str]:
    wrong = ["wrong-Dc-secret-61", "wrong-Ds-token-62", "wrong-Sofia-secret-63"]
    credentials = sb.credentials
    async with sb.client(
        danaconnect=sa.DanaConnectConfig(
            client_id=credentials.danaconnect_client_id,
            client_secret=wrong[0],
            channel=credentials.channel,
            base_url=sb.url,
            download_base_url=sb.url,
        ),
        danasign=sa.DanaSignConfig(server_url=sb.url, api_token=wrong[1]),
        sofia=sa.SofiaConfig(
            client_id=credentials.sofia_client_id,
            client_secret=wrong[2],
            tenant_id=credentials.sofia_tenant_id,
            base_url=sb.url,
        ),
    ) as client:
        docs = sa.Document(files.terms, "t.pdf")
        await raised.expect(
            sa.AuthenticationError, client.circuits.start(id="w", signer=SIGNER, docs=docs)
        )
        await raised.expect(sa.AuthenticationError, client.api_tokens.whoami())
        await raised.expect(sa.AuthenticationError, client.otp_signatures.sign("t-1", "123456"))
    return wrong


def basic_values(user: str, password: str) -> list[str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return [encoded, f"Basic {encoded}"]


async def test_no_secret_in_logs_or_errors(
    sb: Sandbox,
    files: Samples,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="signing_async")
    raised = Raised()
    out = tmp_path / "out"
    out.mkdir()
    with anyio.fail_after(WAIT):
        async with sb.client(retry=FAST_RETRY) as client:
            await danaconnect_flow(sb, client, raised, out)
            session_token = await danasign_flow(sb, client, raised, files)
            await sofia_flow(sb, client, raised, files, out)
        wrong = await bad_credentials(sb, raised, files)

    credentials = sb.credentials
    access_tokens = bearer_tokens(
        sb.requests_for("danaconnect.start_circuit") + sb.requests_for("danaconnect.download")
    )
    secrets = {
        credentials.danaconnect_client_secret,
        credentials.danasign_api_token,
        credentials.danasign_readonly_token,
        credentials.sofia_client_secret,
        session_token,
        *wrong,
        *access_tokens,
        *basic_values(credentials.danaconnect_client_id, credentials.danaconnect_client_secret),
        *basic_values(credentials.sofia_client_id, credentials.sofia_client_secret),
        *basic_values(credentials.danaconnect_client_id, wrong[0]),
        *basic_values(credentials.sofia_client_id, wrong[2]),
    }

    # The run did what it claims: three access tokens were used (the first,
    # the one after the single 401, the one fetched for the persistent 401's
    # replay), the attempts were logged, and every expected error was raised.
    assert len(set(access_tokens)) == 3
    attempts = [r.getMessage() for r in caplog.records if "attempt" in r.getMessage()]
    assert any("-> 503" in m for m in attempts)
    assert any("-> 401" in m for m in attempts)
    assert any("-> 500" in m for m in attempts)
    assert any("failed after" in m for m in attempts)
    assert len(raised.errors) == 12
    assert (out / "b.zip").exists()
    assert (out / "signed.pdf").exists()

    texts = [caplog.text]
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
    for error in raised.errors:
        for link in chain(error):
            texts += [str(link), repr(link), repr(getattr(link, "body", None))]
    leaked = sorted({secret for secret in secrets for text in texts if secret in text})
    assert leaked == []
