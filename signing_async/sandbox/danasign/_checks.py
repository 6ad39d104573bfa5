"""Validation of DANAsign document requests: signers, placeholders, prefill, settings, metadata."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._http import is_int, is_number, nonempty_str, valid_email
from .._uploads import Invalid

__all__ = [
    "check_entries",
    "check_list",
    "check_metadata",
    "check_object",
    "check_placeholders",
    "check_prefill",
    "check_settings",
    "check_signers",
]

WIDGET_TYPES = frozenset(
    {
        "signature",
        "stamp",
        "initials",
        "name",
        "email",
        "date",
        "textbox",
        "checkbox",
        "radio button",
        "dropdown",
        "image",
        "job title",
        "company",
        "number",
    }
)
DEFAULT_DAYS_TO_COMPLETE = 15
# The SDK's own bound: ten years. Larger values would also overflow the date
# arithmetic of expiresAt.
MAX_DAYS_TO_COMPLETE = 3650
# Geometry is bounded by the largest page PDF allows (14,400 points, 200 in).
MAX_COORDINATE = 14_400
MAX_PAGE = 100_000


def check_object(value: Any, field: str) -> dict[str, Any]:
    """``value`` if it is a JSON object.

    Raises:
        Invalid: If it is not.
    """
    if not isinstance(value, dict):
        raise Invalid(f"{field}: must be an object")
    return value


def check_list(value: Any, field: str, *, nonempty: bool = False) -> list[Any]:
    """``value`` if it is a list (a non-empty one with ``nonempty``).

    Raises:
        Invalid: If it is not.
    """
    if not isinstance(value, list) or (nonempty and not value):
        raise Invalid(f"{field}: must be a {'non-empty ' if nonempty else ''}list")
    return value


def check_entries(value: Any, field: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each object of the optional list ``value``, with its field name (``bcc[2]``).

    Raises:
        Invalid: ``value`` is neither absent nor a list, or an entry is not an object.
    """
    if value is None:
        return
    for index, raw in enumerate(check_list(value, field)):
        name = f"{field}[{index}]"
        yield name, check_object(raw, name)


def _check_optional(data: dict[str, Any], key: str, field: str, kind: type, what: str) -> None:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise Invalid(f"{field}.{key}: must be {what}")


def _check_box(item: dict[str, Any], field: str) -> str:
    """Check type, page and geometry of a widget or prefill; return its type."""
    kind = item.get("type")
    if not isinstance(kind, str) or kind.lower() not in WIDGET_TYPES:
        raise Invalid(f"{field}.type: unknown widget type {kind!r}")
    page = item.get("page")
    if not is_int(page) or not 1 <= page <= MAX_PAGE:
        raise Invalid(f"{field}.page: must be an integer from 1 to {MAX_PAGE}")
    for key in ("x", "y"):
        if not is_number(item.get(key)) or not 0 <= item[key] <= MAX_COORDINATE:
            raise Invalid(f"{field}.{key}: must be a number from 0 to {MAX_COORDINATE}")
    for key in ("w", "h"):
        if not is_number(item.get(key)) or not 0 < item[key] <= MAX_COORDINATE:
            raise Invalid(f"{field}.{key}: must be a number > 0 and <= {MAX_COORDINATE}")
    return kind.lower()


def check_signers(value: Any) -> list[dict[str, Any]]:
    """Check the signers (unique roles, names, e-mails, identity verification); return them.

    Raises:
        Invalid: For the first problem found.
    """
    signers = check_list(value, "signers", nonempty=True)
    roles: set[str] = set()
    for index, raw in enumerate(signers):
        field = f"signers[{index}]"
        signer = check_object(raw, field)
        role = signer.get("role")
        if not nonempty_str(role):
            raise Invalid(f"{field}.role: must be a non-empty string")
        if role in roles:
            raise Invalid(f"{field}.role: duplicate role {role!r}")
        roles.add(role)
        if not nonempty_str(signer.get("name")):
            raise Invalid(f"{field}.name: must be a non-empty string")
        if not valid_email(signer.get("email")):
            raise Invalid(f"{field}.email: must be a valid e-mail address")
        verification = signer.get("identityVerification")
        if verification is not None:
            sub = f"{field}.identityVerification"
            verification = check_object(verification, sub)
            _check_optional(verification, "enabled", sub, bool, "true or false")
            _check_optional(verification, "requireDocument", sub, bool, "true or false")
            _check_optional(verification, "notes", sub, str, "a string")
            threshold = verification.get("threshold")
            if threshold is not None and (not is_number(threshold) or not 0 <= threshold <= 100):
                raise Invalid(f"{sub}.threshold: must be a number from 0 to 100")
    return signers


def check_placeholders(value: Any, roles: list[str]) -> None:
    """Check the widgets; every signer's role needs a signature widget.

    Raises:
        Invalid: For the first problem found.
    """
    placeholders = check_list(value, "placeholders", nonempty=True)
    signed: set[str] = set()
    for index, raw in enumerate(placeholders):
        field = f"placeholders[{index}]"
        placeholder = check_object(raw, field)
        role = placeholder.get("role")
        if not isinstance(role, str) or role not in roles:
            raise Invalid(f"{field}.role: {role!r} matches no signer's role")
        widgets = check_list(placeholder.get("widgets"), f"{field}.widgets", nonempty=True)
        for position, widget in enumerate(widgets):
            sub = f"{field}.widgets[{position}]"
            if _check_box(check_object(widget, sub), sub) == "signature":
                signed.add(role)
    for index, role in enumerate(roles):
        if role not in signed:
            raise Invalid(f"signers[{index}]: role {role!r} has no signature widget")


def check_prefill(value: Any) -> None:
    """Check the optional prefilled fields.

    Raises:
        Invalid: For the first problem found.
    """
    if value is None:
        return
    for index, raw in enumerate(check_list(value, "prefill")):
        field = f"prefill[{index}]"
        item = check_object(raw, field)
        _check_box(item, field)
        options = check_object(item.get("options"), f"{field}.options")
        if not nonempty_str(options.get("name")):
            raise Invalid(f"{field}.options.name: must be a non-empty string")
        font_size = options.get("fontSize")
        if font_size is not None and (
            not is_number(font_size) or not 0 < font_size <= MAX_COORDINATE
        ):
            raise Invalid(f"{field}.options.fontSize: must be a number > 0 and <= {MAX_COORDINATE}")
        _check_optional(options, "fontColor", f"{field}.options", str, "a string")


def check_settings(value: Any) -> int:
    """Check the settings; return the days to complete."""
    if value is None:
        return DEFAULT_DAYS_TO_COMPLETE
    settings = check_object(value, "settings")
    for key in ("sendInOrder", "allowModifications", "automaticReminders"):
        _check_optional(settings, key, "settings", bool, "true or false")
    _check_optional(settings, "redirectUrl", "settings", str, "a URL string")
    days = settings.get("timeToCompleteDays")
    if days is not None and (not is_int(days) or not 1 <= days <= MAX_DAYS_TO_COMPLETE):
        raise Invalid(
            f"settings.timeToCompleteDays: must be an integer from 1 to {MAX_DAYS_TO_COMPLETE}"
        )
    for field, entry in check_entries(settings.get("bcc"), "settings.bcc"):
        if not valid_email(entry.get("email")):
            raise Invalid(f"{field}.email: must be a valid e-mail address")
        _check_optional(entry, "name", field, str, "a string")
    return DEFAULT_DAYS_TO_COMPLETE if days is None else days


def check_metadata(value: Any) -> None:
    """Check the optional metadata (``externalId``, ``tags``).

    Raises:
        Invalid: For the first problem found.
    """
    if value is None:
        return
    metadata = check_object(value, "metadata")
    external_id = metadata.get("externalId")
    if external_id is not None and not nonempty_str(external_id):
        raise Invalid("metadata.externalId: must be a non-empty string")
    tags = metadata.get("tags")
    if tags is not None and not (
        isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)
    ):
        raise Invalid("metadata.tags: must be a list of strings")
