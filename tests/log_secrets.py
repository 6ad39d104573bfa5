"""The suite-wide secret check: the credentials the tests use, and a handler that spots them.

``tests/conftest.py`` attaches a :class:`SecretWatch` around every test.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from signing_async.sandbox import SandboxCredentials

__all__ = ["SECRET", "SecretWatch", "logged_text"]


def _basic(user: str, password: str) -> str:
    """The credentials part of a Basic Authorization header."""
    return base64.b64encode(f"{user}:{password}".encode()).decode()


_SANDBOX = SandboxCredentials()  # the sandbox's fixed defaults

_SECRETS = (
    # The sandbox's defaults.
    _SANDBOX.danaconnect_client_secret,
    _SANDBOX.danasign_api_token,
    _SANDBOX.danasign_readonly_token,
    _SANDBOX.sofia_client_secret,
    _basic(_SANDBOX.danaconnect_client_id, _SANDBOX.danaconnect_client_secret),
    _basic(_SANDBOX.sofia_client_id, _SANDBOX.sofia_client_secret),
    # integration/support.py: the sandbox's credentials in the integration tests.
    "dc-Secret-8f3a1c90",
    "ds-ApiToken-51b7e2d4",
    "ds-ReadOnly-0c94d6a1",
    "sofia-Secret-7d2e90b3",
    _basic("dc-client-4e1a", "dc-Secret-8f3a1c90"),
    _basic("sofia-client-93", "sofia-Secret-7d2e90b3"),
    # danaconnect/: the fake's client secret and issued tokens.
    "Sup3r-S3cret-Value-9f2",
    _basic("acme-client-id", "Sup3r-S3cret-Value-9f2"),
    "leaked-token-123",
    "loopback-token",
    # danasign/ and cli/: API and session tokens, secrets in the environment.
    "dsk_live_7f3a9c1e5b2d8046",
    "ds-token-5be1",
    "r:3f9a8b7c6d5e",
    "r:leaked-session",
    "r:session-4f1e9",
    "dc-secret-7f3a",
    "so-secret-91c2",
    # sofia/sofia_support.py.
    "s3cr3t-Sofia-pa55",
    _basic("acme-client", "s3cr3t-Sofia-pa55"),
    # trio/conftest.py.
    "trio-Secret-7c1f",
    "at-trio-3b9e",
    _basic("trio-client", "trio-Secret-7c1f"),
    # fleet/test_tokens.py: a DSN's password.
    "pg-Pa55-9e1d",
    # Wrong credentials that tests send on purpose: no less secret for being wrong.
    "not-the-secret",
    "not-a-token",
    "hunter2",
)
_SECRET_PATTERNS = (
    r"access-\d+-Zq8WvT",  # danaconnect/conftest.py's issued access tokens
    r"live-token-\d+-Xy",  # danaconnect/test_no_secrets.py's
    r"fleet-tok-\d+-Qp",  # fleet/test_tokens.py's
)
SECRET = re.compile("|".join([*map(re.escape, _SECRETS), *_SECRET_PATTERNS]))
"""Any credential value the test suite hands to the SDK or to its fake servers."""


def logged_text(record: logging.LogRecord) -> str:
    """What a record says: its message, and the type and text of each exception it carries.

    Exceptions are followed through their causes, contexts and groups. Source
    lines of a traceback are left out: they are code, not logged data.
    """
    parts = [record.getMessage()]
    pending: list[BaseException | None] = [record.exc_info[1]] if record.exc_info else []
    seen: set[int] = set()
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        parts.append(f"{type(exc).__name__}: {exc}")
        pending += [exc.__cause__, exc.__context__]
        # An exception group's own text counts its members but does not show them.
        members = getattr(exc, "exceptions", ())
        if isinstance(members, tuple):
            pending += [member for member in members if isinstance(member, BaseException)]
    return "\n".join(parts)


class SecretWatch(logging.Handler):
    """Remembers every log record whose text holds a known secret.

    Attributes:
        leaks: One line per offending record: logger, level, secrets found, text.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._leaks: dict[int, str] = {}

    @property
    def leaks(self) -> list[str]:
        return list(self._leaks.values())

    def emit(self, record: logging.LogRecord) -> None:
        text = logged_text(record)
        found = sorted(set(SECRET.findall(text)))
        if found:
            # Keyed by record: attached to two loggers, it sees some records twice.
            self._leaks[id(record)] = f"{record.name} {record.levelname} {found}: {text!r}"

    @contextmanager
    def attached(self) -> Iterator[None]:
        """Watch the root and ``signing_async`` loggers at DEBUG, then restore their levels."""
        loggers = [logging.getLogger(), logging.getLogger("signing_async")]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.addHandler(self)
            logger.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.removeHandler(self)
                logger.setLevel(level)
