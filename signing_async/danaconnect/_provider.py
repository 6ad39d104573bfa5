"""DANAconnect as the rest of the house sees it: one :class:`Provider`."""

from __future__ import annotations

from .._core.provider import Provider
from ._circuits import START_MANY, Circuits
from ._config import DanaConnectConfig
from ._errors import ERRORS, PROVIDER

__all__ = ["DANACONNECT"]


DANACONNECT = Provider(
    name="danaconnect",
    display=PROVIDER,
    config=DanaConnectConfig,
    errors=ERRORS,
    env_prefix="SIGNING_DANACONNECT_",
    env={
        "client_id": "CLIENT_ID",
        "client_secret": "CLIENT_SECRET",
        "channel": "CHANNEL",
        "subdomain": "SUBDOMAIN",
        "base_url": "BASE_URL",
        "download_base_url": "DOWNLOAD_URL",
    },
    namespaces={"circuits": Circuits},
    bulk=(START_MANY,),
)
"""DANAconnect biometric circuits (``client.circuits``)."""
