"""Provider configs refuse settings that would break or leak through HTTP headers and URLs."""

from __future__ import annotations

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
