"""``client.documents``: documents sent for signature."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import Any

from .._core.bodies import Base64, json_body
from .._core.bulk import (
    DEFAULT_CONNECT_FAILURES,
    BulkOptions,
    BulkProgress,
    BulkRun,
    InvalidItem,
    JournalOption,
    OnUncertain,
)
from .._core.errors import ValidationError
from .._core.pagination import AsyncPager
from .._core.provider import BulkSpec, run_many
from .._core.serde import encode
from .._core.session import CoreSession
from .._core.sources import DocumentSource, load_source
from .._core.timeouts import Timeout
from .._core.urls import path_segment
from .._core.validation import require_pdf, require_text
from ._checks import (
    check_defaults,
    check_metadata,
    check_placeholders,
    check_prefill,
    check_settings,
    check_signers,
    check_template_signers,
)
from ._config import DanaSignConfig
from ._endpoint import DanaSignEndpoint
from ._errors import PROVIDER
from ._models import CreatedDocument, DocumentStatus, DocumentSummary, TemplateDocument
from ._pdf import check_boxes_fit, page_sizes
from ._requests import (
    DocumentMetadata,
    DocumentRequest,
    DocumentSettings,
    Placeholder,
    Prefill,
    Signer,
    TemplateDefault,
    TemplateSigner,
    Widget,
)

__all__ = ["CREATE_MANY", "DocumentItem", "Documents"]

_DEFAULT_FILENAME = "document.pdf"

DocumentItem = DocumentRequest | Mapping[str, Any]
"""One item of :meth:`Documents.create_many`: a request object or ``create``'s keyword arguments."""


class Documents:
    """List documents and create them from a PDF or a template.

    Obtained as ``client.documents``. Creating is never replayed once the
    request may have reached the server: a contract sent twice is worse than
    an error.
    """

    def __init__(self, session: CoreSession, config: DanaSignConfig) -> None:
        self._endpoint = DanaSignEndpoint(session, config)

    def list(
        self,
        status: DocumentStatus | str,
        *,
        page_size: int = 20,
        timeout: Timeout | None = None,
    ) -> AsyncPager[DocumentSummary]:
        """The documents in one status, page by page (scope ``documents:read``).

        The server sends no page count, so iteration stops at the first page
        shorter than ``page_size``; ``Page.total`` is None.

        Args:
            status: A :class:`DocumentStatus` or any status string the server knows.
            page_size: Documents per request, 1..100.
            timeout: Overrides the client's timeouts for each request.

        Returns:
            A pager; nothing is sent until it is iterated.

        Raises:
            ValidationError: Empty status, or ``page_size`` outside 1..100
                (raised at once).
        """
        value = status.value if isinstance(status, DocumentStatus) else status
        segment = path_segment(value, "status")
        return self._endpoint.pager(
            f"list {value} documents",
            f"/api/1.0/documentlist/{segment}",
            DocumentSummary,
            page_size=page_size,
            timeout=timeout,
        )

    async def create(
        self,
        *,
        file: DocumentSource,
        title: str,
        signers: Iterable[Signer | Mapping[str, Any]],
        placeholders: Iterable[Placeholder | Mapping[str, Any]],
        filename: str | None = None,
        prefill: Iterable[Prefill | Mapping[str, Any]] = (),
        settings: DocumentSettings | Mapping[str, Any] | None = None,
        metadata: DocumentMetadata | Mapping[str, Any] | None = None,
        timeout: Timeout | None = None,
    ) -> CreatedDocument:
        """Create a document from a PDF and send it for signature (``documents:write``).

        The PDF is streamed as Base64 inside the JSON body, read from disk in
        pieces: memory does not grow with its size.

        Everything is checked before sending: a non-empty title, at least one
        signer (unique role, valid e-mail, threshold 0..100), placeholders
        whose roles match signers, a ``signature`` widget for every signer,
        widgets on page >= 1 with x, y >= 0 and positive w, h, and a non-empty
        ``%PDF-`` file. With the optional ``[pdf]`` extra (pypdf) installed,
        widgets must also lie on pages the PDF has, inside their media box;
        that check reads PDFs up to 64 MiB (in a worker thread) and is skipped
        silently for larger ones, ones pypdf cannot parse, or without pypdf.

        Example:
            >>> await client.documents.create(
            ...     file="contract.pdf",
            ...     title="Service contract",
            ...     signers=[Signer(role="Client", name="Ana", email="ana@example.com")],
            ...     placeholders=[Placeholder(role="Client", widgets=[
            ...         Widget(type="signature", page=1, x=120, y=520, w=220, h=60)])],
            ... )

        Args:
            file: The PDF: a path (streamed), bytes, or a :class:`~signing_async.Document`.
            title: The document's title.
            signers: Who signs: :class:`Signer` s or mappings of their fields.
            placeholders: Each role's widgets: :class:`Placeholder` s or mappings.
            filename: The file name DANAsign shows; the source's name by default
                (``document.pdf`` for bytes).
            prefill: Fields filled in before sending.
            settings: Signing-process settings.
            metadata: Your external id and tags.
            timeout: Overrides the client's timeouts for this call.

        Returns:
            The sent document's id, status and deadlines.

        Raises:
            ValidationError: Bad input, naming the field (``placeholders[1].role``);
                nothing was sent.
            PermissionDeniedError: The token lacks ``documents:write``.
            TransportError: No answer. If ``error.request_sent``, the document
                may exist; it is not sent again.
        """
        require_text(title, "title")
        checked_signers = check_signers(signers)
        checked_placeholders = check_placeholders(placeholders, checked_signers)
        checked_prefill = check_prefill(prefill)
        checked_settings = None if settings is None else check_settings(settings)
        checked_metadata = None if metadata is None else check_metadata(metadata)
        if filename is not None:
            require_text(filename, "filename")
        blob = require_pdf(
            await load_source(file, field="file", default_name=_DEFAULT_FILENAME), "file"
        )
        sizes = await page_sizes(blob)
        if sizes is not None:
            check_boxes_fit(_boxes(checked_placeholders, checked_prefill), sizes)
        payload: dict[str, Any] = {
            "file": Base64(blob),
            "filename": filename if filename is not None else blob.name,
            "title": title,
            "signers": [encode(signer) for signer in checked_signers],
            "placeholders": [encode(placeholder) for placeholder in checked_placeholders],
        }
        if checked_prefill:
            payload["prefill"] = [encode(item) for item in checked_prefill]
        if checked_settings is not None:
            payload["settings"] = encode(checked_settings)
        if checked_metadata is not None:
            payload["metadata"] = encode(checked_metadata)
        endpoint = self._endpoint
        call = endpoint.request(
            f"create document {title!r}",
            "POST",
            "/api/1.0/createdocument",
            body=json_body(payload),
            timeout=timeout,
        )
        return endpoint.answer(call, await endpoint.json(call), CreatedDocument)

    def create_many(
        self,
        items: Iterable[DocumentItem | InvalidItem] | AsyncIterable[DocumentItem | InvalidItem],
        *,
        concurrency: int = 8,
        journal: JournalOption = None,
        on_uncertain: OnUncertain = "report",
        progress: Callable[[BulkProgress], object] | None = None,
        stop_after_connect_failures: int | None = DEFAULT_CONNECT_FAILURES,
        job: str | None = None,
    ) -> BulkRun[CreatedDocument]:
        """Create and send many documents, at most ``concurrency`` at a time, never one twice.

        Example:
            >>> items = (
            ...     {"file": row.pdf, "title": row.title, "signers": [...], "placeholders": [...],
            ...      "metadata": {"external_id": row.id}}
            ...     for row in rows
            ... )
            >>> async with client.documents.create_many(items, journal="docs.db") as outcomes:
            ...     async for outcome in outcomes:
            ...         print(outcome.key, outcome.status, outcome.error or "")

        Args:
            items: :class:`~signing_async.DocumentRequest` s, or mappings of
                :meth:`create`'s keyword arguments (``file``, ``title``,
                ``signers``, ``placeholders``, optionally ``filename``,
                ``prefill``, ``settings``, ``metadata``, ``timeout``); an
                iterable or async iterable, pulled lazily. Each item's key is
                its ``metadata.external_id``, required when a journal is used.
            concurrency: Requests in flight at most.
            journal: A SQLite file recording each external id's state.
                Rerunning with it skips documents already created (returning
                the recorded :class:`~signing_async.CreatedDocument`), sends
                failed ones again, and reports as uncertain those in flight
                when a previous run died.
            on_uncertain: ``"report"`` those uncertain ids, or ``"resend"`` them.
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
            A :class:`~signing_async.BulkRun`: iterate it for one
            :class:`~signing_async.BulkOutcome` per item, as items finish.
        """
        return run_many(
            self,
            CREATE_MANY,
            items,
            BulkOptions(
                concurrency=concurrency,
                journal=journal,
                on_uncertain=on_uncertain,
                progress=progress,
                stop_after_connect_failures=stop_after_connect_failures,
                job=job,
            ),
        )

    async def create_from_template(
        self,
        template_id: str,
        *,
        signers: Iterable[TemplateSigner | Mapping[str, Any]],
        defaults: Iterable[TemplateDefault | Mapping[str, Any]] = (),
        metadata: DocumentMetadata | Mapping[str, Any] | None = None,
        timeout: Timeout | None = None,
    ) -> TemplateDocument:
        """Create a document from a template (``documents:write``).

        Args:
            template_id: The template's id.
            signers: Who fills each of the template's roles.
            defaults: Values for the template's fields.
            metadata: Your external id and tags.
            timeout: Overrides the client's timeouts for this call.

        Returns:
            The new document (status ``draft``).

        Raises:
            ValidationError: Bad input, naming the field; nothing was sent.
            NotFoundError: No such template.
            TransportError: No answer. If ``error.request_sent``, the document
                may exist; it is not sent again.
        """
        segment = path_segment(template_id, "template_id")
        payload: dict[str, Any] = {
            "signers": [encode(signer) for signer in check_template_signers(signers)],
            "defaults": [encode(default) for default in check_defaults(defaults)],
        }
        if metadata is not None:
            payload["metadata"] = encode(check_metadata(metadata))
        endpoint = self._endpoint
        call = endpoint.request(
            f"create document from template {template_id}",
            "POST",
            f"/api/1.0/createdocument/{segment}",
            body=json_body(payload),
            timeout=timeout,
        )
        return endpoint.answer(call, await endpoint.json(call), TemplateDocument)


def _item_key(item: DocumentItem) -> str | None:
    if isinstance(item, DocumentRequest):
        metadata: object = item.metadata
    elif isinstance(item, Mapping):
        metadata = item.get("metadata")
    else:
        raise ValidationError(
            "item", f"expected a DocumentRequest or a mapping, not {type(item).__name__}"
        )
    if metadata is None:
        return None
    if isinstance(metadata, Mapping) and "tags" in metadata:
        # The key is read before the item is sent: its tags may be an iterator
        # that only the request can read (checked then, with the same message).
        metadata = {name: value for name, value in metadata.items() if name != "tags"}
    return check_metadata(metadata).external_id


def _boxes(
    placeholders: Iterable[Placeholder], prefill: Iterable[Prefill]
) -> Iterable[tuple[str, Widget | Prefill]]:
    for index, placeholder in enumerate(placeholders):
        for number, widget in enumerate(placeholder.widgets):
            yield f"placeholders[{index}].widgets[{number}]", widget
    for index, item in enumerate(prefill):
        yield f"prefill[{index}]", item


CREATE_MANY = BulkSpec(
    namespace="documents",
    method="create_many",
    operation="create",
    request_type=DocumentRequest,
    result_type=CreatedDocument,
    key=_item_key,
    label="documents",
    provider=PROVIDER,
    id_field="document_id",
)
"""How :meth:`Documents.create_many` sends: each item through :meth:`Documents.create`."""
