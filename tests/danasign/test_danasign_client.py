"""DanaSignConfig and its wiring into SigningClient."""

from __future__ import annotations

import base64
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from danasign_helpers import TOKEN

import signing_async as sa
from signing_async.danasign import ApiTokens, Contacts, Documents, Templates


def test_config_normalises_and_checks_the_url() -> None:
    config = sa.DanaSignConfig(server_url="https://sign.acme.example/", api_token=TOKEN)
    assert config.base_url == "https://sign.acme.example"
    with pytest.raises(sa.ConfigurationError):
        sa.DanaSignConfig(server_url="http://sign.acme.example", api_token=TOKEN)
    with pytest.raises(sa.ConfigurationError):
        sa.DanaSignConfig(server_url="sign.acme.example", api_token=TOKEN)
    assert sa.DanaSignConfig(server_url="http://127.0.0.1:8080", api_token=TOKEN)
    insecure = sa.DanaSignConfig(
        server_url="http://sign.internal", api_token=TOKEN, allow_insecure=True
    )
    assert insecure.base_url == "http://sign.internal"


def test_config_needs_a_token() -> None:
    with pytest.raises(sa.ConfigurationError) as caught:
        sa.DanaSignConfig(server_url="https://sign.acme.example", api_token="")
    assert "api_token" in str(caught.value)


async def test_namespaces_are_wired() -> None:
    async with sa.SigningClient(
        danasign=sa.DanaSignConfig(server_url="https://sign.acme.example", api_token=TOKEN),
        transport=sa.MockTransport(lambda r: sa.Response(200)),
    ) as client:
        assert isinstance(client.contacts, Contacts)
        assert isinstance(client.documents, Documents)
        assert isinstance(client.templates, Templates)
        assert isinstance(client.api_tokens, ApiTokens)
        assert client.contacts is client.contacts


@pytest.mark.parametrize("namespace", ["contacts", "documents", "templates", "api_tokens"])
async def test_unconfigured_namespace_names_the_missing_config(namespace: str) -> None:
    async with sa.SigningClient(transport=sa.MockTransport(lambda r: sa.Response(200))) as client:
        with pytest.raises(sa.ConfigurationError) as caught:
            getattr(client, namespace)
    assert "DanaSignConfig" in str(caught.value)
    assert namespace in str(caught.value)


async def test_from_env() -> None:
    transport = sa.MockTransport(lambda r: sa.Response(200))
    client = sa.SigningClient.from_env(
        {
            "SIGNING_DANASIGN_SERVER_URL": "https://sign.acme.example",
            "SIGNING_DANASIGN_API_TOKEN": TOKEN,
        },
        transport=transport,
    )
    async with client:
        assert isinstance(client.documents, Documents)
    with pytest.raises(sa.ConfigurationError) as caught:
        sa.SigningClient.from_env({"SIGNING_DANASIGN_SERVER_URL": "https://sign.acme.example"})
    assert "SIGNING_DANASIGN_API_TOKEN" in str(caught.value)


def test_public_names_are_exported() -> None:
    names = [
        "AsyncPager", "Page", "DanaSignConfig", "DocumentStatus", "Signer",
        "IdentityVerification", "Placeholder", "Widget", "Prefill", "PrefillOptions",
        "DocumentSettings", "Bcc", "DocumentMetadata", "TemplateSigner", "TemplateDefault",
        "NewContact", "Contact", "DocumentSummary", "CreatedDocument", "TemplateDocument",
        "TemplateSummary", "Template", "ApiSession", "WhoAmI", "BatchResult",
    ]  # fmt: skip
    for name in names:
        assert name in sa.__all__
        assert getattr(sa, name) is not None
    assert sa.__all__ == sorted(sa.__all__)


async def test_headers_and_body_over_aiohttp_on_loopback(a4_pdf: bytes) -> None:
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append((request.method, request.path, dict(request.headers), await request.read()))
        if request.path == "/api/tokens/whoami":
            return web.json_response({"userId": "u1", "scopes": ["contacts:write"]})
        return web.json_response({"documentId": "d1", "status": "sent"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    async with TestServer(app, host="127.0.0.1") as server:
        config = sa.DanaSignConfig(server_url=str(server.make_url("/")), api_token=TOKEN)
        async with sa.SigningClient(danasign=config, transport=sa.AiohttpTransport()) as client:
            who = await client.api_tokens.whoami()
            document = await client.documents.create(
                file=a4_pdf,
                title="T",
                signers=[{"role": "R", "name": "N", "email": "n@example.com"}],
                placeholders=[
                    {
                        "role": "R",
                        "widgets": [
                            {"type": "signature", "page": 1, "x": 1, "y": 1, "w": 9, "h": 9}
                        ],
                    }
                ],
            )
    assert (who.user_id, document.document_id) == ("u1", "d1")
    (get_method, get_path, get_headers, _), (post_method, post_path, post_headers, content) = seen
    assert (get_method, get_path) == ("GET", "/api/tokens/whoami")
    assert get_headers["x-danassign-api-key"] == TOKEN
    assert "x-api-token" not in get_headers
    assert (post_method, post_path) == ("POST", "/api/1.0/createdocument")
    assert post_headers["x-api-token"] == TOKEN
    assert int(post_headers["Content-Length"]) == len(content)
    assert base64.b64decode(json.loads(content)["file"]) == a4_pdf
