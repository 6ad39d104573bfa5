"""``client.circuits``: DANAconnect biometric video-signature circuits."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from .._core.auth import BearerTokenAuth, HeaderAuth, basic_credentials
from .._core.bodies import Base64, form_body, json_body
from .._core.bulk import (
    DEFAULT_CONNECT_FAILURES,
    BulkOptions,
    BulkProgress,
    BulkRun,
    InvalidItem,
    JournalOption,
    OnUncertain,
)
from .._core.coerce import build
from .._core.endpoint import SEND_JSON, Endpoint, what
from .._core.errors import ValidationError
from .._core.provider import BulkSpec, field_key, run_many
from .._core.serde import converter
from .._core.session import Call, CoreSession
from .._core.sources import DocumentSource, RequestFiles, document_sources
from .._core.streaming import ByteStream, DownloadedFile
from .._core.timeouts import Timeout
from .._core.tokens import check_token
from .._core.urls import path_segment
from .._core.validation import require_email, require_id, require_pdf, require_text
from ._config import DanaConnectConfig
from ._errors import ERRORS, PROVIDER
from ._models import AccessTokenAnswer, Circuit, CircuitRequest, CircuitSigner
from ._zip_check import zip_problem

__all__ = ["START_MANY", "Circuits"]

CircuitItem = CircuitRequest | Mapping[str, Any]
"""One item of :meth:`Circuits.start_many`: a request object or ``start``'s keyword arguments."""

_DOWNLOAD_ZIP = {"Accept": "application/zip", "Content-Type": "application/zip"}


class Circuits:
    """Start circuits and download their signed documents.

    Obtained as ``client.circuits``; every call shares the client's token
    cache, retries and timeouts.
    """

    def __init__(self, session: CoreSession, config: DanaConnectConfig) -> None:
        self._config = config
        auth = BearerTokenAuth(
            session.token_cache(
                (config.api_url, config.client_id, config.client_secret), self._fetch_token
            )
        )
        self._endpoint = Endpoint(
            session, provider=PROVIDER, base_url=config.api_url, errors=ERRORS, auth=auth
        )

    async def _fetch_token(self) -> tuple[str, float]:
        answer = await self._request_token()
        # The lifetime goes as granted: the token cache clamps it into a sane range.
        return answer.access_token, answer.expires_in

    async def _request_token(self) -> AccessTokenAnswer:
        """One token request, outside the cache (``signing-async check`` makes it too)."""
        config = self._config
        endpoint = self._endpoint
        call = endpoint.call(
            "get access token",
            "POST",
            "/oauth2/token",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            body=form_body({"grant_type": "client_credentials"}),
            auth=HeaderAuth(
                {"Authorization": basic_credentials(config.client_id, config.client_secret)}
            ),
            idempotent=True,  # asking for a token twice is harmless
            secret_answer=True,
        )
        answer = endpoint.decode(call, await endpoint.json(call), AccessTokenAnswer)
        check_token(answer.access_token, what=what(call))
        return answer

    async def start(
        self,
        *,
        id: str,
        signer: CircuitSigner | Mapping[str, str],
        docs: Sequence[DocumentSource] | DocumentSource,
        timeout: Timeout | None = None,
    ) -> Circuit:
        """Start a circuit: the signer gets a link to sign ``docs`` on video.

        Args:
            id: Your id for the circuit (the natural idempotency key).
            signer: Who signs: a :class:`CircuitSigner` or a mapping with
                ``name``, ``email`` and ``nif``.
            docs: The PDFs: paths (streamed from disk), bytes or
                :class:`~signing_async.Document` s.
            timeout: Overrides the client's timeouts for this call.

        Returns:
            The circuit, with its id and the signer's link.

        Raises:
            ValidationError: Bad input; nothing was sent.
            APIError: DANAconnect refused the circuit.
            TransportError: No answer. The circuit may exist if the request was sent
                (``error.request_sent``); it is not replayed blindly.
        """
        # An id, though it goes in the body: DANAconnect's circuit ids come
        # back in download URLs, so the same rules apply.
        circuit_id = require_id(id, "id")
        who = _signer(signer)
        sources = document_sources(docs, "docs")
        if not sources:
            raise ValidationError("docs", "at least one document is required")
        files = RequestFiles()
        entries: list[dict[str, Any]] = []
        for index, source in enumerate(sources):
            field = f"docs[{index}]"
            blob = require_pdf(
                await files.load(source, field=field, default_name=f"document-{index + 1}.pdf"),
                field,
            )
            entries.append({"name": blob.name, "size": blob.size, "content": Base64(blob)})
        payload = {"id": circuit_id, "signer": converter.unstructure(who), "docs": entries}
        channel = path_segment(self._config.channel, "DanaConnectConfig.channel")
        endpoint = self._endpoint
        call = endpoint.call(
            f"start circuit {circuit_id}",
            "POST",
            f"/api/v1/biometric/start_circuit/{channel}",
            headers=SEND_JSON,
            body=json_body(payload),
            timeout=timeout,
        )
        return endpoint.decode(call, await endpoint.json(call), Circuit)

    def start_many(
        self,
        items: Iterable[CircuitItem | InvalidItem] | AsyncIterable[CircuitItem | InvalidItem],
        *,
        concurrency: int = 8,
        journal: JournalOption = None,
        on_uncertain: OnUncertain = "report",
        progress: Callable[[BulkProgress], object] | None = None,
        stop_after_connect_failures: int | None = DEFAULT_CONNECT_FAILURES,
        job: str | None = None,
    ) -> BulkRun[Circuit]:
        """Start many circuits, at most ``concurrency`` at a time, never one twice.

        Example:
            >>> items = ({"id": row.id, "signer": {...}, "docs": [row.pdf]} for row in rows)
            >>> async with client.circuits.start_many(items, journal="circuits.db") as outcomes:
            ...     async for outcome in outcomes:
            ...         print(outcome.key, outcome.status, outcome.error or "")

        Args:
            items: :class:`~signing_async.CircuitRequest` s, or mappings of
                :meth:`start`'s keyword arguments (``id``, ``signer``,
                ``docs``, optionally ``timeout``); an iterable or async
                iterable, pulled lazily. Each item's key is its ``id``.
            concurrency: Requests in flight at most.
            journal: A SQLite file recording each id's state. Rerunning
                with it skips circuits already started (returning the
                recorded :class:`~signing_async.Circuit`), sends failed ones
                again, and reports as uncertain those in flight when a
                previous run died.
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
            START_MANY,
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

    def _download_call(self, circuit_id: str, timeout: Timeout | None) -> Call:
        segment = path_segment(circuit_id, "circuit_id")
        channel = path_segment(self._config.channel, "DanaConnectConfig.channel")
        return self._endpoint.call(
            f"download circuit {circuit_id}",
            "GET",
            # Downloads have a host of their own.
            f"{self._config.download_url}/api/v1/biometric/document_circuit/{channel}"
            f"/circuit/{segment}",
            # The documentation lists this Content-Type on a GET; sent as documented.
            headers=_DOWNLOAD_ZIP,
            timeout=timeout,
            absolute=True,
        )

    @asynccontextmanager
    async def download(
        self, circuit_id: str, *, timeout: Timeout | None = None
    ) -> AsyncIterator[ByteStream]:
        """Stream the ZIP of a completed circuit's signed documents.

        Example:
            >>> async with client.circuits.download("658936") as stream:
            ...     async for chunk in stream.iter_chunks(1 << 20):
            ...         ...

        Raises:
            ConflictError: The signer has not finished the circuit yet.
            NotFoundError: No such circuit.
        """
        async with self._endpoint.stream(self._download_call(circuit_id, timeout)) as stream:
            yield stream

    async def download_to(
        self,
        circuit_id: str,
        path: str | Path,
        *,
        checksum: bool = True,
        timeout: Timeout | None = None,
    ) -> DownloadedFile:
        """Download the signed documents' ZIP to ``path``, atomically.

        ``path`` is checked before the request is sent (its folder exists and
        can be written, it is not a folder). The ZIP is written to a temporary
        file beside ``path``, checked (byte count, ZIP structure) and renamed
        into place; on failure nothing is left behind.

        Args:
            circuit_id: The circuit.
            path: The target file; its folder must exist.
            checksum: Compute the ZIP's SHA-256 while it is written (the
                default). Hashing costs 0.6 to 0.8 ms of CPU per MiB, a
                quarter to a third of the download's; pass False where nothing
                uses the hash (``sha256`` is then empty). The byte count and
                the ZIP are checked either way.
            timeout: Overrides the client's timeouts for this call.

        Returns:
            The file's path, size and SHA-256 (empty with ``checksum=False``).

        Raises:
            ValidationError: A bad ``circuit_id`` or ``path``; nothing was sent.
            FileWriteError: The disk refused the file (a ``SigningError`` and an
                ``OSError``); nothing is left behind.
        """
        return await self._endpoint.download(
            self._download_call(circuit_id, timeout), path, check=zip_problem, checksum=checksum
        )


def _signer(signer: CircuitSigner | Mapping[str, str]) -> CircuitSigner:
    built = build(CircuitSigner, signer, "signer")
    require_text(built.name, "signer.name")
    require_email(built.email, "signer.email")
    require_text(built.nif, "signer.nif")
    return built


START_MANY = BulkSpec(
    namespace="circuits",
    method="start_many",
    operation="start",
    request_type=CircuitRequest,
    result_type=Circuit,
    key=field_key(CircuitRequest, "id"),
    label="circuits",
    provider=PROVIDER,
    id_field="circuit_id",
)
"""How :meth:`Circuits.start_many` sends: each item through :meth:`Circuits.start`."""
