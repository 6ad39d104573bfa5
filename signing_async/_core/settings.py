"""Checks shared by the provider configs and the client's settings, run when they are made.

No message here ever quotes a text setting's value: some of them are
credentials. Only a number of seconds is shown (:func:`require_seconds`).
"""

from __future__ import annotations

from .errors import ConfigurationError
from .validation import id_problem, shown, text_problem

__all__ = [
    "require_basic_user",
    "require_credentials",
    "require_flags",
    "require_id_settings",
    "require_instance",
    "require_seconds",
    "require_settings",
]

MAX_SECONDS = 10_000_000
"""The longest duration a setting may give: about 115 days. Past it a number
is a mistake (a value in milliseconds, 10**400), and an event loop's timer
cannot hold every number (a float overflows)."""

_CONTROL = frozenset(chr(code) for code in (*range(32), 127))


def require_settings(config: object, *names: str) -> None:
    """Each named attribute of ``config`` must be a non-blank, single-line string.

    Credentials end up in HTTP headers: a line break would split the header
    (and aiohttp would refuse it with a traceback much later), so it is
    refused here, naming the field but never echoing its value. A lone
    surrogate, which no encoder accepts, is refused too.
    """
    owner = type(config).__name__
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{owner}.{name} must be a non-empty string")
        if not _CONTROL.isdisjoint(value):
            raise ConfigurationError(f"{owner}.{name} must not contain control characters")
        if text_problem(value) is not None:
            raise ConfigurationError(
                f"{owner}.{name} holds a lone surrogate, which is not text "
                "(was it read from bytes that are not UTF-8?)"
            )


def require_instance(value: object, expected: type, name: str) -> None:
    """``value`` must be None or an ``expected``: a config passed where it belongs.

    Checked when the client is made, not at the first call, where a string
    given as a config would surface as an ``AttributeError``.
    """
    if value is not None and not isinstance(value, expected):
        raise ConfigurationError(
            f"{name} must be a {expected.__name__} or None, not {type(value).__name__}"
        )


def require_credentials(config: object, *names: str) -> None:
    """Like :func:`require_settings`, and each must be printable ASCII.

    Credentials travel in HTTP headers (``x-api-token``) or inside HTTP Basic,
    whose character set servers disagree on: outside ASCII the request would
    fail with an encoder's error that quotes the credential, or be refused
    by the server as a wrong password. Refused here, never echoed.
    """
    require_settings(config, *names)
    owner = type(config).__name__
    for name in names:
        value: str = getattr(config, name)
        if not (value.isascii() and value.isprintable()):
            raise ConfigurationError(
                f"{owner}.{name} must be printable ASCII (it holds another character)"
            )


def require_basic_user(config: object, name: str) -> None:
    """The user of HTTP Basic must not hold ``:``, which joins it to the password.

    RFC 7617 splits at the first colon: ``acme:ops`` with password ``pw``
    would reach the server as user ``acme``, password ``ops:pw``.
    """
    if ":" in getattr(config, name):
        raise ConfigurationError(f"{type(config).__name__}.{name} must not contain ':'")


def require_flags(config: object, *names: str) -> None:
    """Each named attribute of ``config`` must be ``True`` or ``False``.

    Only tested for truth later: ``allow_insecure="false"`` would allow it.
    """
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, bool):
            raise ConfigurationError(
                f"{type(config).__name__}.{name} must be True or False,"
                f" not a {type(value).__name__}"
            )


def require_id_settings(config: object, *names: str) -> None:
    """Like :func:`require_settings`, and each must be fit for an identifier (URL paths).

    See :func:`~signing_async._core.validation.id_problem`: no ``.`` or ``..``,
    no control characters, at most 1 KiB.
    """
    require_settings(config, *names)
    owner = type(config).__name__
    for name in names:
        problem = id_problem(getattr(config, name))
        if problem is not None:
            raise ConfigurationError(f"{owner}.{name} {problem}")


def require_seconds(
    value: object, name: str, *, optional: bool = False, zero: bool = False
) -> None:
    """``value`` must be a number of seconds: finite, more than 0 (or 0, with ``zero``).

    None passes with ``optional``. A bool, a string, NaN or a number past
    :data:`MAX_SECONDS` is refused when the setting is made, not at the first
    call that uses it (mid-call, after a request may have left).
    """
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        either = " or None" if optional else ""
        raise ConfigurationError(
            f"{name} must be a number of seconds{either}, not a {type(value).__name__}"
        )
    low = "0 or more" if zero else "more than 0"
    if not ((value >= 0) if zero else (value > 0)) or not value <= MAX_SECONDS:  # NaN fails both
        raise ConfigurationError(
            f"{name} must be {low} and at most {MAX_SECONDS:,} seconds, not {shown(value)}"
        )
