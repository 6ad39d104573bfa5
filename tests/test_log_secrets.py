"""The suite-wide secret check itself: what it flags, what it leaves alone, where it listens."""

from __future__ import annotations

import logging
import sys
from types import TracebackType

from signing_async.sandbox import SandboxCredentials

from .log_secrets import SECRET, SecretWatch

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    """A record as ``logger.debug(message, *args, exc_info=exc)`` would make it."""
    exc_info: ExcInfo | None = None
    if exc is not None:
        exc_info = (type(exc), exc, exc.__traceback__)
    return logging.LogRecord(
        "signing_async.test", logging.DEBUG, __file__, 1, message, args, exc_info
    )


def flagged(*records: logging.LogRecord) -> list[str]:
    # handle(), not a logger: the watch around this very test sees nothing.
    watch = SecretWatch()
    for one in records:
        watch.handle(one)
    return watch.leaks


def test_the_sandbox_defaults_and_their_basic_values_are_known() -> None:
    defaults = SandboxCredentials()
    for secret in (
        defaults.danaconnect_client_secret,
        defaults.danasign_api_token,
        defaults.danasign_readonly_token,
        defaults.sofia_client_secret,
        "c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ=",  # sandbox-client:sandbox-secret
    ):
        assert SECRET.search(f"Authorization: Basic {secret}") is not None, secret
    assert SECRET.search("access-12-Zq8WvT") is not None  # an issued token, by pattern
    assert SECRET.search("client_id=sandbox-client channel=sandbox") is None


def test_a_secret_in_arguments_causes_or_groups_is_flagged() -> None:
    cause = ValueError("rejected sandbox-api-token")
    chained = RuntimeError("wrapped")
    chained.__cause__ = cause
    group = ExceptionGroup("several", [KeyError("x"), OSError("not-the-secret")])
    leaks = flagged(
        record("token %s", "sandbox-secret"),
        record("failed", exc=chained),
        record("failed", exc=group),
    )
    assert len(leaks) == 3
    assert "['sandbox-secret']" in leaks[0]
    assert "['sandbox-api-token']" in leaks[1]
    assert "['not-the-secret']" in leaks[2]


def test_clean_records_and_traceback_source_lines_are_not_flagged() -> None:
    try:
        raise ValueError("bad value")  # this source line says hunter2
    except ValueError as exc:
        clean = record("failed", exc=exc)
    # A formatted traceback quotes that line: code, not logged data, so not flagged.
    assert "hunter2" in logging.Formatter().format(clean)
    assert flagged(record("attempt %d of %d", 1, 3), clean) == []


def test_the_watch_listens_at_debug_during_every_test() -> None:
    root, sdk = logging.getLogger(), logging.getLogger("signing_async")
    assert any(isinstance(handler, SecretWatch) for handler in root.handlers)
    assert any(isinstance(handler, SecretWatch) for handler in sdk.handlers)
    assert root.level == sdk.level == logging.DEBUG


def test_attached_restores_the_loggers_it_changed() -> None:
    root, sdk = logging.getLogger(), logging.getLogger("signing_async")
    before = sdk.level
    sdk.setLevel(logging.WARNING)
    try:
        watch = SecretWatch()
        with watch.attached():
            assert watch in root.handlers
            assert watch in sdk.handlers
            assert sdk.level == logging.DEBUG
        assert watch not in root.handlers
        assert watch not in sdk.handlers
        assert sdk.level == logging.WARNING
    finally:
        sdk.setLevel(before)
