"""DANAsign response models, and the document statuses.

DANAsign answers in a mix of camelCase (``objectId``, ``createdAt``) and
PascalCase (``Name``, ``SendinOrder``); the fields here are snake_case and the
converter matches keys ignoring case and underscores. Keys no field claims
are kept in ``raw``: the server may add fields at any time.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "ApiSession",
    "BatchResult",
    "Contact",
    "CreatedDocument",
    "DocumentStatus",
    "DocumentSummary",
    "Template",
    "TemplateDocument",
    "TemplateSummary",
    "WhoAmI",
]


class DocumentStatus(str, enum.Enum):
    """The statuses ``client.documents.list`` filters on.

    Taken from OpenSign's implementation (the documentation's list is cut
    short); ``sent`` appears in the documentation's examples. Any other
    string is passed through as is.
    """

    DRAFT = "draft"
    SIGNATURE_REQUEST = "signaturerequest"
    IN_PROGRESS = "inprogress"
    COMPLETED = "completed"
    EXPIRED = "expired"
    DECLINED = "declined"
    SENT = "sent"

    def __str__(self) -> str:
        return self.value


def _raw() -> Any:
    return attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class ApiSession:
    """A Parse session created from the API token.

    Attributes:
        session_token: The session token (``r:...``; never shown in ``repr``).
            Sent as ``X-Parse-Session-Token``. It does not expire on its own.
        user_id: The user the token belongs to.
        scopes: The API token's scopes.
        token: What the server says about the API token.
        raw: Keys of the answer no field claims.
    """

    session_token: str = attrs.field(repr=False)
    user_id: str | None = None
    scopes: tuple[str, ...] = ()
    token: Any = attrs.field(default=None, repr=False)
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class WhoAmI:
    """The user behind the API token, and the token's scopes.

    Attributes:
        user_id: The user's id (taken from ``user.objectId`` when not given at the top).
        email: The user's e-mail, when the server says.
        name: The user's name, when the server says.
        scopes: The API token's scopes.
        user: The user object as the server sent it.
        token: What the server says about the API token.
        raw: Keys of the answer no field claims.
    """

    user_id: str | None = None
    email: str | None = None
    name: str | None = None
    scopes: tuple[str, ...] = ()
    # Loosely documented: kept as the server sends them.
    user: Any = None
    token: Any = attrs.field(default=None, repr=False)
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class Contact:
    """A DANAsign contact.

    Attributes:
        object_id: DANAsign's id for the contact.
        name: Full name.
        email: E-mail address.
        phone: Phone number.
        created_at: When it was created.
        updated_at: When it last changed.
        raw: Keys of the answer no field claims.
    """

    object_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class BatchResult:
    """The outcome of ``client.contacts.create_batch``.

    Attributes:
        success: Contacts created.
        failed: Contacts rejected (``raw`` holds any detail the server gave).
        raw: Keys of the answer no field claims.
    """

    success: int = 0
    failed: int = 0
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class DocumentSummary:
    """A document in a listing.

    Attributes:
        document_id: DANAsign's id for the document.
        title: The document's title.
        status: Its status; compare with :class:`DocumentStatus` members.
        created_at: When it was created.
        updated_at: When it last changed.
        raw: Keys of the answer no field claims.
    """

    document_id: str
    title: str | None = None
    status: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class CreatedDocument:
    """A document created from a PDF and sent for signature.

    Attributes:
        document_id: DANAsign's id for the document.
        status: Its status (``sent``).
        sent_at: When it was sent.
        expires_at: When the signature request expires.
        raw: Keys of the answer no field claims.
    """

    document_id: str
    status: str | None = None
    sent_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class TemplateDocument:
    """A document created from a template.

    Attributes:
        document_id: DANAsign's id for the document.
        template_id: The template it was made from.
        title: The document's title.
        status: Its status (``draft``).
        created_at: When it was created.
        updated_at: When it last changed.
        raw: Keys of the answer no field claims.
    """

    document_id: str
    template_id: str | None = None
    title: str | None = None
    status: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class TemplateSummary:
    """A template in a listing.

    Attributes:
        object_id: DANAsign's id for the template.
        name: The template's name.
        description: Its description.
        signature_type: The enabled signature types (``("draw", "typed")``).
        send_in_order: Whether signers sign one after another.
        automatic_reminders: Whether reminders are sent.
        time_to_complete_days: Days before a request expires.
        remind_once_in_every: Days between reminders.
        created_at: When it was created.
        updated_at: When it last changed.
        raw: Keys of the answer no field claims.
    """

    object_id: str
    name: str | None = None
    description: str | None = None
    signature_type: tuple[str, ...] = ()
    send_in_order: bool | None = None
    automatic_reminders: bool | None = None
    time_to_complete_days: int | None = None
    remind_once_in_every: int | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class TemplateWidget:
    """A field of a template placeholder: where a signer signs (or fills in).

    Attributes:
        type: ``signature``, ``initials``, ``date``, … as the server names it.
        page: The page, from 1.
        x: Left edge, in points from the page's left.
        y: Top edge, in points from the page's top.
        w: Width, in points.
        h: Height, in points.
        raw: The widget's other keys, as sent (``options``, ``key``…).
    """

    type: str | None = None
    page: int | None = None
    x: float | None = None
    y: float | None = None
    w: float | None = None
    h: float | None = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class TemplatePlaceholder:
    """One signer role of a template and its widgets.

    Read from OpenSign's shape (``{"Id", "Role", "placeHolder": [{"pageNumber",
    "pos": [{"type", "xPosition", "yPosition", "Width", "Height"}]}]}``); a
    placeholder of another shape keeps what it held in ``raw``.

    Attributes:
        role: The role a document created from the template fills with a signer.
        id: The placeholder's id in the template.
        widgets: Its widgets, every page's in order.
        raw: The placeholder's other keys, as sent (``blockColor``, ``signerPtr``…).
    """

    role: str | None = None
    id: str | None = None
    widgets: tuple[TemplateWidget, ...] = ()
    raw: Mapping[str, Any] = _raw()


@attrs.frozen
class Template(TemplateSummary):
    """A template in full.

    Besides the fields of :class:`TemplateSummary`:

    Attributes:
        is_enable_otp: Whether signers confirm with a one-time password.
        allow_modifications: Whether signers may change the document.
        notify_on_signatures: Whether the owner is told of each signature.
        redirect_url: Where signers go after signing.
        placeholders: The template's signer roles and their widgets
            (each keeps the keys the SDK does not read in its ``raw``).
        signers: The template's signer roles, as the server sent them.
        bcc: Who is copied on completed documents, as the server sent them.
        ext_user_ptr: The owner, as the server sent it.
    """

    is_enable_otp: bool | None = None
    allow_modifications: bool | None = None
    notify_on_signatures: bool | None = None
    redirect_url: str | None = None
    placeholders: tuple[TemplatePlaceholder, ...] = ()
    # OpenSign's shapes for these vary between versions: kept as sent.
    signers: tuple[Any, ...] = ()
    bcc: tuple[Any, ...] = ()
    ext_user_ptr: Any = None
