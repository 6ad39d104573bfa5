"""The console's pages over HTTP: escaping, masking, form errors, the state they change."""

from __future__ import annotations

import aiohttp
import pytest

import signing_async as sa
from signing_async.sandbox import Fault, Sandbox, samples

PDF = samples.make_pdf(text="Console")
HOSTILE = "<script>alert(1)</script>"


async def page(http: aiohttp.ClientSession, url: str) -> tuple[int, str, aiohttp.ClientResponse]:
    async with http.get(url) as response:
        return response.status, await response.text(), response


async def post(
    http: aiohttp.ClientSession, url: str, data: dict[str, str], **headers: str
) -> tuple[int, str, str | None]:
    async with http.post(url, data=data, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers.get("Location")


async def start_circuit(sb: Sandbox, circuit_id: str) -> sa.Circuit:
    async with sb.client() as client:
        return await client.circuits.start(
            id=circuit_id,
            signer=sa.CircuitSigner(name="Ana", email="ana@example.com", nif="1"),
            docs=sa.Document(PDF, "a.pdf"),
        )


async def create_document(sb: Sandbox, title: str, *, in_order: bool) -> sa.CreatedDocument:
    signers = [
        sa.Signer(role="Client", name=HOSTILE, email="ana@example.com"),
        sa.Signer(role="Provider", name="Luis", email="luis@example.com"),
    ]
    widget = sa.Widget(type="signature", page=1, x=72, y=520, w=220, h=60)
    async with sb.client() as client:
        return await client.documents.create(
            file=PDF,
            title=title,
            signers=signers,
            placeholders=[sa.Placeholder(role=s.role, widgets=[widget]) for s in signers],
            settings=sa.DocumentSettings(send_in_order=in_order),
        )


async def test_hostile_titles_and_names_show_as_text(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    async with sb.client() as client:
        circuit = await client.circuits.start(
            id=HOSTILE,
            signer=sa.CircuitSigner(name=HOSTILE, email="ana@example.com", nif="1"),
            docs=sa.Document(PDF, f"{HOSTILE}.pdf"),
        )
    document = await create_document(sb, HOSTILE, in_order=False)
    for url in (
        f"{sb.url}/",
        circuit.link,
        f"{sb.url}/sign/danasign/{document.document_id}/Client",
    ):
        status, text, response = await page(http, url)
        assert status == 200, url
        assert "<script>" not in text, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, url
        assert "script-src" not in response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]


async def test_the_request_log_masks_every_credential(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    async with sb.client() as client:
        await client.contacts.create(name="Ana", email="ana@example.com")
        await client.circuits.start(
            id="c-1",
            signer=sa.CircuitSigner(name="Ana", email="ana@example.com", nif="1"),
            docs=sa.Document(PDF, "a.pdf"),
        )
    async with http.get(f"{sb.url}/_storage/uploads/x?token=sofia-secret") as response:
        assert response.status == 404
    status, text, _ = await page(http, f"{sb.url}/requests")
    assert status == 200
    creds = sb.credentials
    for secret in (
        creds.danasign_api_token,
        creds.danaconnect_client_secret,
        creds.sofia_client_secret,
    ):
        assert secret not in text
    assert "Basic ••••••" in text  # the token request's client credentials
    assert "Bearer ••••••" in text  # the circuit's access token
    assert "x-api-token" in text.lower()
    assert "token=••••••" in text
    # The console's own page views are not in the log it shows.
    assert not [entry for entry in sb.requests if entry.path == "/requests"]


async def test_the_request_log_filters_by_provider_and_route(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    async with sb.client() as client:
        await client.contacts.create(name="Ana", email="ana@example.com")
    async with http.get(f"{sb.url}/no/such/path") as response:
        assert response.status == 404
    _, text, _ = await page(http, f"{sb.url}/requests?provider=danasign")
    assert "/api/1.0/contacts" in text
    assert "/no/such/path" not in text
    _, text, _ = await page(http, f"{sb.url}/requests?route=unmatched")
    assert "/no/such/path" in text
    assert "/api/1.0/contacts" not in text


@pytest.mark.parametrize(
    ("fields", "message", "field"),
    [
        (
            {"route": "*", "status": "abc"},
            "status: must be a whole number, got &#x27;abc&#x27;",
            "status",
        ),
        ({"route": "*", "status": "99"}, "status must be an HTTP status code", "status"),
        ({"route": "nope", "status": "503"}, "route: choose one of the listed routes", "route"),
        ({"route": "*", "probability": "2"}, "probability must be within [0, 1]", "probability"),
        ({"route": "*", "status": "503", "drop": "before"}, "either answers a status", "drop"),
        ({"route": "*", "latency": "2", "latency_max": "1"}, "latency range", "latency_max"),
    ],
)
async def test_the_faults_form_names_the_wrong_field(
    sb: Sandbox, http: aiohttp.ClientSession, fields: dict[str, str], message: str, field: str
) -> None:
    status, text, _ = await post(http, f"{sb.url}/faults", fields)
    assert status == 400
    assert message in text
    assert f'id="f-{field}"' in text
    assert f'aria-describedby="{field}-error" aria-invalid="true"' in text
    assert len(sb.faults) == 0


async def test_the_faults_form_arms_and_removes_like_the_control_route(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    fields = {"route": "danasign.contacts.create", "status": "503", "retry_after": "1"}
    status, _, location = await post(http, f"{sb.url}/faults", {**fields, "times": "2"})
    assert (status, location) == (303, "/faults")
    async with http.get(f"{sb.url}/_sandbox/faults") as response:
        (armed,) = (await response.json())["faults"]
    expected = Fault(route="danasign.contacts.create", status=503, retry_after=1.0, times=2)
    assert armed == expected.to_json()
    status, _, _ = await post(http, f"{sb.url}/faults/remove", {"index": "0"})
    assert status == 303
    assert len(sb.faults) == 0


@pytest.mark.parametrize("number", ["²", "1" * 5000], ids=["superscript", "5000-digits"])
async def test_a_number_int_refuses_is_not_a_server_error(
    sb: Sandbox, http: aiohttp.ClientSession, number: str
) -> None:
    # "²".isdigit() is true and int("²") raises, as int() does past 4,300
    # digits: each page answers as for a bad number.
    circuit = await start_circuit(sb, "c-1")
    status, _, _ = await page(http, f"{sb.url}/?refresh={number}")
    assert status == 200
    documents = f"{sb.url}/console/circuits/{circuit.circuit_id}/documents"
    status, _, _ = await page(http, f"{documents}/{number}")
    assert status == 404
    await post(http, f"{sb.url}/faults", {"route": "*", "status": "503", "times": "1"})
    status, _, location = await post(http, f"{sb.url}/faults/remove", {"index": number})
    assert (status, location) == (303, "/faults")
    assert len(sb.faults) == 1  # nothing removed


async def test_forms_from_another_site_are_refused(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    fields = {"route": "*", "status": "503"}
    status, text, _ = await post(
        http, f"{sb.url}/faults", fields, **{"Sec-Fetch-Site": "cross-site"}
    )
    assert status == 403
    assert "own pages only" in text
    status, _, _ = await post(http, f"{sb.url}/faults", fields, Origin="http://evil.example")
    assert status == 403
    assert len(sb.faults) == 0


async def test_danasign_signers_sign_in_order_and_a_refusal_declines(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    document = await create_document(sb, "Lease", in_order=True)
    base = f"{sb.url}/sign/danasign/{document.document_id}"
    status, text, _ = await post(http, f"{base}/Provider", {"action": "sign"})
    assert status == 409
    assert "signers sign in order: Client signs first" in text
    status, _, location = await post(http, f"{base}/Client", {"action": "sign"})
    assert (status, location) == (303, f"/sign/danasign/{document.document_id}/Client")
    status, _, _ = await post(http, f"{base}/Provider", {"action": "decline"})
    assert status == 303
    async with sb.client() as client:
        declined = [d.document_id async for d in client.documents.list("declined")]
    assert declined == [document.document_id]
    status, text, _ = await post(http, f"{base}/Client", {"action": "sign"})
    assert status == 409
    assert "Client has already signed" in text


async def test_a_declined_circuit_cannot_be_downloaded(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    circuit = await start_circuit(sb, "c-9")
    async with sb.client() as client:
        status, _, _ = await post(http, circuit.link, {"action": "decline"})
        assert status == 303
        with pytest.raises(sa.ConflictError, match="declined by the signer"):
            async with client.circuits.download(circuit.circuit_id):
                pass
    status, text, _ = await page(http, circuit.link)
    assert "The signer declined these documents." in text
    status, _, _ = await post(http, circuit.link, {"action": "shrug"})
    assert status == 400


def test_no_provider_emulation_imports_the_console() -> None:
    import ast
    from pathlib import Path

    import signing_async.sandbox as package

    root = Path(package.__file__).parent
    emulations = [root / "_danaconnect.py", root / "_sofia.py", *(root / "danasign").glob("*.py")]
    assert len(emulations) > 5
    for path in emulations:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert "console" not in (node.module or ""), path
            elif isinstance(node, ast.Import):
                assert not any("console" in alias.name for alias in node.names), path
