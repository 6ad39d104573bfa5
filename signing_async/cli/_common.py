"""What every command shares: the --json option, running a coroutine, error reporting."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn, ParamSpec, TypeVar

import anyio
import click

from .. import _providers
from .._client import SigningClient
from .._core.bulk._dsn import is_dsn, safe_dsn
from .._core.errors import ConfigurationError, SigningError, ValidationError
from ._output import Output

__all__ = [
    "BROKEN_PIPE",
    "FAILED",
    "INTERRUPTED",
    "STOPPED",
    "USAGE",
    "Provider",
    "UsageError",
    "client_from_env",
    "json_option",
    "run_async",
]

P = ParamSpec("P")
R = TypeVar("R")

# Exit statuses, the same for every command (documented in bulk-send's help).
FAILED = 1
"""A call failed, or some items of a bulk run failed or are uncertain."""
USAGE = 2
"""Bad usage: options, configuration, input files (as click uses it)."""
STOPPED = 3
"""A bulk run stopped early (circuit breaker): the items not sent stay pending."""
INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as shells report it)."""
BROKEN_PIPE = 141
"""Whoever read the output went away (``| head``): 128 + SIGPIPE, as Unix tools end."""

json_option = click.option(
    "--json", "json_mode", is_flag=True, help="Print JSON lines instead of prose."
)


Provider = str
"""A registered provider's name (``"danaconnect"``, ``"danasign"``, ``"sofia"``, ...)."""


def client_from_env(provider: Provider, environ: Mapping[str, str] | None = None) -> SigningClient:
    """A client for one provider, configured by that provider's ``SIGNING_*`` variables.

    Only the provider's own variables are read, so an incomplete setup of
    another provider does not stop this command.

    Args:
        provider: A registered provider's name (``"danaconnect"``, ...).
        environ: The variables; the process environment by default.

    Raises:
        ConfigurationError: The provider is not configured (the message names
            the variable to set) or its variables are incomplete or invalid.
    """
    registered = _providers.lookup(provider)
    name, prefix, switch = registered.display, registered.env_prefix, registered.env_switch
    env = os.environ if environ is None else environ
    # The provider's own variables, and the network's (proxy, CA bundle) that all share.
    own = {
        key: value
        for key, value in env.items()
        if key.startswith(prefix) or key in ("SIGNING_PROXY", "SIGNING_CA_BUNDLE")
    }
    if not own.get(switch):
        raise ConfigurationError(
            f"{name} is not configured: set {switch} and the other {prefix}* "
            "environment variables (see the README)"
        )
    return SigningClient.from_env(own)


def run_async(func: Callable[..., Awaitable[int | None]]) -> Callable[..., None]:
    """Turn ``async def command(out, ...)`` into a click callback.

    The coroutine receives an :class:`Output` first. A :class:`SigningError`,
    or an :class:`OSError` (a local file problem), is printed as one line
    (never a traceback) and exits with status 1; a
    :class:`~signing_async.ValidationError` of the command's own input exits
    with status 2 (bad usage). The coroutine's own return value, when an
    int, is the exit status. Ctrl-C exits with 130 (saying what
    ``out.interrupt_hint`` says), and a reader gone away (``| head``) ends
    the command quietly with 141.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, json_mode: bool = False, **kwargs: Any) -> None:
        out = Output(json_mode=json_mode)
        try:
            status = anyio.run(functools.partial(func, out, *args, **kwargs))
        except BrokenPipeError:
            _quiet_broken_pipe()
        except UsageError as exc:
            out.error(str(exc))
            raise SystemExit(USAGE) from None
        except SigningError as exc:
            out.error(str(exc))
            raise SystemExit(FAILED) from None
        except OSError as exc:
            # A local file problem (say, the output folder does not exist) is
            # the user's to fix, not a bug: one line, no traceback.
            out.error(_describe(exc))
            raise SystemExit(FAILED) from None
        except (KeyboardInterrupt, asyncio.CancelledError):
            # On Python 3.10, anyio's runner answers Ctrl-C by cancelling the
            # main task, and the run ends in CancelledError, not KeyboardInterrupt;
            # nothing else cancels that task from outside.
            hint = out.interrupt_hint
            out.error(f"interrupted: {hint()}" if hint is not None else "interrupted")
            raise SystemExit(INTERRUPTED) from None
        if status:
            raise SystemExit(status)

    return wrapper


class UsageError(ValidationError):
    """The command's own input is wrong (an option's value): exit status 2, no request sent."""


FLEET_EXTRA = (
    "PostgreSQL journals and workers need the fleet extra: pip install 'signing-async[fleet]'"
)


def safe_journal(journal: str | os.PathLike[str]) -> str:
    """A journal as messages show it: a PostgreSQL DSN without its password."""
    text = os.fspath(journal)
    if is_dsn(text):
        return safe_dsn(text)
    return text


def _quiet_broken_pipe() -> NoReturn:
    # Python would report the pipe again when it flushes stdout at exit:
    # point stdout at /dev/null first, as the Python documentation advises.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise SystemExit(BROKEN_PIPE)


def _describe(exc: OSError) -> str:
    if exc.strerror and exc.filename is not None:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc) or type(exc).__name__
