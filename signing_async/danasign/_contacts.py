"""``client.contacts``: DANAsign's address book."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._core.bodies import json_body
from .._core.errors import ValidationError
from .._core.pagination import AsyncPager
from .._core.serde import encode
from .._core.session import CoreSession
from .._core.timeouts import Timeout
from ._checks import check_contact
from ._config import DanaSignConfig
from ._models import BatchResult, Contact
from ._requests import NewContact
from ._wire import Wire

__all__ = ["Contacts"]


def _batch_entry(contact: NewContact) -> dict[str, str]:
    # The batch endpoint, unlike the single one, wants PascalCase keys.
    entry = {"Name": contact.name, "Email": contact.email}
    if contact.phone is not None:
        entry["Phone"] = contact.phone
    return entry


class Contacts:
    """Create and list contacts (scope ``contacts:write``).

    Obtained as ``client.contacts``.
    """

    def __init__(self, session: CoreSession, config: DanaSignConfig) -> None:
        self._wire = Wire(session, config)

    async def create(
        self, *, name: str, email: str, phone: str | None = None, timeout: Timeout | None = None
    ) -> Contact:
        """Create one contact.

        A failure after the request may have reached the server is not
        replayed (it could create the contact twice).

        Args:
            name: Full name.
            email: E-mail address.
            phone: Phone number.
            timeout: Overrides the client's timeouts for this call.

        Returns:
            The new contact, with its ``object_id``.

        Raises:
            ValidationError: Empty name, invalid e-mail; nothing was sent.
            PermissionDeniedError: The token lacks ``contacts:write``.
        """
        contact = check_contact(NewContact(name=name, email=email, phone=phone), "")
        operation = "create contact"
        answer = await self._wire.call(
            operation, "POST", "/api/1.0/contacts", body=json_body(encode(contact)), timeout=timeout
        )
        return self._wire.decode(answer.content, Contact, operation)

    async def create_batch(
        self,
        contacts: Iterable[NewContact | Mapping[str, Any]],
        *,
        timeout: Timeout | None = None,
    ) -> BatchResult:
        """Create several contacts in one request.

        Args:
            contacts: :class:`NewContact` s or mappings with ``name``, ``email``
                and optionally ``phone``.
            timeout: Overrides the client's timeouts for this call.

        Returns:
            How many were created and how many failed.

        Raises:
            ValidationError: No contacts, or one is invalid (``contacts[2].email``);
                nothing was sent.
        """
        if isinstance(contacts, str | bytes | Mapping) or not isinstance(contacts, Iterable):
            raise ValidationError("contacts", "expected a sequence of contacts")
        entries = [
            _batch_entry(check_contact(contact, f"contacts[{index}]"))
            for index, contact in enumerate(contacts)
        ]
        if not entries:
            raise ValidationError("contacts", "at least one contact is required")
        operation = f"create {len(entries)} contacts"
        answer = await self._wire.call(
            operation,
            "POST",
            "/api/1.0/contacts/batch",
            body=json_body({"contacts": entries}),
            timeout=timeout,
        )
        return self._wire.decode(answer.content, BatchResult, operation)

    def list(
        self,
        *,
        search: str | None = None,
        page_size: int = 20,
        timeout: Timeout | None = None,
    ) -> AsyncPager[Contact]:
        """Every contact, page by page.

        Example:
            >>> async for contact in client.contacts.list(search="ana"):
            ...     print(contact.name, contact.email)

        Args:
            search: Case-insensitive partial match on name or e-mail.
            page_size: Contacts per request, 1..100.
            timeout: Overrides the client's timeouts for each request.

        Returns:
            A pager; nothing is sent until it is iterated.

        Raises:
            ValidationError: ``page_size`` outside 1..100 (raised at once).
        """
        query = {} if search is None else {"search": search}
        return self._wire.pager(
            "list contacts",
            "/api/1.0/contacts",
            Contact,
            page_size=page_size,
            query=query,
            timeout=timeout,
        )
