"""``client.circuits``: DANAconnect biometric video-signature circuits."""

from __future__ import annotations

import os
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
    OnUncertain,
)
from .._core.error_mapping import ErrorMapper
from .._core.errors import ValidationError
from .._core.provider import BulkSpec, field_key, run_many
from .._core.serde import converter, decode
from .._core.session import Call, CoreSession
from .._core.sources import DocumentSource, document_sources, load_source
from .._core.streaming import ByteStream, DownloadedFile, download_target
from .._core.timeouts import Timeout
from .._core.tokens import check_token
from .._core.urls import path_segment
from .._core.validation import require_email, require_id, require_pdf, require_text
from ._config import DanaConnectConfig
from ._models import AccessTokenAnswer, Circuit, CircuitRequest, CircuitSigner
from ._zip_check import zip_problem

__all__ = ["START_MANY", "Circuits"]

PROVIDER = "DANAconnect"
ERRORS = ErrorMapper(PROVIDER)

CircuitItem = CircuitRequest | Mapping[str, Any]
"""One item of :meth:`Circuits.start_many`: a request object or ``start``'s keyword arguments."""


def _what(call: Call) -> str:
    # Errors raised outside the session (decoding, broken transfers) name the
    # provider too, like the session's own messages.
    return f"{PROVIDER} {call.operation}"


class Circuits:
    """Start circuits and download their signed documents.

    Obtained as ``client.circuits``; every call shares the client's token
    cache, retries and timeouts.
    """

    def __init__(self, session: CoreSession, config: DanaConnectConfig) -> None:
        self._session = session
        self._config = config
        self._auth = BearerTokenAuth(
            session.token_cache(
                (config.api_url, config.client_id, config.client_secret), self._fetch_token
            )
        )

    async def _fetch_token(self) -> tuple[str, float]:
        answer = await self._request_token()
        # The lifetime goes as granted: the token cache clamps it into a sane range.
        return answer.access_token, answer.expires_in

    async def _request_token(self) -> AccessTokenAnswer:
        """One token request, outside the cache (``signing-async check`` makes it too)."""
        config = self._config
        call = Call(
            PROVIDER,
            "get access token",
            "POST",
            f"{config.api_url}/oauth2/token",
            ERRORS,
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
        what = _what(call)
        answer = decode(await self._session.json(call), AccessTokenAnswer, what=what)
        check_token(answer.access_token, what=what)
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
        entries: list[dict[str, Any]] = []
        for index, source in enumerate(sources):
            field = f"docs[{index}]"
            blob = require_pdf(
                await load_source(source, field=field, default_name=f"document-{index + 1}.pdf"),
                field,
            )
            entries.append({"name": blob.name, "size": blob.size, "content": Base64(blob)})
        payload = {"id": circuit_id, "signer": converter.unstructure(who), "docs": entries}
        channel = path_segment(self._config.channel, "DanaConnectConfig.channel")
        call = Call(
            PROVIDER,
            f"start circuit {circuit_id}",
            "POST",
            f"{self._config.api_url}/api/v1/biometric/start_circuit/{channel}",
            ERRORS,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            body=json_body(payload),
            auth=self._auth,
            timeout=timeout,
        )
        return decode(await self._session.json(call), Circuit, what=_what(call))

    def start_many(
        self,
        items: Iterable[CircuitItem | InvalidItem] | AsyncIterable[CircuitItem | InvalidItem],
        *,
        concurrency: int = 8,
        journal: str | os.PathLike[str] | None = None,
        on_uncertain: OnUncertain = "report",
        progress: Callable[[BulkProgress], object] | None = None,
        stop_after_connect_failures: int | None = DEFAULT_CONNECT_FAILURES,
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
            ),
        )

    def _download_call(self, circuit_id: str, timeout: Timeout | None) -> Call:
        segment = path_segment(circuit_id, "circuit_id")
        channel = path_segment(self._config.channel, "DanaConnectConfig.channel")
        return Call(
            PROVIDER,
            f"download circuit {circuit_id}",
            "GET",
            f"{self._config.download_url}/api/v1/biometric/document_circuit/{channel}"
            f"/circuit/{segment}",
            ERRORS,
            # The documentation lists this Content-Type on a GET; sent as documented.
            headers={"Accept": "application/zip", "Content-Type": "application/zip"},
            auth=self._auth,
            timeout=timeout,
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
        call = self._download_call(circuit_id, timeout)
        async with self._session.stream(call) as response:
            yield ByteStream(response, what=_what(call))

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
        call = self._download_call(circuit_id, timeout)
        async with download_target(path) as target, self._session.stream(call) as response:
            stream = ByteStream(response, what=_what(call))
            return await target.write(
                stream, what=_what(call), check=zip_problem, checksum=checksum
            )


def _signer(signer: CircuitSigner | Mapping[str, str]) -> CircuitSigner:
    if isinstance(signer, Mapping):
        unknown = set(signer) - {"name", "email", "nif"}
        if unknown:
            raise ValidationError("signer", f"unknown keys {sorted(map(str, unknown))}")
        signer = CircuitSigner(
            name=signer.get("name", ""), email=signer.get("email", ""), nif=signer.get("nif", "")
        )
    if not isinstance(signer, CircuitSigner):
        raise ValidationError("signer", "expected a CircuitSigner or a mapping")
    require_text(signer.name, "signer.name")
    require_email(signer.email, "signer.email")
    require_text(signer.nif, "signer.nif")
    return signer


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
