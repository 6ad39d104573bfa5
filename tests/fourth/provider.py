"""A fourth provider that exists only in the tests: "Greeter", which creates greeting cards.

It is what a new provider package holds: a config, an error mapping, one
namespace with one create operation, its bulk spec, and the descriptor that
says all of it. Nothing outside this file knows it; ``register(GREETER)``
is the one line that makes the house use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from signing_async._core.auth import HeaderAuth
from signing_async._core.bodies import json_body
from signing_async._core.endpoint import SEND_JSON, Endpoint
from signing_async._core.error_mapping import ErrorMapper
from signing_async._core.errors import ConflictError
from signing_async._core.provider import BulkSpec, Provider, bulk_method, field_key
from signing_async._core.session import CoreSession
from signing_async._core.settings import require_credentials
from signing_async._core.sources import DocumentSource, load_source
from signing_async._core.timeouts import Timeout
from signing_async._core.urls import check_base_url
from signing_async._core.validation import require_id, require_text

DISPLAY = "Greeter"

ERRORS = ErrorMapper(DISPLAY, codes={"GRT409": ConflictError})


@attrs.frozen
class GreeterConfig:
    """Where Greeter is, and its API key (never shown in ``repr``)."""

    base_url: str
    api_key: str = attrs.field(repr=lambda _: "'***'")

    def __attrs_post_init__(self) -> None:
        require_credentials(self, "api_key")
        check_base_url(self.base_url, "GreeterConfig.base_url")


@attrs.frozen
class NewCard:
    """One card to create: ``create``'s arguments as an item."""

    ref: str
    to: str
    attachment: DocumentSource = attrs.field(repr=False)
    copies: int = 1


@attrs.frozen
class Card:
    """A created card."""

    card_id: str
    ref: str
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


CREATE_MANY = BulkSpec(
    namespace="cards",
    method="create_many",
    operation="create",
    request_type=NewCard,
    result_type=Card,
    key=field_key(NewCard, "ref"),
    label="cards",
    provider=DISPLAY,
    id_field="card_id",
)


class Cards:
    """``client.cards``."""

    create_many = bulk_method(CREATE_MANY)

    def __init__(self, session: CoreSession, config: GreeterConfig) -> None:
        self._endpoint = Endpoint(
            session,
            provider=DISPLAY,
            base_url=config.base_url.rstrip("/"),
            errors=ERRORS,
            auth=HeaderAuth({"X-Key": config.api_key}),
        )

    async def create(
        self,
        *,
        ref: str,
        to: str,
        attachment: DocumentSource,
        copies: int = 1,
        timeout: Timeout | None = None,
    ) -> Card:
        """Create one card."""
        require_id(ref, "ref")
        require_text(to, "to")
        blob = await load_source(attachment, field="attachment", default_name="card.txt")
        chunks = [chunk async for chunk in blob.chunks()]
        call = self._endpoint.call(
            f"create card {ref}",
            "POST",
            "/cards",
            headers=SEND_JSON,
            body=json_body(
                {"ref": ref, "to": to, "copies": copies, "attachment": b"".join(chunks).decode()}
            ),
            timeout=timeout,
        )
        return self._endpoint.decode(call, await self._endpoint.json(call), Card)


GREETER = Provider(
    name="greeter",
    display=DISPLAY,
    config=GreeterConfig,
    errors=ERRORS,
    env_prefix="SIGNING_GREETER_",
    env={"base_url": "URL", "api_key": "KEY"},
    namespaces={"cards": Cards},
    bulk=(CREATE_MANY,),
)
