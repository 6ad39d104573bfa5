"""Provider configs refuse settings that would break or leak through HTTP headers and URLs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import signing_async as sa


@pytest.mark.parametrize(
    "make",
    [
        lambda token: sa.DanaSignConfig(server_url="https://sign.example", api_token=token),
        lambda secret: sa.SofiaConfig(client_id="c", client_secret=secret, tenant_id="t"),
        lambda secret: sa.DanaConnectConfig(
            client_id="c", client_secret=secret, channel="x", subdomain="acme"
        ),
    ],
    ids=["danasign", "sofia", "danaconnect"],
)
def test_a_credential_with_a_line_break_is_refused_without_echoing_it(make: object) -> None:
    with pytest.raises(sa.ConfigurationError) as caught:
        make("s3cret\r\nX-Injected: yes")  # type: ignore[operator]
    assert "control characters" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_a_base_url_with_user_and_password_is_refused_without_echoing_them() -> None:
    with pytest.raises(sa.ConfigurationError) as caught:
        sa.DanaSignConfig(server_url="https://admin:hunter2@sign.example", api_token="t")
    assert "user:password" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_a_blank_setting_is_named() -> None:
    with pytest.raises(sa.ConfigurationError, match=r"SofiaConfig\.tenant_id"):
        sa.SofiaConfig(client_id="c", client_secret="s", tenant_id="  ")


CONFIGS: dict[str, Callable[[str], object]] = {
    "danasign.api_token": lambda v: sa.DanaSignConfig(
        server_url="https://sign.example", api_token=v
    ),
    "sofia.client_secret": lambda v: sa.SofiaConfig(client_id="c", client_secret=v, tenant_id="t"),
    "sofia.client_id": lambda v: sa.SofiaConfig(client_id=v, client_secret="s", tenant_id="t"),
    "danaconnect.client_secret": lambda v: sa.DanaConnectConfig(
        client_id="c", client_secret=v, channel="x", subdomain="acme"
    ),
    "danaconnect.client_id": lambda v: sa.DanaConnectConfig(
        client_id=v, client_secret="s", channel="x", subdomain="acme"
    ),
}


@pytest.mark.parametrize("secret", ["contraseña-ñ-1", "tok\u200b3n", "s3cret\ud800x", "tök€n"])
@pytest.mark.parametrize("where", sorted(CONFIGS))
def test_a_credential_outside_printable_ascii_is_refused_without_echoing_it(
    where: str, secret: str
) -> None:
    # Before, a non-ASCII API token raised UnicodeEncodeError on the first call,
    # with the token itself in the exception's .object.
    with pytest.raises(sa.ConfigurationError) as caught:
        CONFIGS[where](secret)
    error = caught.value
    assert where.split(".")[1] in str(error)
    for shown in (str(error), repr(error), repr(error.args)):
        assert secret not in shown
        assert secret[:5] not in shown
    assert error.__cause__ is None
    assert error.__context__ is None


@pytest.mark.parametrize("channel", [".", "..", "a\x00b", "\x85", "x" * 1025, "a\udcffb"])
def test_a_channel_unfit_for_a_url_path_is_refused(channel: str) -> None:
    with pytest.raises(sa.ConfigurationError, match=r"DanaConnectConfig\.channel"):
        sa.DanaConnectConfig(client_id="c", client_secret="s", channel=channel, subdomain="acme")


@pytest.mark.parametrize("tenant", [".", "x" * 1025, "a\ud800"])
def test_a_tenant_id_unfit_for_an_id_is_refused(tenant: str) -> None:
    with pytest.raises(sa.ConfigurationError, match=r"SofiaConfig\.tenant_id"):
        sa.SofiaConfig(client_id="c", client_secret="s", tenant_id=tenant)


def test_a_channel_with_marks_is_accepted_and_encoded_later() -> None:
    config = sa.DanaConnectConfig(
        client_id="c", client_secret="s", channel="acme/eu?x", subdomain="acme"
    )
    assert config.channel == "acme/eu?x"


@pytest.mark.parametrize(
    "url",
    ["https://sign.example/\x00", "https://sign.example\r\nX: y", "https://sign\ud800.example"],
)
def test_a_base_url_with_controls_or_surrogates_is_refused(url: str) -> None:
    with pytest.raises(sa.ConfigurationError, match="base_url must not contain control"):
        sa.SofiaConfig(client_id="c", client_secret="s", tenant_id="t", base_url=url)


@pytest.mark.parametrize("url", ["https://[::1", "https://sign.example:99999", "https://h:port"])
def test_an_unparsable_base_url_is_a_configuration_error(url: str) -> None:
    # urlsplit raises ValueError for these; the config says which setting is wrong.
    with pytest.raises(sa.ConfigurationError, match=r"SofiaConfig\.base_url is not a valid URL"):
        sa.SofiaConfig(client_id="c", client_secret="s", tenant_id="t", base_url=url)


@pytest.mark.parametrize(
    "options",
    [{"subdomain": 123}, {"download_base_url": 123}, {"subdomain": ["acme"]}],
)
def test_danaconnect_hosts_of_the_wrong_type_are_a_configuration_error(
    options: dict[str, object],
) -> None:
    with pytest.raises(sa.ConfigurationError):
        sa.DanaConnectConfig(client_id="c", client_secret="s", channel="x", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("option", ["danaconnect", "danasign", "sofia", "retry", "timeout"])
def test_a_client_option_of_the_wrong_type_is_refused_when_the_client_is_made(
    option: str,
) -> None:
    # Before, SigningClient(danasign="https://...") was accepted, and the first
    # call failed with an AttributeError.
    with pytest.raises(sa.ConfigurationError, match=f"{option} must be a .* or None, not str"):
        sa.SigningClient(**{option: "https://sign.example"})  # type: ignore[arg-type]


MAKE_CONFIG: dict[str, Callable[..., object]] = {
    "danasign": lambda url, **more: sa.DanaSignConfig(server_url=url, api_token="t", **more),
    "danaconnect": lambda url, **more: sa.DanaConnectConfig(
        client_id=more.pop("client_id", "c"), client_secret="s", channel="x", subdomain="acme",
        base_url=url, **more,
    ),
    "sofia": lambda url, **more: sa.SofiaConfig(
        client_id=more.pop("client_id", "c"), client_secret="s", tenant_id="t", base_url=url,
        **more,
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    "url", ["https://admin:s3cret@[::1/", "https://admin:s3cret@sign.example:99999/?k=s3cret"]
)
@pytest.mark.parametrize("config", sorted(MAKE_CONFIG))
def test_an_unparsable_url_is_refused_without_its_credentials(url: str, config: str) -> None:
    with pytest.raises(sa.ConfigurationError, match="is not a valid URL") as caught:
        MAKE_CONFIG[config](url)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("flag", ["false", "no", 0, 1, None, []])
@pytest.mark.parametrize("config", sorted(MAKE_CONFIG))
def test_allow_insecure_must_be_a_bool(config: str, flag: object) -> None:
    # It is only tested for truth: "false" would have allowed plain http anywhere.
    with pytest.raises(sa.ConfigurationError, match="allow_insecure must be True or False"):
        MAKE_CONFIG[config]("http://sign.acme.example", allow_insecure=flag)


@pytest.mark.parametrize("config", ["danaconnect", "sofia"])
def test_a_basic_user_with_a_colon_is_refused(config: str) -> None:
    # HTTP Basic splits at the first colon: acme:ops + pw would be acme + ops:pw.
    with pytest.raises(sa.ConfigurationError, match=r"client_id must not contain ':'"):
        MAKE_CONFIG[config]("https://127.0.0.1:9", client_id="acme:ops")


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("connect", -1),
        ("read", "60"),
        ("read", True),
        ("write", float("nan")),
        ("read", 10**400),
        ("total", float("inf")),
    ],
)
def test_a_bad_timeout_is_refused_when_made_naming_its_setting(setting: str, value: object) -> None:
    with pytest.raises(sa.ConfigurationError, match=f"Timeout.{setting} must be"):
        sa.Timeout(**{setting: value})  # type: ignore[arg-type]


def test_a_token_store_that_is_not_one_is_refused_when_the_client_is_made() -> None:
    # Found at the first DANAconnect call before, as an AttributeError.
    with pytest.raises(sa.ConfigurationError, match="token_store must be a TokenStore"):
        sa.SigningClient(token_store="redis://tokens.example")  # type: ignore[arg-type]


async def test_the_longest_timeouts_still_serve_a_call() -> None:
    # An answer read whole must arrive within connect + read: past the longest
    # timeout a setting may hold, it was refused mid-call as a Timeout.total.
    transport = sa.MockTransport(
        lambda request: sa.Response(200, content=b'{"data": {"objectId": "c1", "Name": "A"}}')
    )
    config = sa.DanaSignConfig(server_url="http://127.0.0.1:9", api_token="t")
    longest = sa.Timeout(connect=10_000_000, read=10_000_000)
    async with sa.SigningClient(danasign=config, transport=transport, timeout=longest) as client:
        contact = await client.contacts.create(name="A", email="a@example.com")
    assert contact.object_id == "c1"
    assert transport.requests[0].request.timeout.total == 10_000_000
