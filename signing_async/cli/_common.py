"""What every command shares: the --json option, running a coroutine, error reporting."""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, ParamSpec, TypeVar

import anyio
import click

from .._client import SigningClient
from .._core.errors import ConfigurationError, SigningError
from ._output import Output

__all__ = ["client_from_env", "json_option", "run_async"]

P = ParamSpec("P")
R = TypeVar("R")

json_option = click.option(
    "--json", "json_mode", is_flag=True, help="Print JSON lines instead of prose."
)


Provider = Literal["danaconnect", "danasign", "sofia"]

# Per provider: its name, the prefix of its variables, and the variable that
# switches it on in SigningClient.from_env.
_PROVIDERS: dict[Provider, tuple[str, str, str]] = {
    "danaconnect": ("DANAconnect", "SIGNING_DANACONNECT_", "SIGNING_DANACONNECT_CLIENT_ID"),
    "danasign": ("DANAsign", "SIGNING_DANASIGN_", "SIGNING_DANASIGN_SERVER_URL"),
    "sofia": ("S.O.F.I.A.", "SIGNING_SOFIA_", "SIGNING_SOFIA_CLIENT_ID"),
}


def client_from_env(provider: Provider, environ: Mapping[str, str] | None = None) -> SigningClient:
    """A client for one provider, configured by that provider's ``SIGNING_*`` variables.

    Only the provider's own variables are read, so an incomplete setup of
    another provider does not stop this command.

    Args:
        provider: ``"danaconnect"``, ``"danasign"`` or ``"sofia"``.
        environ: The variables; the process environment by default.

    Raises:
        ConfigurationError: The provider is not configured (the message names
            the variable to set) or its variables are incomplete or invalid.
    """
    name, prefix, switch = _PROVIDERS[provider]
    env = os.environ if environ is None else environ
    own = {key: value for key, value in env.items() if key.startswith(prefix)}
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
    (never a traceback) and exits with status 1; the coroutine's own return
    value, when an int, is the exit status.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, json_mode: bool = False, **kwargs: Any) -> None:
        out = Output(json_mode=json_mode)
        try:
            status = anyio.run(functools.partial(func, out, *args, **kwargs))
        except SigningError as exc:
            out.error(str(exc))
            raise SystemExit(1) from None
        except OSError as exc:
            # A local file problem (say, the output folder does not exist) is
            # the user's to fix, not a bug: one line, no traceback.
            out.error(_describe(exc))
            raise SystemExit(1) from None
        except KeyboardInterrupt:
            out.error("interrupted")
            raise SystemExit(130) from None
        if status:
            raise SystemExit(status)

    return wrapper


def _describe(exc: OSError) -> str:
    if exc.strerror and exc.filename is not None:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc) or type(exc).__name__
