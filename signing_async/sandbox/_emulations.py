"""How the sandbox's emulations meet the provider registry, listed in one place.

Each entry names the registered provider an emulation plays, the settings
that point that provider's config at a running sandbox, and the credentials
line ``signing-async sandbox`` prints. :meth:`Sandbox.client` builds each
config with the registry's config class, so the sandbox keeps no copy of
what a provider is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .. import _providers
from ._state import SandboxCredentials

__all__ = ["EMULATIONS", "Emulation", "configs", "credential_lines"]


@attrs.frozen
class Emulation:
    """One provider the sandbox emulates.

    Attributes:
        provider: The registered provider's name (``"danaconnect"``).
        settings: The config's keyword arguments for a sandbox at a URL.
        shown: The credentials as the sandbox server prints them (sandbox-only values).
    """

    provider: str
    settings: Callable[[str, SandboxCredentials], Mapping[str, Any]]
    shown: Callable[[SandboxCredentials], str]


EMULATIONS: list[Emulation] = [
    Emulation(
        "danaconnect",
        lambda url, c: {
            "client_id": c.danaconnect_client_id,
            "client_secret": c.danaconnect_client_secret,
            "channel": c.channel,
            "base_url": url,
            "download_base_url": url,
        },
        lambda c: (
            f"client_id={c.danaconnect_client_id} "
            f"client_secret={c.danaconnect_client_secret} channel={c.channel}"
        ),
    ),
    Emulation(
        "danasign",
        lambda url, c: {"server_url": url, "api_token": c.danasign_api_token},
        lambda c: f"api_token={c.danasign_api_token} readonly_token={c.danasign_readonly_token}",
    ),
    Emulation(
        "sofia",
        lambda url, c: {
            "client_id": c.sofia_client_id,
            "client_secret": c.sofia_client_secret,
            "tenant_id": c.sofia_tenant_id,
            "base_url": url,
        },
        lambda c: (
            f"client_id={c.sofia_client_id} "
            f"client_secret={c.sofia_client_secret} tenant_id={c.sofia_tenant_id}"
        ),
    ),
]
"""The emulations; one more joins with ``EMULATIONS.append(...)``."""


def configs(url: str, credentials: SandboxCredentials) -> dict[str, Any]:
    """Every emulated provider's config for a sandbox at ``url``, by provider name."""
    return {
        emulation.provider: _providers.lookup(emulation.provider).config(
            **emulation.settings(url, credentials)
        )
        for emulation in EMULATIONS
    }


def credential_lines(credentials: SandboxCredentials) -> list[str]:
    """One ``name: credentials`` line per emulated provider, as the server prints them."""
    return [f"{emulation.provider}: {emulation.shown(credentials)}" for emulation in EMULATIONS]
