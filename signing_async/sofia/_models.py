"""S.O.F.I.A. answer models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from .._core.serde import decode
from .._core.streaming import DownloadedFile

__all__ = ["OtpSignature", "OtpSignatureRequest", "SignedDownload", "decode_request"]


@attrs.frozen
class OtpSignatureRequest:
    """A signature request: S.O.F.I.A. stored the files and sent the OTP.

    Attributes:
        transaction_id: Your transaction id, echoed back.
        status: ``PENDING_OTP`` while the signer's code is awaited.
        timestamp: When the request was recorded, if the answer said.
        storage_paths: Where S.O.F.I.A. stored each file, by field name
            (``user_selfie``, ``image_front``, ``image_back``, ``document_sign``);
            files the answer gives no URL for are absent.
        raw: Keys of the answer no field claims.
    """

    transaction_id: str
    status: str
    timestamp: dt.datetime | None = None
    storage_paths: Mapping[str, str] = attrs.field(factory=dict)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class OtpSignature:
    """A signed document.

    Attributes:
        transaction_id: Your transaction id, echoed back.
        status: ``SIGNED``.
        signed_document_url: Where to fetch the signed PDF
            (see :meth:`~signing_async.sofia.OtpSignatures.download_signed`).
        signature_hash: The signature's hash, also embedded in the signed PDF's
            metadata.
        timestamp: When the document was signed, if the answer said.
        trace_log_id: The id of S.O.F.I.A.'s audit-trail entry.
        raw: Keys of the answer no field claims.
    """

    transaction_id: str
    status: str
    signed_document_url: str
    signature_hash: str | None = None
    timestamp: dt.datetime | None = None
    trace_log_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class SignedDownload(DownloadedFile):
    """A signed PDF written by ``download_signed``: a :class:`DownloadedFile` plus one fact.

    Attributes:
        hash_verified: True when the PDF's document-info entry ``/SignatureHash``
            was read and equals :attr:`OtpSignature.signature_hash`; None when
            that check was not made (a bare URL was given, the answer had no
            hash, the PDF carries none, or pypdf is not installed). Never
            False: a hash that differs raises ``ResponseDecodeError`` and
            leaves no file.
    """

    hash_verified: bool | None = None


def decode_request(data: Any, *, what: str) -> OtpSignatureRequest:
    """Decode a ``create_signature`` answer.

    ``storage_paths`` entries that are null (no ``image_back`` was sent, say)
    are dropped rather than turned into the string ``"None"``.
    """
    if isinstance(data, Mapping):
        data = {
            key: (
                {name: url for name, url in value.items() if url is not None}
                if isinstance(value, Mapping) and key.replace("_", "").lower() == "storagepaths"
                else value
            )
            for key, value in data.items()
        }
    return decode(data, OtpSignatureRequest, what=what)
