"""What the CLI prints: rich on a terminal, plain lines when piped, JSON on request."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import attrs
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

__all__ = ["Output", "jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data: models as objects (without ``raw``), datetimes ISO 8601."""
    if attrs.has(type(value)):
        # ``raw`` (unclaimed server keys) and anything else a model keeps out of
        # its repr (session tokens, for one) stay out of the output too.
        return {
            field.name: jsonable(getattr(value, field.name))
            for field in attrs.fields(type(value))
            if field.repr is True and field.name != "raw"
        }
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        # ISO 8601, what JSON consumers parse; str() would put a space before the time.
        return value.isoformat()
    return str(value)


def _text(value: Any) -> str:
    """One value as plain text: strings as they are, None as nothing, the rest as JSON."""
    data = jsonable(value)
    if isinstance(data, str):
        return data
    if data is None:
        return ""
    return json.dumps(data, ensure_ascii=False)


def _cell(value: Any) -> str:
    # A tab or line break inside a value would shift the columns of every consumer.
    return " ".join(_text(value).splitlines()).replace("\t", " ")


class Output:
    """Prints steps, tables and results in the mode the user asked for.

    Args:
        json_mode: One JSON object per line on stdout instead of prose.
        console: Where rich output goes (stdout by default).
    """

    def __init__(self, *, json_mode: bool = False, console: Console | None = None) -> None:
        self.json_mode = json_mode
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.fancy = self.console.is_terminal and not json_mode
        # What Ctrl-C should add to "interrupted" (a bulk run's counts and a hint).
        self.interrupt_hint: Callable[[], str] | None = None

    def step(self, message: str, **fields: Any) -> None:
        """One line saying what happened."""
        if self.json_mode:
            self.emit({"event": "step", "message": message, **fields})
        elif self.fancy:
            # Messages carry server data (titles, names): never read them as markup.
            self.console.print(f"[green]✓[/green] {escape(message)}")
        else:
            print(message, flush=True)

    def error(self, message: str) -> None:
        """An error line, on stderr (a JSON object in JSON mode).

        Never on stdout: a consumer reading results there must not take an
        error for one.
        """
        if self.json_mode:
            self.emit({"event": "error", "message": message}, file=sys.stderr)
        else:
            print(f"error: {message}", file=sys.stderr, flush=True)

    def emit(self, value: Any, *, file: TextIO | None = None) -> None:
        """One JSON value on its own line.

        Args:
            value: Anything: attrs models become objects (without ``raw``),
                datetimes ISO 8601 strings.
            file: Where to print; standard output by default.
        """
        print(json.dumps(jsonable(value), ensure_ascii=False), file=file, flush=True)

    def result(self, value: Any) -> None:
        """A command's result: JSON in JSON mode, else a readable rendering."""
        if self.json_mode:
            self.emit(value)
            return
        data = jsonable(value)
        if isinstance(data, Mapping):
            for key, item in data.items():
                print(f"{key}: {_text(item)}")
        else:
            print(_text(data))

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A table: rich on a terminal (with its title), else tab-separated lines.

        Piped, the output is pure TSV: a header line of column names, then
        one line per row (no title line for a consumer to skip).
        """
        if self.json_mode:
            self.emit(
                {"table": title, "rows": [dict(zip(columns, row, strict=True)) for row in rows]}
            )
            return
        if self.fancy:
            table = Table(title=Text(title))
            for column in columns:
                table.add_column(column)
            for row in rows:
                # Cells are server data: a title like "[/b]" must print as is, not as markup.
                table.add_row(*(Text(_text(cell)) for cell in row))
            self.console.print(table)
            return
        print("\t".join(columns))
        for row in rows:
            print("\t".join(_cell(cell) for cell in row))
