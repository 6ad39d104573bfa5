"""DANAconnect as the rest of the house sees it: one :class:`Provider`."""

from __future__ import annotations

from collections.abc import Mapping

from .._core.provider import Provider, require_env
from ._circuits import START_MANY, Circuits
from ._config import DEFAULT_BASE_URL, DanaConnectConfig
from ._errors import ERRORS, PROVIDER

__all__ = ["DANACONNECT"]


def _from_env(env: Mapping[str, str]) -> DanaConnectConfig:
    return DanaConnectConfig(
        client_id=require_env(env, "SIGNING_DANACONNECT_CLIENT_ID"),
        client_secret=require_env(env, "SIGNING_DANACONNECT_CLIENT_SECRET"),
        channel=require_env(env, "SIGNING_DANACONNECT_CHANNEL"),
        subdomain=env.get("SIGNING_DANACONNECT_SUBDOMAIN"),
        base_url=env.get("SIGNING_DANACONNECT_BASE_URL") or DEFAULT_BASE_URL,
        download_base_url=env.get("SIGNING_DANACONNECT_DOWNLOAD_URL"),
    )


DANACONNECT = Provider(
    name="danaconnect",
    display=PROVIDER,
    config=DanaConnectConfig,
    errors=ERRORS,
    env_prefix="SIGNING_DANACONNECT_",
    env_switch="SIGNING_DANACONNECT_CLIENT_ID",
    from_env=_from_env,
    namespaces={"circuits": Circuits},
    bulk=(START_MANY,),
)
"""DANAconnect biometric circuits (``client.circuits``)."""
