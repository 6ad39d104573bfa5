"""``client.otp_signatures``: S.O.F.I.A. OTP signatures."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import attrs

from .._core.auth import NO_AUTH, HeaderAuth, basic_credentials
from .._core.bodies import Base64, FilePart, json_body, multipart_body
from .._core.bulk import (
    DEFAULT_CONNECT_FAILURES,
    BulkOptions,
    BulkProgress,
    BulkRun,
    InvalidItem,
    JournalOption,
    OnUncertain,
)
from .._core.endpoint import SEND_JSON, Endpoint, what
from .._core.errors import ValidationError
from .._core.provider import BulkSpec, field_key, run_many
from .._core.session import CoreSession
from .._core.sources import Blob, DocumentSource, load_source
from .._core.timeouts import Timeout
from .._core.urls import is_loopback, same_origin
from .._core.validation import require_email, require_id, require_pdf, require_phone
from ._config import SofiaConfig
from ._errors import ERRORS, PROVIDER
from ._models import OtpSignature, OtpSignatureRequest, SignedDownload, decode_request
from ._requests import NewOtpSignature
from ._signed_pdf import SignedPdfCheck

__all__ = ["CREATE_MANY", "OtpSignatureItem", "OtpSignatures"]

OtpSignatureItem = NewOtpSignature | Mapping[str, Any]
"""One item of :meth:`OtpSignatures.create_many`: a request object or ``create``'s arguments."""


_IMAGE_TYPES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)
_OTP = re.compile(r"[0-9]+")
_ACCEPT_PDF = {"Accept": "application/pdf"}
_URL_SAFE = "!$%&'()*+,/:;=?@[]~"


async def _image(source: DocumentSource, field: str) -> FilePart:
    blob = await load_source(source, field=field, default_name=field)
    for magic, content_type, extension in _IMAGE_TYPES:
        if blob.head.startswith(magic):
            return FilePart(field, _named(blob, source, f"{field}.{extension}"), content_type)
    raise ValidationError(field, f"{blob.name} is not a JPEG or PNG image")


async def _pdf(source: DocumentSource, field: str) -> FilePart:
    blob = require_pdf(await load_source(source, field=field, default_name=field), field)
    return FilePart(field, _named(blob, source, f"{field}.pdf"), "application/pdf")


def _named(blob: Blob, source: DocumentSource, default: str) -> Blob:
    # Bare bytes carry no name; give them one whose extension matches their content.
    if isinstance(source, bytes | bytearray | memoryview):
        return attrs.evolve(blob, name=default)
    return blob


class OtpSignatures:
    """Request OTP signatures, sign with the code, and fetch the signed PDF.

    Obtained as ``client.otp_signatures``. Every API call carries
    ``Authorization: Basic base64(client_id:client_secret)`` and
    ``Accept: application/json``.
    """

    def __init__(self, session: CoreSession, config: SofiaConfig) -> None:
        self._config = config
        self._endpoint = Endpoint(
            session,
            provider=PROVIDER,
            base_url=config.api_url,
            errors=ERRORS,
            auth=HeaderAuth(
                {"Authorization": basic_credentials(config.client_id, config.client_secret)}
            ),
        )

    async def create(
        self,
        *,
        transaction_id: str,
        user_selfie: DocumentSource,
        image_front: DocumentSource,
        document_sign: DocumentSource,
        phone: str,
        email: str,
        image_back: DocumentSource | None = None,
        tenant_id: str | None = None,
        timeout: Timeout | None = None,
    ) -> OtpSignatureRequest:
        """Request a signature: S.O.F.I.A. stores the files and sends the signer an OTP.

        The files are streamed from disk, never read whole, as
        ``multipart/form-data`` file parts or, with
        ``SofiaConfig(upload_encoding="json")``, as Base64 strings in one JSON
        object.

        Example:
            >>> request = await client.otp_signatures.create(
            ...     transaction_id="txn-987654", user_selfie="selfie.jpg",
            ...     image_front="id_front.jpg", document_sign="contract.pdf",
            ...     phone="+573001234567", email="user@example.com")

        Args:
            transaction_id: Your unique id for the transaction.
            user_selfie: The signer's selfie, JPEG or PNG (a path, bytes or
                :class:`~signing_async.Document`).
            image_front: The front of the signer's ID, JPEG or PNG.
            document_sign: The PDF to sign.
            phone: Where the OTP is sent by SMS.
            email: Where the OTP is sent by e-mail.
            image_back: The back of the signer's ID, JPEG or PNG (optional).
            tenant_id: Overrides ``SofiaConfig.tenant_id`` for this request.
            timeout: Overrides the client's timeouts for this call.

        Returns:
            The pending request (status ``PENDING_OTP``).

        Raises:
            ValidationError: Bad input (an empty field, an image that is not
                JPEG/PNG, a document that is not a PDF); nothing was sent.
            BadRequestError: S.O.F.I.A. rejected the request (``WHK001``).
            AuthenticationError: The credentials were refused (``WHK002``).
            TransportError: No answer. The request may have been received when
                ``error.request_sent`` is true; it is not replayed blindly.
        """
        transaction = require_id(transaction_id, "transaction_id")
        tenant = require_id(self._config.tenant_id if tenant_id is None else tenant_id, "tenant_id")
        phone = require_phone(phone, "phone")
        email = require_email(email, "email")
        files = [
            await _image(user_selfie, "user_selfie"),
            await _image(image_front, "image_front"),
        ]
        if image_back is not None:
            files.append(await _image(image_back, "image_back"))
        files.append(await _pdf(document_sign, "document_sign"))
        fields = [
            ("tenant_id", tenant),
            ("transaction_id", transaction),
            ("phone", phone),
            ("email", email),
        ]
        headers = {"Accept": "application/json"}
        if self._config.upload_encoding == "json":
            payload: dict[str, Any] = dict(fields)
            payload.update((part.name, Base64(part.blob)) for part in files)
            body = json_body(payload)
            headers["Content-Type"] = "application/json"
        else:
            body, headers["Content-Type"] = multipart_body(fields, files)
        endpoint = self._endpoint
        call = endpoint.call(
            f"create signature {transaction}",
            "POST",
            "/create_signature",
            headers=headers,
            body=body,
            timeout=timeout,
        )
        return decode_request(await endpoint.json(call), what=what(call))

    def create_many(
        self,
        items: Iterable[OtpSignatureItem | InvalidItem]
        | AsyncIterable[OtpSignatureItem | InvalidItem],
        *,
        concurrency: int = 8,
        journal: JournalOption = None,
        on_uncertain: OnUncertain = "report",
        progress: Callable[[BulkProgress], object] | None = None,
        stop_after_connect_failures: int | None = DEFAULT_CONNECT_FAILURES,
        job: str | None = None,
    ) -> BulkRun[OtpSignatureRequest]:
        """Request many signatures, at most ``concurrency`` at a time, never one twice.

        Example:
            >>> items = ({"transaction_id": r.id, "user_selfie": r.selfie, ...} for r in rows)
            >>> async with client.otp_signatures.create_many(items, journal="otp.db") as outcomes:
            ...     async for outcome in outcomes:
            ...         print(outcome.key, outcome.status, outcome.error or "")

        Args:
            items: :class:`~signing_async.NewOtpSignature` s, or mappings of
                :meth:`create`'s keyword arguments (``transaction_id``,
                ``user_selfie``, ``image_front``, ``document_sign``,
                ``phone``, ``email``, optionally ``image_back``,
                ``tenant_id``, ``timeout``); an iterable or async iterable,
                pulled lazily. Each item's key is its ``transaction_id``.
            concurrency: Requests in flight at most.
            journal: A SQLite file recording each transaction's state.
                Rerunning with it skips requests already made (returning the
                recorded :class:`~signing_async.OtpSignatureRequest`), sends
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

    async def sign(
        self, transaction_id: str, otp_code: str, *, timeout: Timeout | None = None
    ) -> OtpSignature:
        """Sign the document of ``transaction_id`` with the OTP the signer received.

        Args:
            transaction_id: The id given to :meth:`create`.
            otp_code: The code, digits only (surrounding spaces are ignored).
            timeout: Overrides the client's timeouts for this call.

        Returns:
            The signature, with the signed PDF's URL and the signature hash.

        Raises:
            ValidationError: An empty transaction id, or an OTP that is empty
                or not all digits; nothing was sent.
            BadRequestError: Wrong or expired OTP (``WHK001``); never retried.
            NotFoundError: No such transaction (``WHK004``).
        """
        transaction = require_id(transaction_id, "transaction_id")
        if not isinstance(otp_code, str) or not otp_code.strip():
            raise ValidationError("otp_code", "must be a non-empty string of digits")
        code = otp_code.strip()
        if not _OTP.fullmatch(code):
            # The code itself is left out of the message: it is a credential.
            raise ValidationError("otp_code", "must contain digits 0-9 only")
        endpoint = self._endpoint
        call = endpoint.call(
            f"sign document {transaction}",
            "POST",
            "/sign_document",
            headers=SEND_JSON,
            body=json_body({"transaction_id": transaction, "otp_code": code}),
            timeout=timeout,
        )
        return endpoint.decode(call, await endpoint.json(call), OtpSignature)

    async def download_signed(
        self,
        signature_or_url: OtpSignature | str,
        path: str | os.PathLike[str],
        *,
        timeout: Timeout | None = None,
    ) -> SignedDownload:
        """Download the signed PDF to ``path``, atomically.

        ``path`` is checked before the request is sent (its folder exists and
        can be written, it is not a folder): a one-shot storage URL is not
        spent on a download that could not be written. The PDF is streamed to
        a temporary file beside ``path``, checked, and renamed into place; on
        any failure nothing is left at ``path``. What is checked:

        * the byte count, against the Content-Length the server announced;
        * that the file starts with ``%PDF-``;
        * given an :class:`OtpSignature` with a ``signature_hash``, and only
          when pypdf is installed (extra ``signing-async[pdf]``): if the PDF's
          document-info dictionary has a ``/SignatureHash`` entry, it must
          equal ``signature_hash`` exactly (surrounding whitespace ignored).
          A PDF pypdf cannot parse is then rejected too. Without pypdf, given
          a bare URL, or when the PDF has no such entry, the hash is not
          checked; the result's ``hash_verified`` says which happened, and
          the outcome is logged at INFO.

        Credentials: the Basic header is sent only when the URL has the API's
        own scheme, host and port; to any other host (a storage bucket) the
        request carries no ``Authorization`` header at all, unless the URL
        itself carries ``user:password@`` (never shown in logs or messages). A relative URL is
        taken relative to the API. A plain ``http://`` URL to a host that is
        not loopback is refused unless ``SofiaConfig(allow_insecure=True)``.

        Args:
            signature_or_url: What :meth:`sign` returned, or the signed PDF's URL.
            path: The target file; its folder must exist.
            timeout: Overrides the client's timeouts for this call.

        Returns:
            The file's path, size and SHA-256, and ``hash_verified``: True
            when the embedded hash was checked and matched, None when it was
            not checked.

        Raises:
            ValidationError: The URL is empty, not http(s), or insecure, or
                ``path`` cannot be written; nothing was sent.
            FileWriteError: The disk refused the file (a ``SigningError`` and
                an ``OSError``); nothing is left behind.
            ResponseDecodeError: The answer is not a PDF, or its embedded hash
                does not match.
            TransportError: The transfer broke or came up short.
            APIError: The server answered with an error status.
        """
        if isinstance(signature_or_url, OtpSignature):
            url = signature_or_url.signed_document_url
            expected = signature_or_url.signature_hash
            operation = f"download signed document {signature_or_url.transaction_id}"
        elif isinstance(signature_or_url, str):
            url, expected, operation = signature_or_url, None, "download signed document"
        else:
            raise ValidationError(
                "signature_or_url",
                f"expected an OtpSignature or a URL, not {type(signature_or_url).__name__}",
            )
        url = self._download_url(url)
        own = same_origin(url, self._config.api_url)
        if own and "@" in urlsplit(url).netloc:
            # The API's own Basic header goes to its own host; a user:password
            # in the URL would be a second, conflicting credential. Not echoed.
            raise ValidationError(
                "signature_or_url",
                "the signed document's URL carries user:password for the API's own host;"
                " give it without them",
            )
        call = self._endpoint.call(
            operation,
            "GET",
            url,
            headers=_ACCEPT_PDF,
            # A storage host gets no credentials: the Basic header is a long-lived secret.
            auth=None if own else NO_AUTH,
            timeout=timeout,
            absolute=True,
        )
        check = SignedPdfCheck(expected, what=what(call))
        written = await self._endpoint.download(call, path, check=check)
        return SignedDownload(
            Path(written.path),
            written.size,
            written.sha256,
            # None, not False, when unchecked: False would read as "checked and wrong".
            hash_verified=True if check.verified else None,
        )

    def _download_url(self, url: str) -> str:
        field = "signature_or_url"
        if not isinstance(url, str) or not url.strip():
            raise ValidationError(field, "the signed document's URL is empty")
        if not url.strip().isprintable():
            # A line break would split the request line; a lone surrogate
            # cannot be encoded. Not echoed: it may carry a signed token.
            raise ValidationError(
                field, "the signed document's URL holds a control character or a lone surrogate"
            )
        try:
            url = urljoin(f"{self._config.api_url}/", url.strip())
            parts = urlsplit(url)
            parts.port  # noqa: B018 - parsed to refuse a bad one before sending
        except ValueError:
            raise ValidationError(field, "the signed document's URL is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(field, "the signed document's URL is not an http(s) URL")
        if not parts.netloc.isascii():
            raise ValidationError(field, "the signed document's URL has a host that is not ASCII")
        # A path or query with non-ASCII text (or spaces) goes out percent-encoded,
        # as a browser sends it; what is already encoded stays as it is.
        url = urlunsplit(
            parts._replace(
                path=quote(parts.path, safe=_URL_SAFE),
                query=quote(parts.query, safe=_URL_SAFE),
                fragment=quote(parts.fragment, safe=_URL_SAFE),
            )
        )
        if (
            parts.scheme == "http"
            and not self._config.allow_insecure
            and not is_loopback(parts.hostname)
        ):
            raise ValidationError(
                field,
                f"refusing plain http:// to {parts.hostname} for the signed document; "
                "use https:// or SofiaConfig(allow_insecure=True)",
            )
        return url


def _load_request(data: object) -> OtpSignatureRequest:
    return decode_request(data, what="a signature request recorded in the journal")


CREATE_MANY = BulkSpec(
    namespace="otp_signatures",
    method="create_many",
    operation="create",
    request_type=NewOtpSignature,
    result_type=OtpSignatureRequest,
    key=field_key(NewOtpSignature, "transaction_id"),
    label="OTP signatures",
    provider=PROVIDER,
    id_field="transaction_id",
    load=_load_request,
)
"""How :meth:`OtpSignatures.create_many` sends: each item through :meth:`OtpSignatures.create`."""
