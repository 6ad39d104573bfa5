"""DANAsign request models: snake_case here, camelCase on the wire.

Optional fields default to None so the encoder leaves them out of the JSON
instead of sending ``null``. Every method that takes these objects also
takes plain mappings with the same snake_case keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from .._core.errors import ValidationError
from .._core.sources import DocumentSource

__all__ = [
    "Bcc",
    "DocumentMetadata",
    "DocumentRequest",
    "DocumentSettings",
    "IdentityVerification",
    "NewContact",
    "Placeholder",
    "Prefill",
    "PrefillOptions",
    "Signer",
    "TemplateDefault",
    "TemplateSigner",
    "Widget",
]


@attrs.frozen
class IdentityVerification:
    """Identity checks a signer passes before signing.

    Attributes:
        enabled: Whether the check runs.
        require_document: Whether an identity document must be shown.
        threshold: The match score required, 0..100.
        notes: Shown to the signer.
    """

    enabled: bool = True
    require_document: bool | None = None
    threshold: int | None = None
    notes: str | None = None


@attrs.frozen
class Signer:
    """A person who signs a document created from a PDF.

    Attributes:
        role: The role name; placeholders refer to it.
        name: Full name.
        email: E-mail address (where the signing link goes).
        identity_verification: Optional identity checks.
    """

    role: str
    name: str
    email: str
    identity_verification: IdentityVerification | None = None


@attrs.frozen
class Widget:
    """A field placed on the PDF for one role.

    Coordinates are points (72 per inch) from the page's top-left corner, y
    downward; see :mod:`signing_async.danasign.units` for conversions.

    Attributes:
        type: ``signature``, ``initials``, ``date``, ``textbox``, ``checkbox``...
        page: The page, counting from 1.
        x: Left edge, in points.
        y: Top edge, in points.
        w: Width, in points.
        h: Height, in points.
    """

    type: str
    page: int
    x: float
    y: float
    w: float
    h: float


def _sequence(value: object, field: str) -> tuple[Any, ...]:
    # A converter's error names only its own field; build() prefixes the path.
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError(field, f"expected a sequence, not {type(value).__name__}")
    return tuple(value)


def _widgets(value: Iterable[Widget]) -> tuple[Widget, ...]:
    return _sequence(value, "widgets")


@attrs.frozen
class Placeholder:
    """The widgets of one signer role.

    Attributes:
        role: A signer's role.
        widgets: Where that signer signs and fills in; at least one ``signature``.
    """

    role: str
    widgets: tuple[Widget, ...] = attrs.field(converter=_widgets)


@attrs.frozen
class PrefillOptions:
    """What a prefilled field shows.

    Attributes:
        name: The field's name.
        response: The text written into the field.
        font_size: Font size, in points.
        font_color: A CSS colour such as ``#1F2937``.
    """

    name: str
    response: str
    font_size: float | None = None
    font_color: str | None = None


@attrs.frozen
class Prefill:
    """A field filled in before the document is sent.

    Attributes:
        type: The widget type (usually ``textbox``).
        page: The page, counting from 1.
        x: Left edge, in points.
        y: Top edge, in points.
        w: Width, in points.
        h: Height, in points.
        options: The field's name and content.
    """

    type: str
    page: int
    x: float
    y: float
    w: float
    h: float
    options: PrefillOptions


@attrs.frozen
class Bcc:
    """Someone copied on the completed document.

    Attributes:
        email: E-mail address.
        name: Display name.
    """

    email: str
    name: str | None = None


def _bcc(value: Iterable[Bcc] | None) -> tuple[Bcc, ...] | None:
    return None if value is None else _sequence(value, "bcc")


@attrs.frozen
class DocumentSettings:
    """How the signing process runs; unset fields keep the account's defaults.

    Attributes:
        send_in_order: Signers sign one after another, in list order.
        allow_modifications: Signers may change the document.
        automatic_reminders: Remind signers who have not signed.
        time_to_complete_days: Days before the request expires.
        redirect_url: Where signers go after signing.
        bcc: Who is copied on the completed document.
    """

    send_in_order: bool | None = None
    allow_modifications: bool | None = None
    automatic_reminders: bool | None = None
    time_to_complete_days: int | None = None
    redirect_url: str | None = None
    bcc: tuple[Bcc, ...] | None = attrs.field(default=None, converter=_bcc)


def _tags(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        # tuple("abc") would silently become three one-letter tags.
        raise ValidationError("tags", "expected a sequence of strings, not a single string")
    return _sequence(value, "tags")


@attrs.frozen
class DocumentMetadata:
    """Your own data attached to a document.

    Attributes:
        external_id: Your id for the document (bulk sends use it as the item's key).
        tags: Free-form labels.
    """

    external_id: str
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)


@attrs.frozen
class TemplateSigner:
    """A person who fills one role of a template.

    Attributes:
        role: The template's role name.
        name: Full name.
        email: E-mail address.
    """

    role: str
    name: str
    email: str


@attrs.frozen
class TemplateDefault:
    """A value for one of a template's fields.

    Attributes:
        name: The field's name in the template.
        default: The value.
    """

    name: str
    default: str


@attrs.frozen
class NewContact:
    """A contact to create in bulk (``client.contacts.create_batch`` or ``create_many``).

    Attributes:
        name: Full name.
        email: E-mail address.
        phone: Phone number.
    """

    name: str
    email: str
    phone: str | None = None


@attrs.frozen
class DocumentRequest:
    """One document to create: the arguments of ``client.documents.create``, as an item.

    :meth:`~signing_async.danasign.Documents.create_many` takes these or
    mappings with the same keys.

    Attributes:
        file: The PDF: a path (streamed), bytes or a :class:`~signing_async.Document`.
        title: The document's title.
        signers: Who signs: :class:`Signer` s or mappings of their fields.
        placeholders: Each role's widgets: :class:`Placeholder` s or mappings.
        filename: The file name DANAsign shows; the source's name by default.
        prefill: Fields filled in before sending.
        settings: Signing-process settings.
        metadata: Your external id (the bulk key, unique within a job) and tags.
    """

    file: DocumentSource = attrs.field(repr=False)
    title: str
    signers: Sequence[Signer | Mapping[str, Any]]
    placeholders: Sequence[Placeholder | Mapping[str, Any]]
    filename: str | None = None
    prefill: Sequence[Prefill | Mapping[str, Any]] = ()
    settings: DocumentSettings | Mapping[str, Any] | None = None
    metadata: DocumentMetadata | Mapping[str, Any] | None = None
