"""``/requests`` — the request log, filterable, with every credential masked."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping

import attrs
from aiohttp import web

from .._log import LoggedRequest
from .._state import STATE_KEY, SandboxCredentials
from ._html import page, table, text

__all__ = ["MASK", "mask_headers", "mask_query", "requests_page"]

MASK = "••••••"

# Header and query names that carry credentials, whatever the provider.
_SECRET_NAME = re.compile(r"auth|token|secret|password|passwd|key|cookie|session|otp", re.I)
_SCHEME = re.compile(r"^(Basic|Bearer|Digest|Token)\s+", re.I)


def _secrets(credentials: SandboxCredentials) -> list[str]:
    """The secret values the sandbox accepts; found anywhere, they are masked."""
    values = attrs.asdict(credentials).values()
    return sorted((v for v in values if isinstance(v, str) and len(v) >= 6), key=len, reverse=True)


def _mask_value(name: str, value: str, secrets: Iterable[str]) -> str:
    if _SECRET_NAME.search(name):
        # The scheme says how the client authenticated and is no secret.
        scheme = _SCHEME.match(value)
        return f"{scheme.group(1)} {MASK}" if scheme else MASK
    for secret in secrets:
        value = value.replace(secret, MASK)
    return value


def mask_headers(
    headers: Iterable[tuple[str, str]], credentials: SandboxCredentials
) -> list[tuple[str, str]]:
    """The headers with every credential replaced by a mask.

    A header whose name speaks of credentials (``Authorization``, any
    ``*token*``, ``*key*``, ``Cookie`` …) keeps only its scheme; any other
    value has the sandbox's own secrets masked wherever they appear.
    """
    secrets = _secrets(credentials)
    return [(name, _mask_value(name, value, secrets)) for name, value in headers]


def mask_query(query: Mapping[str, str], credentials: SandboxCredentials) -> dict[str, str]:
    """The query parameters with credentials masked, as :func:`mask_headers` does."""
    secrets = _secrets(credentials)
    return {name: _mask_value(name, value, secrets) for name, value in query.items()}


def provider_of(route: str) -> str:
    """``danaconnect``, ``danasign``, ``sofia``, ``control`` or ``unmatched``."""
    return route.split(".", 1)[0]


def _select(name: str, label: str, options: Iterable[str], chosen: str) -> str:
    items = '<option value="">all</option>' + "".join(
        f'<option value="{text(o)}"{" selected" if o == chosen else ""}>{text(o)}</option>'
        for o in options
    )
    return (
        f'<p><label for="{name}">{label}</label> '
        f'<select id="{name}" name="{name}">{items}</select></p>'
    )


def _row(entry: LoggedRequest, credentials: SandboxCredentials, clock: float) -> list[str]:
    query = mask_query(entry.query, credentials)
    target = entry.path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    headers = "".join(
        f"<dt>{text(name)}</dt><dd>{text(value)}</dd>"
        for name, value in mask_headers(entry.headers.items(), credentials)
    )
    duration = entry.duration
    return [
        f"{clock - entry.started:.1f} s ago",
        text(entry.method),
        f"<code>{text(target)}</code><details><summary>Headers</summary>"
        f'<dl class="headers">{headers}</dl></details>',
        text(entry.route),
        "dropped" if entry.status is None and duration is not None else text(entry.status or "…"),
        "…" if duration is None else f"{duration * 1000:.0f} ms",
        text(", ".join(entry.faults) or "—"),
    ]


async def requests_page(request: web.Request) -> web.StreamResponse:
    """``GET /requests?provider=&route=`` — newest first."""
    state = request.app[STATE_KEY]
    provider = request.query.get("provider", "")
    route = request.query.get("route", "")
    entries = [
        e
        for e in reversed(state.log.entries)
        if (not provider or provider_of(e.route) == provider) and (not route or e.route == route)
    ]
    routes = sorted(state.faults.known_routes or ())
    providers = sorted({provider_of(r) for r in routes} | {"unmatched"})
    clock = time.monotonic()
    form = (
        '<form method="get" action="/requests" class="filters">'
        "<fieldset><legend>Show only</legend>"
        + _select("provider", "Provider", providers, provider)
        + _select("route", "Route", routes, route)
        + '<p><button>Filter</button> <a href="/requests">Show all</a></p></fieldset></form>'
    )
    body = (
        "<p>Every request the sandbox's APIs received (the console's own pages are not logged),"
        " newest first. Credentials in headers and query strings are masked.</p>"
        + form
        + table(
            f"{len(entries)} of {len(state.log)} requests",
            ("When", "Method", "Path", "Route", "Status", "Took", "Faults applied"),
            (_row(e, state.credentials, clock) for e in entries),
            empty="No requests match." if len(state.log) else "No requests yet.",
        )
    )
    return page("Requests", body, current="/requests")
