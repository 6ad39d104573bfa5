"""DanaConnectConfig: hosts, HTTPS, secrets kept out of sight."""

from __future__ import annotations

import attrs
import pytest

import signing_async as sa

from .fake import CLIENT_ID, CLIENT_SECRET


def make(**changes: object) -> sa.DanaConnectConfig:
    arguments: dict[str, object] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "channel": "acme",
        "subdomain": "acme",
        **changes,
    }
    return sa.DanaConnectConfig(**arguments)  # type: ignore[arg-type]


def test_defaults() -> None:
    config = make()
    assert config.api_url == "https://biometric.danaconnect.com"
    assert config.download_url == "https://acme.esignature-platform.com"


def test_download_base_url_wins_and_slashes_are_trimmed() -> None:
    config = make(
        base_url="https://biometric.integrationlayer.com/",
        download_base_url="https://files.example/",
    )
    assert config.api_url == "https://biometric.integrationlayer.com"
    assert config.download_url == "https://files.example"


def test_download_host_is_required() -> None:
    with pytest.raises(sa.ConfigurationError, match="subdomain"):
        make(subdomain=None)
    with pytest.raises(sa.ConfigurationError, match="subdomain"):
        make(subdomain="")


@pytest.mark.parametrize("subdomain", ["evil.example#", "acme/x", "a b", "user@evil.example", "-x"])
def test_subdomain_must_be_a_host_name(subdomain: str) -> None:
    with pytest.raises(sa.ConfigurationError, match="subdomain"):
        make(subdomain=subdomain)


@pytest.mark.parametrize("subdomain", ["acme", "acme-eu", "Acme2", "acme.eu"])
def test_valid_subdomains(subdomain: str) -> None:
    assert make(subdomain=subdomain).download_url == f"https://{subdomain}.esignature-platform.com"


@pytest.mark.parametrize("field", ["client_id", "client_secret", "channel"])
def test_required_fields(field: str) -> None:
    with pytest.raises(sa.ConfigurationError, match=field):
        make(**{field: ""})


@pytest.mark.parametrize("field", ["base_url", "download_base_url"])
def test_plain_http_is_refused(field: str) -> None:
    with pytest.raises(sa.ConfigurationError, match=r"http://") as caught:
        make(**{field: "http://biometric.example.com"})
    assert field in str(caught.value)
    assert make(**{field: "http://biometric.example.com"}, allow_insecure=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "[::1]"])
def test_plain_http_to_loopback_is_allowed(host: str) -> None:
    config = make(base_url=f"http://{host}:8080", download_base_url=f"http://{host}:8081")
    assert config.api_url == f"http://{host}:8080"


@pytest.mark.parametrize("url", ["biometric.danaconnect.com", "ftp://x.example", "https://", ""])
def test_not_a_url(url: str) -> None:
    with pytest.raises(sa.ConfigurationError, match="base_url"):
        make(base_url=url)


def test_repr_hides_the_secret() -> None:
    config = make()
    assert CLIENT_SECRET not in repr(config)
    assert CLIENT_SECRET not in str(config)
    assert "client_secret='***'" in repr(config)
    assert CLIENT_ID in repr(config)


def test_frozen() -> None:
    config = make()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.client_secret = "other"  # type: ignore[misc]


def test_from_env() -> None:
    env = {
        "SIGNING_DANACONNECT_CLIENT_ID": CLIENT_ID,
        "SIGNING_DANACONNECT_CLIENT_SECRET": CLIENT_SECRET,
        "SIGNING_DANACONNECT_CHANNEL": "acme",
        "SIGNING_DANACONNECT_SUBDOMAIN": "acme",
    }
    client = sa.SigningClient.from_env(env, transport=sa.MockTransport(lambda r: sa.Response(500)))
    assert isinstance(client.circuits, sa.danaconnect.Circuits)

    del env["SIGNING_DANACONNECT_CLIENT_SECRET"]
    with pytest.raises(sa.ConfigurationError, match="SIGNING_DANACONNECT_CLIENT_SECRET") as caught:
        sa.SigningClient.from_env(env)
    assert CLIENT_ID not in str(caught.value)


def test_from_env_without_danaconnect() -> None:
    client = sa.SigningClient.from_env({}, transport=sa.MockTransport(lambda r: sa.Response(500)))
    with pytest.raises(sa.ConfigurationError, match="danaconnect"):
        _ = client.circuits
