"""``signing-async check``: try the SDK against your own provider accounts, read-only.

With the ``SIGNING_*`` variables of a real account, it makes only calls that
change nothing, and prints one line per check: whether it passed, how long
it took and what the answer looked like. Fields the SDK does not know are
named in the line: that is how a live API that differs from its documents
shows up (please report them).

- DANAconnect: a token request (``POST /oauth2/token``).
- DANAsign: ``whoami``, the first page of templates, the first page of contacts.
- S.O.F.I.A.: it offers no read-only call. The check says which credentials
  are set and that the host answers (``GET`` of the base URL, without
  credentials); the credentials themselves are not tried.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import attrs
import click

from .. import _providers
from .._client import SigningClient
from .._core.errors import ConfigurationError, SigningError
from ..sofia._config import DEFAULT_BASE_URL
from ..transports import AiohttpTransport, Request
from ..transports._network import network_from_env
from ._common import FAILED, USAGE, client_from_env, json_option, run_async
from ._output import Output

__all__ = ["check"]


@attrs.frozen
class Finding:
    """What one check found.

    Attributes:
        provider: The provider's display name.
        check: What was tried.
        ok: Whether it passed.
        ms: How long it took, in milliseconds.
        seen: What the answer looked like (never a secret).
        unknown_fields: Fields of the answer the SDK does not know.
        error: Why it failed.
    """

    provider: str
    check: str
    ok: bool
    ms: float
    seen: str = ""
    unknown_fields: tuple[str, ...] = ()
    error: str | None = None


Probe = Callable[[], Awaitable[tuple[str, Iterable[str]]]]


async def _run(provider: str, name: str, probe: Probe) -> Finding:
    started = time.perf_counter()
    try:
        seen, unknown = await probe()
    except SigningError as exc:
        ms = (time.perf_counter() - started) * 1000
        return Finding(provider, name, False, ms, error=f"{type(exc).__name__}: {exc}")
    ms = (time.perf_counter() - started) * 1000
    return Finding(provider, name, True, ms, seen, tuple(sorted(set(unknown))))


def _raw_keys(models: Iterable[Any]) -> list[str]:
    return [str(key) for model in models for key in getattr(model, "raw", {})]


async def _danaconnect(client: SigningClient, env: Mapping[str, str]) -> list[Finding]:
    async def token() -> tuple[str, Iterable[str]]:
        # On purpose outside the token cache: this is the one call being checked.
        answer = await client.circuits._request_token()
        return (
            f"a {answer.token_type} token valid {answer.expires_in:g} s",
            _raw_keys([answer]),
        )

    return [await _run("DANAconnect", "token request", token)]


async def _danasign(client: SigningClient, env: Mapping[str, str]) -> list[Finding]:
    async def whoami() -> tuple[str, Iterable[str]]:
        who = await client.api_tokens.whoami()
        scopes = ", ".join(who.scopes) or "none listed"
        return f"user {who.email or who.user_id or '(not named)'}; scopes: {scopes}", _raw_keys(
            [who]
        )

    async def templates() -> tuple[str, Iterable[str]]:
        page = await client.templates.list(page_size=5).first_page()
        return _page_seen("templates", page.items, page.total, page.has_more), _raw_keys(page.items)

    async def contacts() -> tuple[str, Iterable[str]]:
        page = await client.contacts.list(page_size=5).first_page()
        return _page_seen("contacts", page.items, page.total, page.has_more), _raw_keys(page.items)

    return [
        await _run("DANAsign", "whoami", whoami),
        await _run("DANAsign", "templates, first page", templates),
        await _run("DANAsign", "contacts, first page", contacts),
    ]


def _page_seen(what: str, items: tuple[Any, ...], total: int | None, more: bool) -> str:
    total_text = f"total {total}" if total is not None else "no total"
    return f"{len(items)} {what} ({total_text}{', more pages' if more else ''})"


async def _sofia(client: SigningClient, env: Mapping[str, str]) -> list[Finding]:
    async def credentials() -> tuple[str, Iterable[str]]:
        # client_from_env already refused missing or invalid ones.
        return (
            "client id, client secret and tenant id set (S.O.F.I.A. has no read-only call:"
            " they are not tried)",
            (),
        )

    base = env.get("SIGNING_SOFIA_BASE_URL") or DEFAULT_BASE_URL

    async def reachable() -> tuple[str, Iterable[str]]:
        transport = AiohttpTransport(**network_from_env(env))
        try:
            response = await transport.send(Request("GET", base))
            await response.read()
        finally:
            await transport.aclose()
        return f"HTTP {response.status} from GET {base} (sent without credentials)", ()

    return [
        await _run("S.O.F.I.A.", "credentials present", credentials),
        await _run("S.O.F.I.A.", "host reachable", reachable),
    ]


_PROBES: dict[str, Callable[[SigningClient, Mapping[str, str]], Awaitable[list[Finding]]]] = {
    "danaconnect": _danaconnect,
    "danasign": _danasign,
    "sofia": _sofia,
}
"""The read-only checks of each provider, by its registered name."""


def _line(finding: Finding) -> str:
    head = f"{'ok  ' if finding.ok else 'FAIL'} {finding.provider}: {finding.check}"
    head += f" ({finding.ms:.0f} ms)"
    if not finding.ok:
        return f"{head}: {finding.error}"
    line = f"{head}: {finding.seen}"
    if finding.unknown_fields:
        line += f"; fields the SDK does not know: {', '.join(finding.unknown_fields)}"
    return line


@click.command("check")
@json_option
@run_async
async def check(out: Output) -> int:
    """Check the configured provider accounts with read-only calls.

    For each provider whose SIGNING_* variables are set: DANAconnect, a token
    request; DANAsign, whoami and the first page of templates and of contacts;
    S.O.F.I.A. (which has no read-only call), that its credentials are set and
    its host answers. One line per check, with its time and what the answer
    looked like, naming any field the SDK does not know.

    Exit status: 0 every check passed, 1 one failed, 2 no provider configured.
    """
    env = os.environ
    # The providers this command knows how to probe, as the registry describes them.
    known = [provider for provider in _providers.providers() if provider.name in _PROBES]
    configured = [provider for provider in known if env.get(provider.env_switch)]
    if not configured:
        switches = ", ".join(provider.env_switch for provider in known)
        out.error(
            f"no provider is configured: set {switches} and their companions (see the README)"
        )
        return USAGE
    findings: list[Finding] = []
    for provider in configured:
        name = provider.display
        try:
            client = client_from_env(provider.name)
        except ConfigurationError as exc:
            findings.append(Finding(name, "configuration", False, 0.0, error=str(exc)))
            _report(out, findings[-1])
            continue
        async with client:
            found = await _PROBES[provider.name](client, env)
        for finding in found:
            _report(out, finding)
        findings.extend(found)
    return 0 if all(finding.ok for finding in findings) else FAILED


def _report(out: Output, finding: Finding) -> None:
    if out.json_mode:
        out.emit({"event": "check", **attrs.asdict(finding)})
    else:
        print(_line(finding), flush=True)
