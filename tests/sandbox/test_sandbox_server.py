"""The Sandbox object, the request log, in-flight counts, control routes and the CLI."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from sandbox_helpers import TokenFactory, basic

from signing_async.sandbox import Fault, Sandbox, serve


async def test_urls_and_credentials(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    assert sb.url == f"http://127.0.0.1:{sb.port}"
    assert sb.port > 0
    assert sb.storage_url == f"http://localhost:{sb.port}"
    async with http.get(f"{sb.storage_url}/_sandbox/requests") as response:
        assert response.status == 200
    creds = sb.credentials
    assert (creds.danaconnect_client_id, creds.channel) == ("sandbox-client", "sandbox")
    assert creds.danasign_api_token == "sandbox-api-token"
    assert creds.danasign_readonly_token == "sandbox-readonly-token"
    assert (creds.sofia_client_id, creds.sofia_tenant_id) == ("sofia-client", "sandbox-tenant")
    assert "secret" not in repr(creds)
    assert "token" not in repr(creds).replace("_token", "")


async def test_not_started_and_double_start() -> None:
    sandbox = Sandbox()
    with pytest.raises(RuntimeError, match="not started"):
        _ = sandbox.url
    async with sandbox:
        with pytest.raises(RuntimeError, match="already started"):
            await sandbox.start()
    assert repr(sandbox).startswith("<Sandbox http://127.0.0.1:")


async def test_request_log_records_each_request(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    creds = sb.credentials
    body = "grant_type=client_credentials"
    async with http.post(
        f"{sb.url}/oauth2/token?trace=1&trace=2",
        data=body,
        headers={
            "Authorization": basic(creds.danaconnect_client_id, creds.danaconnect_client_secret),
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Custom": "kept",
        },
    ) as response:
        assert response.status == 200
    async with http.get(f"{sb.url}/no/such/path") as response:
        assert response.status == 404
    token, unmatched = sb.requests
    assert token.route == "danaconnect.token"
    assert (token.method, token.path, token.query) == ("POST", "/oauth2/token", {"trace": "1"})
    assert token.headers["X-Custom"] == "kept"
    assert token.headers["x-custom"] == "kept"  # looked up like HTTP does: any case
    assert token.headers["Authorization"].startswith("Basic ")
    assert token.status == 200
    assert token.body_size == len(body)
    assert token.in_flight == 1
    assert token.finished is not None
    assert token.started <= token.finished
    assert token.external_id is None
    assert (unmatched.route, unmatched.status) == ("unmatched", 404)
    assert sb.requests_for("danaconnect.token") == [token]


async def test_max_in_flight_per_route_and_overall(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    # The latency holds every request open long enough for all to overlap.
    sb.faults.add(Fault(route="danaconnect.token", latency=0.5))
    await asyncio.gather(*(http.post(f"{sb.url}/oauth2/token") for _ in range(5)))
    async with http.get(f"{sb.url}/_sandbox/requests") as response:
        data = await response.json()
    assert sb.max_in_flight("danaconnect.token") == 5
    assert sb.max_in_flight() == 5
    assert sb.max_in_flight("danasign.whoami") == 0
    assert sorted(e.in_flight for e in sb.requests_for("danaconnect.token")) == [1, 2, 3, 4, 5]
    assert data["max_in_flight"] == 5
    assert data["max_in_flight_by_route"]["danaconnect.token"] == 5
    assert all("headers" not in entry for entry in data["requests"])
    assert [entry["route"] for entry in data["requests"]] == ["danaconnect.token"] * 5 + ["control"]


async def test_faults_over_http(sb: Sandbox, http: aiohttp.ClientSession) -> None:
    async with http.post(
        f"{sb.url}/_sandbox/faults",
        json={"route": "danaconnect.token", "status": 429, "retry_after": 3, "latency": [0, 0.01]},
    ) as response:
        assert response.status == 201
        assert (await response.json())["fault"]["latency"] == [0, 0.01]
    async with http.get(f"{sb.url}/_sandbox/faults") as response:
        (fault,) = (await response.json())["faults"]
        assert (fault["route"], fault["status"]) == ("danaconnect.token", 429)
    async with http.post(f"{sb.url}/oauth2/token") as response:
        assert (response.status, response.headers["Retry-After"]) == (429, "3")
    for bad in ({"colour": "red"}, {"drop": "never"}, {"latency": [1, 2, 3]}, [1]):
        async with http.post(f"{sb.url}/_sandbox/faults", json=bad) as response:
            assert response.status == 400
            assert "error" in await response.json()
    async with http.delete(f"{sb.url}/_sandbox/faults") as response:
        assert await response.json() == {"cleared": 1}
    assert len(sb.faults) == 0


async def test_token_lifetime_over_http_and_property(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{sb.url}/_sandbox/token_lifetime", json={"seconds": 2}) as response:
        assert await response.json() == {"seconds": 2}
    assert sb.token_lifetime == 2.0
    for bad in ({"seconds": 0}, {"seconds": "2"}, {"seconds": True}, {}):
        async with http.post(f"{sb.url}/_sandbox/token_lifetime", json=bad) as response:
            assert response.status == 400
    with pytest.raises(ValueError, match="token_lifetime"):
        sb.token_lifetime = -1


async def test_reset_clears_state_log_faults_and_lifetime(
    sb: Sandbox, http: aiohttp.ClientSession, dc_token: TokenFactory
) -> None:
    token = await dc_token()
    sb.token_lifetime = 5
    sb.faults.add(Fault(route="danasign.whoami", status=500))
    async with http.post(f"{sb.url}/_sandbox/reset") as response:
        assert await response.json() == {"reset": True}
    assert sb.requests == []  # the reset call's own entry went with the rest
    assert len(sb.faults) == 0
    assert sb.token_lifetime == 3600
    async with http.post(
        f"{sb.url}/api/v1/biometric/start_circuit/sandbox",
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert (response.status, await response.json()) == (401, {"error": "invalid token"})
    assert len(sb.requests) == 1
    sb.reset()
    assert sb.requests == []


async def test_serve_prints_lines_writes_ready_file_and_stops(tmp_path: Path) -> None:
    ready = tmp_path / "ready.txt"
    out = io.StringIO()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(port=0, ready_file=ready, stop=stop, out=out))
    for _ in range(500):
        if ready.exists() or task.done():
            break
        await asyncio.sleep(0.01)
    url = ready.read_text().strip()
    async with aiohttp.ClientSession() as session, session.get(f"{url}/_sandbox/faults") as r:
        assert r.status == 200
    stop.set()
    await task
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"sandbox listening on {url}")
    assert any("client_secret=sandbox-secret" in line for line in lines)
    assert any("api_token=sandbox-api-token" in line for line in lines)
    assert any("tenant_id=sandbox-tenant" in line for line in lines)
    assert not ready.exists()


async def test_module_runs_as_a_server_until_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "signing_async.sandbox",
        "--port",
        "0",
        "--token-lifetime",
        "2.5",
        "--ready-file",
        str(ready),
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        for _ in range(1000):
            if ready.exists() or process.returncode is not None:
                break
            await asyncio.sleep(0.01)
        url = ready.read_text().strip()
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{url}/oauth2/token",
                data={"grant_type": "client_credentials"},
                headers={"Authorization": basic("sandbox-client", "sandbox-secret")},
            ) as response,
        ):
            assert (await response.json())["expires_in"] == 2.5
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        stdout, _ = await process.communicate()
    assert process.returncode == 0
    assert stdout.decode().splitlines()[0].startswith(f"sandbox listening on {url}")
