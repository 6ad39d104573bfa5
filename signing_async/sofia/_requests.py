"""S.O.F.I.A. request objects: the arguments of a call, as one value."""

from __future__ import annotations

import attrs

from .._core.sources import DocumentSource

__all__ = ["NewOtpSignature"]


@attrs.frozen
class NewOtpSignature:
    """One signature to request: the arguments of ``client.otp_signatures.create``, as an item.

    :meth:`~signing_async.sofia.OtpSignatures.create_many` takes these or
    mappings with the same keys. (``OtpSignatureRequest`` is what ``create``
    answers.)

    Attributes:
        transaction_id: Your unique id for the transaction: the bulk key.
        user_selfie: The signer's selfie, JPEG or PNG.
        image_front: The front of the signer's ID, JPEG or PNG.
        document_sign: The PDF to sign.
        phone: Where the OTP is sent by SMS.
        email: Where the OTP is sent by e-mail.
        image_back: The back of the signer's ID, JPEG or PNG (optional).
        tenant_id: Overrides ``SofiaConfig.tenant_id`` for this request.
    """

    transaction_id: str
    user_selfie: DocumentSource = attrs.field(repr=False)
    image_front: DocumentSource = attrs.field(repr=False)
    document_sign: DocumentSource = attrs.field(repr=False)
    phone: str
    email: str
    image_back: DocumentSource | None = attrs.field(default=None, repr=False)
    tenant_id: str | None = None
