"""DANAsign as the rest of the house sees it: one :class:`Provider`."""

from __future__ import annotations

from .._core.provider import Provider
from ._api_tokens import ApiTokens
from ._config import DanaSignConfig
from ._contacts import CREATE_MANY as CREATE_CONTACTS
from ._contacts import Contacts
from ._documents import CREATE_MANY, Documents
from ._errors import ERRORS, PROVIDER
from ._templates import Templates

__all__ = ["DANASIGN"]


DANASIGN = Provider(
    name="danasign",
    display=PROVIDER,
    config=DanaSignConfig,
    errors=ERRORS,
    env_prefix="SIGNING_DANASIGN_",
    env={"server_url": "SERVER_URL", "api_token": "API_TOKEN"},
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
