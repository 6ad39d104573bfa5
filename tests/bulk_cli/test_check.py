"""``signing-async check``: read-only calls against the sandbox and against independent fakes."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from signing_async.sandbox import Sandbox

from ..cli_run import CliResult, run_cli_async
from .cli_support import environment


async def check(env: dict[str, str], *args: str) -> CliResult:
    """``signing-async check ARGS`` in process: no SIGNING_* variable but those of ``env``."""
    return await run_cli_async("check", *args, env=environment(**env))


async def test_every_check_passes_against_the_sandbox() -> None:
    async with Sandbox() as sb:
        c = sb.credentials
        env = {
            "SIGNING_DANACONNECT_CLIENT_ID": c.danaconnect_client_id,
            "SIGNING_DANACONNECT_CLIENT_SECRET": c.danaconnect_client_secret,
            "SIGNING_DANACONNECT_CHANNEL": c.channel,
            "SIGNING_DANACONNECT_BASE_URL": sb.url,
            "SIGNING_DANACONNECT_DOWNLOAD_URL": sb.url,
            "SIGNING_DANASIGN_SERVER_URL": sb.url,
            "SIGNING_DANASIGN_API_TOKEN": c.danasign_api_token,
            "SIGNING_SOFIA_CLIENT_ID": c.sofia_client_id,
            "SIGNING_SOFIA_CLIENT_SECRET": c.sofia_client_secret,
            "SIGNING_SOFIA_TENANT_ID": c.sofia_tenant_id,
            "SIGNING_SOFIA_BASE_URL": sb.url,
        }
        result = await check(env)
        writes = [e.route for e in sb.requests if e.method not in ("GET", "HEAD")]

    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "ok   DANAconnect: token request",
        "ok   DANAsign: whoami",
        "ok   DANAsign: templates, first page",
        "ok   DANAsign: contacts, first page",
        "ok   S.O.F.I.A.: credentials present",
        "ok   S.O.F.I.A.: host reachable",
    ]
    assert "3 templates (total 3)" in lines[2]
    assert writes == ["danaconnect.token"]  # the only POST: asking for a token
    for secret in (c.danasign_api_token, c.danaconnect_client_secret, c.sofia_client_secret):
        assert secret not in result.stdout + result.stderr


@asynccontextmanager
async def fake_provider() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """DANAconnect and DANAsign as their documents describe them, with fields added."""
    seen: list[dict[str, Any]] = []

    async def token(request: web.Request) -> web.Response:
        seen.append({"path": request.path, "authorization": "Authorization" in request.headers})
        return web.json_response(
            {"access_token": "tok-123", "expires_in": 1800, "token_type": "Bearer",
             "scope": "circuits", "refresh_hint": 60}
        )  # fmt: skip

    async def whoami(request: web.Request) -> web.Response:
        if request.headers.get("x-danassign-api-key") != "ds-live-token":
            return web.json_response({"error": "Invalid API token"}, status=405)
        return web.json_response(
            {"data": {"userId": "u-7", "email": "ops@acme.example", "scopes": ["documents:read"],
                      "planTier": "enterprise"}}
        )  # fmt: skip

    async def templates(request: web.Request) -> web.Response:
        rows = [{"objectId": "t1", "Name": "NDA", "Folder": "legal"}]
        return web.json_response(
            {"data": rows, "pagination": {"limit": 5, "skip": 0, "total": 1, "hasMore": False}}
        )

    async def contacts(request: web.Request) -> web.Response:
        # This account's token may not read contacts.
        return web.json_response({"error": "Forbidden: missing scope contacts:read"}, status=403)

    async def root(request: web.Request) -> web.Response:
        seen.append({"path": request.path, "authorization": "Authorization" in request.headers})
        return web.json_response({"message": "Not Found"}, status=404)

    app = web.Application()
    app.router.add_post("/oauth2/token", token)
    app.router.add_get("/api/tokens/whoami", whoami)
    app.router.add_get("/api/1.0/templates", templates)
    app.router.add_get("/api/1.0/contacts", contacts)
    app.router.add_get("/", root)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), seen
    finally:
        await server.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_unknown_fields_and_failures_are_named_against_independent_fakes() -> None:
    async with fake_provider() as (url, seen):
        env = {
            "SIGNING_DANACONNECT_CLIENT_ID": "dc-id",
            "SIGNING_DANACONNECT_CLIENT_SECRET": "dc-live-secret",
            "SIGNING_DANACONNECT_CHANNEL": "acme",
            "SIGNING_DANACONNECT_BASE_URL": url,
            "SIGNING_DANACONNECT_DOWNLOAD_URL": url,
            "SIGNING_DANASIGN_SERVER_URL": url,
            "SIGNING_DANASIGN_API_TOKEN": "ds-live-token",
            "SIGNING_SOFIA_CLIENT_ID": "so-id",
            "SIGNING_SOFIA_CLIENT_SECRET": "so-live-secret",
            "SIGNING_SOFIA_TENANT_ID": "acme",
            "SIGNING_SOFIA_BASE_URL": url,
        }
        plain = await check(env)
        unreachable = await check({**env, "SIGNING_SOFIA_BASE_URL":
                                   f"http://127.0.0.1:{closed_port()}"}, "--json")  # fmt: skip

    assert plain.returncode == 1  # contacts were refused
    token, who, templates, contacts, credentials, host = plain.stdout.splitlines()
    assert token.startswith("ok   DANAconnect: token request (")
    assert "a Bearer token valid 1800 s" in token
    assert token.endswith("fields the SDK does not know: refresh_hint, scope")
    assert "tok-123" not in plain.stdout + plain.stderr
    assert who.endswith("user ops@acme.example; scopes: documents:read;"
                        " fields the SDK does not know: planTier")  # fmt: skip
    assert templates.endswith("1 templates (total 1); fields the SDK does not know: Folder")
    assert contacts.startswith("FAIL DANAsign: contacts, first page (")
    assert "PermissionDeniedError" in contacts
    assert "missing scope contacts:read" in contacts
    assert credentials.startswith("ok   S.O.F.I.A.: credentials present")
    assert "they are not tried" in credentials
    assert host.startswith("ok   S.O.F.I.A.: host reachable (")
    assert "HTTP 404 from GET" in host
    assert {"path": "/", "authorization": False} in seen  # S.O.F.I.A.'s host: no credentials

    assert unreachable.returncode == 1
    findings = [json.loads(line) for line in unreachable.stdout.splitlines()]
    last = findings[-1]
    assert (last["event"], last["check"], last["ok"]) == ("check", "host reachable", False)
    assert "ConnectError" in last["error"]
    assert all(f["ok"] for f in findings[:3])


async def test_nothing_configured_is_bad_usage() -> None:
    result = await check({})
    assert result.returncode == 2
    assert "no provider is configured" in result.stderr
