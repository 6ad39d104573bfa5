"""DANAsign as the rest of the house sees it: one :class:`Provider`."""

from __future__ import annotations

from collections.abc import Mapping

from .._core.provider import Provider, require_env
from ._api_tokens import ApiTokens
from ._config import DanaSignConfig
from ._contacts import CREATE_MANY as CREATE_CONTACTS
from ._contacts import Contacts
from ._documents import CREATE_MANY, Documents
from ._errors import ERRORS, PROVIDER
from ._templates import Templates

__all__ = ["DANASIGN"]


def _from_env(env: Mapping[str, str]) -> DanaSignConfig:
    return DanaSignConfig(
        server_url=require_env(env, "SIGNING_DANASIGN_SERVER_URL"),
        api_token=require_env(env, "SIGNING_DANASIGN_API_TOKEN"),
    )


DANASIGN = Provider(
    name="danasign",
    display=PROVIDER,
    config=DanaSignConfig,
    errors=ERRORS,
    env_prefix="SIGNING_DANASIGN_",
    env_switch="SIGNING_DANASIGN_SERVER_URL",
    from_env=_from_env,
    namespaces={
        "contacts": Contacts,
        "documents": Documents,
        "templates": Templates,
        "api_tokens": ApiTokens,
    },
    # Documents first: the bulk method ``bulk-send --provider danasign`` uses.
    bulk=(CREATE_MANY, CREATE_CONTACTS),
)
"""DANAsign documents, templates, contacts and API tokens."""
