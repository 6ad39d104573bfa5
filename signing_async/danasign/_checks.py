"""Checks run on DANAsign requests before anything is sent.

Each rule raises :class:`~signing_async.ValidationError` naming the exact
field, as the caller would write it: ``signers[0].email``,
``placeholders[1].role``, ``placeholders[0].widgets[2].w``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .._core.coerce import build, build_many
from .._core.errors import ValidationError
from .._core.validation import (
    require_email,
    require_in_range,
    require_string,
    require_text,
    shown,
)
from ._requests import (
    DocumentMetadata,
    DocumentSettings,
    NewContact,
    Placeholder,
    Prefill,
    Signer,
    TemplateDefault,
    TemplateSigner,
    Widget,
)

__all__ = [
    "SIGNATURE",
    "check_contact",
    "check_defaults",
    "check_metadata",
    "check_placeholders",
    "check_prefill",
    "check_settings",
    "check_signers",
    "check_template_signers",
]

SIGNATURE = "signature"
"""The widget type every signer needs at least one of."""


def _number(value: object, field: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int past what a float holds (10**400)
            number = math.inf
        if math.isfinite(number):
            return number
    raise ValidationError(field, f"must be a number, not {shown(value)}")


MAX_PAGE = 1_000_000
"""The highest page a widget may name: more than any document has, and a
number every JSON reader takes (an integer of thousands of digits is not)."""


def _optional_bool(value: object, field: str) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError(field, f"must be true or false, not {shown(value)}")


def _optional_text(value: object, field: str) -> None:
    if value is not None:
        require_text(value, field)


def check_box(box: Widget | Prefill, field: str) -> None:
    """A widget's type, page and geometry: page >= 1, x, y >= 0, w, h > 0."""
    require_text(box.type, f"{field}.type")
    page = box.page
    if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= MAX_PAGE:
        raise ValidationError(
            f"{field}.page",
            f"must be an integer from 1 to {MAX_PAGE:,} (pages count from 1), not {shown(page)}",
        )
    for name in ("x", "y"):
        if _number(getattr(box, name), f"{field}.{name}") < 0:
            raise ValidationError(
                f"{field}.{name}", "must be >= 0 (the origin is the page's top-left corner)"
            )
    for name in ("w", "h"):
        value = _number(getattr(box, name), f"{field}.{name}")
        if value <= 0:
            raise ValidationError(f"{field}.{name}", f"must be positive, not {value:g}")


def check_signers(signers: object) -> tuple[Signer, ...]:
    """At least one signer; each with a unique role, a name and a valid e-mail."""
    built = build_many(Signer, signers, "signers")
    if not built:
        raise ValidationError("signers", "at least one signer is required")
    roles: dict[str, int] = {}
    for index, signer in enumerate(built):
        field = f"signers[{index}]"
        require_text(signer.role, f"{field}.role")
        require_text(signer.name, f"{field}.name")
        require_email(signer.email, f"{field}.email")
        if signer.role in roles:
            # Placeholders are matched to signers by role: two signers with
            # one role cannot be told apart.
            raise ValidationError(
                f"{field}.role",
                f"{signer.role!r} is already the role of signers[{roles[signer.role]}]",
            )
        roles[signer.role] = index
        check = signer.identity_verification
        if check is not None:
            where = f"{field}.identity_verification"
            if not isinstance(check.enabled, bool):
                raise ValidationError(f"{where}.enabled", "must be true or false")
            _optional_bool(check.require_document, f"{where}.require_document")
            if check.threshold is not None:
                require_in_range(check.threshold, 0, 100, f"{where}.threshold")
            if check.notes is not None:
                require_string(check.notes, f"{where}.notes")
    return built


def check_placeholders(placeholders: object, signers: Sequence[Signer]) -> tuple[Placeholder, ...]:
    """Each placeholder names a signer's role; every signer gets a signature widget."""
    built = build_many(Placeholder, placeholders, "placeholders")
    if not built:
        raise ValidationError("placeholders", "at least one placeholder is required")
    roles = [signer.role for signer in signers]
    for index, placeholder in enumerate(built):
        field = f"placeholders[{index}]"
        require_text(placeholder.role, f"{field}.role")
        if placeholder.role not in roles:
            raise ValidationError(
                f"{field}.role", f"{placeholder.role!r} matches no signer's role (roles: {roles})"
            )
        if not placeholder.widgets:
            raise ValidationError(f"{field}.widgets", "at least one widget is required")
        for number, widget in enumerate(placeholder.widgets):
            check_box(widget, f"{field}.widgets[{number}]")
    signing = {
        placeholder.role
        for placeholder in built
        if any(widget.type.lower() == SIGNATURE for widget in placeholder.widgets)
    }
    for index, signer in enumerate(signers):
        if signer.role not in signing:
            raise ValidationError(
                f"signers[{index}]",
                f"role {signer.role!r} has no {SIGNATURE!r} widget in placeholders",
            )
    return built


def check_prefill(prefill: object) -> tuple[Prefill, ...]:
    """Each prefilled field has a valid box, a name and a text."""
    built = build_many(Prefill, prefill, "prefill")
    for index, item in enumerate(built):
        field = f"prefill[{index}]"
        check_box(item, field)
        options = item.options
        require_text(options.name, f"{field}.options.name")
        require_string(options.response, f"{field}.options.response")
        if (
            options.font_size is not None
            and _number(options.font_size, f"{field}.options.font_size") <= 0
        ):
            raise ValidationError(f"{field}.options.font_size", "must be positive")
        _optional_text(options.font_color, f"{field}.options.font_color")
    return built


def check_settings(settings: object) -> DocumentSettings:
    """Types of the settings, a positive deadline, valid Bcc addresses."""
    built = build(DocumentSettings, settings, "settings")
    for name in ("send_in_order", "allow_modifications", "automatic_reminders"):
        _optional_bool(getattr(built, name), f"settings.{name}")
    if built.time_to_complete_days is not None:
        require_in_range(built.time_to_complete_days, 1, 3650, "settings.time_to_complete_days")
    _optional_text(built.redirect_url, "settings.redirect_url")
    for index, bcc in enumerate(built.bcc or ()):
        require_email(bcc.email, f"settings.bcc[{index}].email")
        _optional_text(bcc.name, f"settings.bcc[{index}].name")
    return built


def check_metadata(metadata: object) -> DocumentMetadata:
    """A non-empty external id and non-empty string tags."""
    built = build(DocumentMetadata, metadata, "metadata")
    require_text(built.external_id, "metadata.external_id")
    for index, tag in enumerate(built.tags):
        require_text(tag, f"metadata.tags[{index}]")
    return built


def check_template_signers(signers: object) -> tuple[TemplateSigner, ...]:
    """At least one signer; each with a role, a name and a valid e-mail."""
    built = build_many(TemplateSigner, signers, "signers")
    if not built:
        raise ValidationError("signers", "at least one signer is required")
    for index, signer in enumerate(built):
        field = f"signers[{index}]"
        require_text(signer.role, f"{field}.role")
        require_text(signer.name, f"{field}.name")
        require_email(signer.email, f"{field}.email")
    return built


def check_defaults(defaults: object) -> tuple[TemplateDefault, ...]:
    """Each default names a field and gives it a string."""
    built = build_many(TemplateDefault, defaults, "defaults")
    for index, default in enumerate(built):
        require_text(default.name, f"defaults[{index}].name")
        require_string(default.default, f"defaults[{index}].default")
    return built


def check_contact(contact: object, field: str) -> NewContact:
    """A name, a valid e-mail and an optional non-empty phone.

    ``field`` prefixes the names in errors (``contacts[2]``); empty for the
    keyword arguments of ``contacts.create``.
    """
    built = (
        contact  # nothing to build: this runs on every contacts.create
        if type(contact) is NewContact
        else build(NewContact, contact, field or "contact")
    )
    prefix = f"{field}." if field else ""
    require_text(built.name, f"{prefix}name")
    require_email(built.email, f"{prefix}email")
    if built.phone is not None:
        require_text(built.phone, f"{prefix}phone")
    return built
