"""``client.contacts``: DANAsign's address book."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from typing import Any

from .._core.bodies import json_body
from .._core.bulk import (
    DEFAULT_CONNECT_FAILURES,
    BulkOptions,
    BulkProgress,
    BulkRun,
    InvalidItem,
    JournalOption,
    OnUncertain,
)
from .._core.errors import SigningError, ValidationError
from .._core.pagination import AsyncPager
from .._core.provider import BulkSpec, run_many
from .._core.serde import encode
from .._core.session import CoreSession
from .._core.timeouts import Timeout
from ._batch import Found, needs_lookup, reconcile
from ._checks import check_contact
from ._config import DanaSignConfig
from ._endpoint import DanaSignEndpoint
from ._errors import PROVIDER
from ._models import BatchResult, Contact
from ._requests import NewContact

__all__ = ["CREATE_MANY", "ContactItem", "Contacts"]

ContactItem = NewContact | Mapping[str, Any]
"""One item of :meth:`Contacts.create_many`: a :class:`NewContact` or a mapping of its fields."""

_LOOKUP_PAGE = 100


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
        self._endpoint = DanaSignEndpoint(session, config)

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
        endpoint = self._endpoint
        call = endpoint.request(
            "create contact",
            "POST",
            "/api/1.0/contacts",
            body=json_body(encode(contact)),
            timeout=timeout,
        )
        return endpoint.answer(call, await endpoint.json(call), Contact)

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
        endpoint = self._endpoint
        call = endpoint.request(
            f"create {len(entries)} contacts",
            "POST",
            "/api/1.0/contacts/batch",
            body=json_body({"contacts": entries}),
            timeout=timeout,
        )
        return endpoint.answer(call, await endpoint.json(call), BatchResult)

    def create_many(
        self,
        items: Iterable[ContactItem | InvalidItem] | AsyncIterable[ContactItem | InvalidItem],
        *,
        batch_size: int = 50,
        concurrency: int = 8,
        journal: JournalOption = None,
        on_uncertain: OnUncertain = "report",
        progress: Callable[[BulkProgress], object] | None = None,
        stop_after_connect_failures: int | None = DEFAULT_CONNECT_FAILURES,
        job: str | None = None,
    ) -> BulkRun[NewContact]:
        """Create many contacts through the batch endpoint, ``batch_size`` per request.

        Each item's key is its e-mail address, compared ignoring case: two
        items with one address in a job are a duplicate (the second fails,
        unsent). Invalid items (no name, a bad e-mail) fail on their own and
        never reach a batch.

        The batch endpoint answers only how many contacts it created and how
        many it refused, not which. Each item's outcome is derived from that
        answer, never guessed:

        - ``failed == 0`` and ``success`` equal to the batch size: every
          item ``succeeded``. ``failed`` equal to the batch size: every item
          ``failed`` (DANAsign gives no reason; a contact with that e-mail
          existing already is the usual one).
        - Anything else: every contact of the batch is looked up by e-mail
          (``GET /contacts?search=``). One not found was not created:
          ``failed``. When exactly ``success`` of them are found, those are
          the ones created (a refused item creates nothing, and whatever
          existed before the batch would be found on top of them):
          ``succeeded``. When more are found, some existed before the batch
          and the answer cannot say which: the found ones are ``uncertain``.
          A lookup that fails leaves its item ``uncertain``.
        - A batch request that may have reached the server but got no
          answer (or a 500) leaves all its items ``uncertain``, as for every
          bulk method.

        This assumes nothing else creates contacts with the same addresses
        while the job runs.

        Example:
            >>> rows = ({"name": r.name, "email": r.email} for r in people)
            >>> async with client.contacts.create_many(rows, journal="contacts.db") as outcomes:
            ...     async for outcome in outcomes:
            ...         print(outcome.key, outcome.status, outcome.error or "")

        Args:
            items: :class:`~signing_async.NewContact` s or mappings with
                ``name``, ``email`` and optionally ``phone``; an iterable or
                async iterable, pulled lazily.
            batch_size: Contacts per request.
            concurrency: Batch requests in flight at most.
            journal: A SQLite file recording each e-mail's state; a rerun
                skips contacts already created, sends failed ones again and
                reports uncertain ones (see :meth:`~signing_async.danasign.Documents.create_many`).
            on_uncertain: ``"report"`` uncertain e-mails, or ``"resend"`` them.
            progress: Called with a :class:`~signing_async.BulkProgress`
                after every change.
            stop_after_connect_failures: Consecutive connection failures
                that stop the run; None never stops for them. A refusal of
                the credentials or of access always stops it. The run then
                raises :class:`~signing_async.BulkStopped` after the outcomes
                so far; the items not sent stay pending in the journal.
            job: The job's name when ``journal`` is a ``postgresql://`` DSN
                (see :class:`~signing_async.fleet.PostgresJournal`).

        Returns:
            A :class:`~signing_async.BulkRun` of outcomes whose ``result`` is
            the :class:`~signing_async.NewContact` created (the batch answer
            carries no ids: list the contacts to get them).
        """
        options = BulkOptions(
            concurrency=concurrency,
            journal=journal,
            on_uncertain=on_uncertain,
            progress=progress,
            stop_after_connect_failures=stop_after_connect_failures,
            job=job,
        )
        return run_many(
            self,
            CREATE_MANY,
            items,
            options,
            batch_size=batch_size,
        )

    async def _create_batch_items(
        self, items: Sequence[NewContact]
    ) -> list[NewContact | Exception]:
        # Already checked by _item_key: this only normalises them again.
        contacts = [check_contact(item, "") for item in items]
        result = await self.create_batch(contacts)
        found: list[Found] = []
        if needs_lookup(result, len(contacts)):
            for contact in contacts:
                try:
                    found.append(await self._exists(contact.email))
                except SigningError as exc:
                    found.append(exc)
        return reconcile(contacts, result, found)

    async def _exists(self, email: str) -> bool:
        wanted = _normalize(email)
        async for contact in self.list(search=email.strip(), page_size=_LOOKUP_PAGE):
            if contact.email is not None and _normalize(contact.email) == wanted:
                return True
        return False

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
            ValidationError: ``page_size`` outside 1..100, or a ``search``
                that is not a string (raised at once).
        """
        query = {} if search is None else {"search": search}
        return self._endpoint.pager(
            "list contacts",
            "/api/1.0/contacts",
            Contact,
            page_size=page_size,
            query=query,
            timeout=timeout,
        )


def _normalize(email: str) -> str:
    return email.strip().lower()


def _item_key(item: ContactItem) -> str:
    if not isinstance(item, NewContact | Mapping):
        raise ValidationError(
            "item", f"expected a NewContact or a mapping, not {type(item).__name__}"
        )
    return _normalize(check_contact(item, "").email)


CREATE_MANY = BulkSpec(
    namespace="contacts",
    method="create_many",
    operation="create",
    request_type=NewContact,
    result_type=NewContact,
    key=_item_key,
    label="contacts",
    provider=PROVIDER,
    id_field="email",
    batch="_create_batch_items",
    batch_size=50,
)
"""How :meth:`Contacts.create_many` sends: items packed onto the batch endpoint."""
