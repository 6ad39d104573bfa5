"""``SofiaConfig`` and its wiring into ``SigningClient``."""

from __future__ import annotations

import json

import attrs
import pytest
from sofia_support import (
    API,
    BASIC,
    CLIENT_ID,
    JPEG,
    PDF,
    PNG,
    SECRET,
    TENANT,
    config,
    created,
    json_response,
)

from signing_async import ConfigurationError, MockTransport, Response, SigningClient, SofiaConfig
from signing_async.sofia import OtpSignatures


def test_defaults() -> None:
    settings = SofiaConfig(client_id=CLIENT_ID, client_secret=SECRET, tenant_id=TENANT)
    assert settings.base_url == "https://sandbox-sofiapp.bio.credit"
    assert settings.upload_encoding == "multipart"
    assert settings.allow_insecure is False


def test_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config().client_secret = "other"  # type: ignore[misc]


def test_repr_hides_the_secret() -> None:
    text = repr(config())
    assert SECRET not in text
    assert "client_secret='***'" in text
    assert CLIENT_ID in text


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": ""},
        {"client_secret": ""},
        {"tenant_id": "  "},
        {"client_id": "acme:client"},
        {"upload_encoding": "xml"},
        {"upload_encoding": "Multipart"},
        {"base_url": "sandbox-sofiapp.bio.credit"},
        {"base_url": "ftp://sandbox-sofiapp.bio.credit"},
        {"base_url": "http://sofia.example.com"},
    ],
)
def test_invalid_settings_are_refused(overrides) -> None:
    with pytest.raises(ConfigurationError) as caught:
        config(**overrides)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"upload_encoding": "json"},
        {"base_url": "http://127.0.0.1:8080"},
        {"base_url": "http://localhost:8080/"},
        {"base_url": "http://sofia.internal", "allow_insecure": True},
    ],
)
def test_valid_settings(overrides) -> None:
    settings = config(**overrides)
    assert not settings.api_url.endswith("/")


async def test_client_without_sofia_config_names_it() -> None:
    async with SigningClient(transport=MockTransport(lambda r: Response(500))) as client:
        with pytest.raises(ConfigurationError, match=r"sofia=SofiaConfig"):
            _ = client.otp_signatures


async def test_client_exposes_one_namespace() -> None:
    async with SigningClient(
        sofia=config(), transport=MockTransport(lambda r: Response(500))
    ) as client:
        assert isinstance(client.otp_signatures, OtpSignatures)
        assert client.otp_signatures is client.otp_signatures


async def test_closed_client_refuses_the_namespace() -> None:
    client = SigningClient(sofia=config(), transport=MockTransport(lambda r: Response(500)))
    await client.aclose()
    with pytest.raises(ConfigurationError, match="closed"):
        _ = client.otp_signatures


def _env(**extra: str) -> dict[str, str]:
    return {
        "SIGNING_SOFIA_CLIENT_ID": CLIENT_ID,
        "SIGNING_SOFIA_CLIENT_SECRET": SECRET,
        "SIGNING_SOFIA_TENANT_ID": TENANT,
        **extra,
    }


def _recording() -> MockTransport:
    return MockTransport(lambda request: json_response(201, created()))


async def _create(client: SigningClient) -> None:
    await client.otp_signatures.create(
        transaction_id="txn-987654",
        user_selfie=JPEG,
        image_front=PNG,
        document_sign=PDF,
        phone="3001234567",
        email="user@example.com",
    )


async def test_from_env() -> None:
    transport = _recording()
    base = "https://sofia.acme.example/api/"
    client = SigningClient.from_env(
        _env(SIGNING_SOFIA_BASE_URL=base, SIGNING_SOFIA_UPLOAD_ENCODING="json"),
        transport=transport,
    )
    async with client:
        await _create(client)
    (request,) = transport.requests
    assert request.url == "https://sofia.acme.example/api/create_signature"
    assert request.headers["Authorization"] == BASIC
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content)["tenant_id"] == TENANT


async def test_from_env_defaults() -> None:
    transport = _recording()
    async with SigningClient.from_env(_env(), transport=transport) as client:
        await _create(client)
    (request,) = transport.requests
    assert request.url == f"{API}/create_signature"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")


async def test_from_env_without_sofia_leaves_it_unconfigured() -> None:
    client = SigningClient.from_env({}, transport=MockTransport(lambda r: Response(500)))
    async with client:
        with pytest.raises(ConfigurationError):
            _ = client.otp_signatures


@pytest.mark.parametrize(
    ("drop", "extra", "message"),
    [
        ("SIGNING_SOFIA_CLIENT_SECRET", {}, "SIGNING_SOFIA_CLIENT_SECRET is not set"),
        ("SIGNING_SOFIA_TENANT_ID", {}, "SIGNING_SOFIA_TENANT_ID is not set"),
        (None, {"SIGNING_SOFIA_UPLOAD_ENCODING": "yaml"}, "upload_encoding"),
    ],
)
def test_from_env_incomplete(drop, extra, message) -> None:
    env = _env(**extra)
    if drop is not None:
        del env[drop]
    with pytest.raises(ConfigurationError, match=message) as caught:
        SigningClient.from_env(env, transport=MockTransport(lambda r: Response(500)))
    assert SECRET not in str(caught.value)
