"""What every command shares: the --json option, running a coroutine, error reporting."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import anyio
import click

from .._core.errors import SigningError
from ._output import Output

__all__ = ["json_option", "run_async"]

P = ParamSpec("P")
R = TypeVar("R")

json_option = click.option(
    "--json", "json_mode", is_flag=True, help="Print JSON lines instead of prose."
)


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
