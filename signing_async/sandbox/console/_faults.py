"""``/faults`` — arm and disarm faults with a form, as ``POST /_sandbox/faults`` does."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from ..._core.numbers import read_count
from .._control import arm_fault
from .._faults import ANY_ROUTE, Fault
from .._state import STATE_KEY, SandboxState
from ._html import FormRefused, message_page, page, read_console_form, redirect, table, text

__all__ = ["FaultForm", "add_fault", "clear_faults", "faults_page", "remove_fault"]

# The form's fields: name -> label. The names are Fault's, so a message from
# Fault (which starts with the field's name) points at the right field.
FIELDS = {
    "route": "Route",
    "status": "Answer with status",
    "retry_after": "Retry-After (seconds)",
    "latency": "Latency (seconds)",
    "latency_max": "Latency up to (seconds, for a random range)",
    "drop": "Drop the connection",
    "truncate": "Truncate the body",
    "probability": "Probability (0 to 1)",
    "times": "Times (empty: without end)",
}


class FaultForm:
    """The fault form's values and, once checked, its errors by field."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.errors: dict[str, str] = {}

    def _number(self, name: str, *, whole: bool = False) -> float | None:
        raw = self.values.get(name, "").strip()
        if not raw:
            return None
        try:
            number = int(raw) if whole else float(raw)
        except ValueError:
            kind = "a whole number" if whole else "a number"
            self.errors[name] = f"{name}: must be {kind}, got {raw!r}"
            return None
        if not math.isfinite(number):
            self.errors[name] = f"{name}: must be a finite number, got {raw!r}"
            return None
        return number

    def fault_data(self, routes: list[str]) -> dict[str, Any] | None:
        """The JSON ``POST /_sandbox/faults`` would take, or ``None`` with :attr:`errors` set."""
        data: dict[str, Any] = {}
        route = self.values.get("route", "")
        if route not in routes:
            self.errors["route"] = "route: choose one of the listed routes"
        data["route"] = route
        for name in ("status", "times"):
            if (whole := self._number(name, whole=True)) is not None:
                data[name] = int(whole)
        for name in ("retry_after", "probability"):
            if (number := self._number(name)) is not None:
                data[name] = number
        low, high = self._number("latency"), self._number("latency_max")
        if high is not None:
            data["latency"] = [low or 0.0, high]
        elif low is not None:
            data["latency"] = low
        drop = self.values.get("drop", "")
        if drop not in ("", "before", "after"):
            self.errors["drop"] = "drop: must be before, after or empty"
        elif drop:
            data["drop"] = drop
        data["truncate"] = self.values.get("truncate") == "on"
        return None if self.errors else data

    def refused(self, message: str) -> None:
        """Record a refusal of the whole fault under the field its message names."""
        field = message.split(":", 1)[0].split(" ", 1)[0]
        if field == "latency" and "range" in message:
            field = "latency_max"
        elif message.startswith("a fault either"):
            field = "drop"  # status or truncate combined with a dropped connection
        self.errors[field if field in FIELDS else "route"] = message


def _routes(state: SandboxState) -> list[str]:
    # Control routes are left out: a fault there would lock the console's
    # user out of the controls the scripts use.
    known = sorted((state.faults.known_routes or frozenset()) - {"control"})
    return [ANY_ROUTE, *known]


def _field(form: FaultForm, name: str, control: str) -> str:
    """A labelled field with its error, tied together for screen readers."""
    error = form.errors.get(name)
    described = f' aria-describedby="{name}-error" aria-invalid="true"' if error else ""
    control = control.replace("{described}", described)
    message = f'<p class="field-error" id="{name}-error">{text(error)}</p>' if error else ""
    return f'<p class="field"><label for="f-{name}">{FIELDS[name]}</label>{control}{message}</p>'


def _input(form: FaultForm, name: str, kind: str = "text", extra: str = "") -> str:
    value = text(form.values.get(name, ""))
    control = (
        f'<input id="f-{name}" name="{name}" type="{kind}" value="{value}" {extra}{{described}}>'
    )
    return _field(form, name, control)


def _form(form: FaultForm, routes: list[str]) -> str:
    chosen = form.values.get("route", ANY_ROUTE)
    options = "".join(
        f'<option value="{text(r)}"{" selected" if r == chosen else ""}>'
        f"{'* (every provider route)' if r == ANY_ROUTE else text(r)}</option>"
        for r in routes
    )
    drop = form.values.get("drop", "")
    drops = "".join(
        f'<option value="{value}"{" selected" if value == drop else ""}>{label}</option>'
        for value, label in (("", "no"), ("before", "before handling"), ("after", "after handling"))
    )
    checked = " checked" if form.values.get("truncate") == "on" else ""
    summary = ""
    if form.errors:
        items = "".join(
            f'<li><a href="#f-{name}">{text(message)}</a></li>'
            for name, message in form.errors.items()
        )
        summary = (
            '<div class="error-summary" role="alert" aria-labelledby="error-title">'
            f'<h3 id="error-title">The fault was not added</h3><ul>{items}</ul></div>'
        )
    number = 'inputmode="decimal"'
    return (
        '<form method="post" action="/faults" class="fault-form">'
        f"{summary}"
        + _field(
            form, "route", f'<select id="f-route" name="route"{{described}}>{options}</select>'
        )
        + _input(form, "status", "text", 'inputmode="numeric" placeholder="e.g. 503"')
        + _input(form, "retry_after", "text", number)
        + _input(form, "latency", "text", number)
        + _input(form, "latency_max", "text", number)
        + _field(form, "drop", f'<select id="f-drop" name="drop"{{described}}>{drops}</select>')
        + _field(
            form,
            "truncate",
            f'<input id="f-truncate" name="truncate" type="checkbox"{checked}{{described}}>',
        )
        + _input(form, "probability", "text", number + ' placeholder="1"')
        + _input(form, "times", "text", 'inputmode="numeric"')
        + "<p><button>Add the fault</button></p></form>"
    )


def _armed(state: SandboxState) -> str:
    rows = []
    for index, fault in enumerate(state.faults):
        latency = fault.latency
        shown = f"{latency[0]} to {latency[1]} s" if isinstance(latency, tuple) else f"{latency} s"
        remove = (
            '<form method="post" action="/faults/remove">'
            f'<input type="hidden" name="index" value="{index}">'
            f'<button aria-label="Remove fault {index + 1}">Remove</button></form>'
        )
        rows.append(
            [
                text(fault.route),
                text(fault.status or "—"),
                text("—" if fault.retry_after is None else f"{fault.retry_after} s"),
                text(shown if latency else "—"),
                text(fault.drop or "—"),
                "yes" if fault.truncate else "no",
                text(fault.probability),
                text("without end" if fault.times is None else fault.times),
                remove,
            ]
        )
    clear = (
        '<form method="post" action="/faults/clear"><button class="secondary">'
        "Remove every fault</button></form>"
        if rows
        else ""
    )
    columns = ("Route", "Status", "Retry-After", "Latency", "Drop", "Truncate", "Probability")
    return (
        table(
            "Armed faults, in the order they are checked",
            (*columns, "Times", "Remove"),
            rows,
            empty="No faults armed: every request is answered normally.",
        )
        + clear
    )


def _render(state: SandboxState, form: FaultForm, status: int = 200) -> web.Response:
    body = (
        '<section aria-labelledby="armed"><h2 id="armed">Armed faults</h2>'
        f"{_armed(state)}</section>"
        '<section aria-labelledby="add"><h2 id="add">Add a fault</h2>'
        "<p>The same as <code>POST /_sandbox/faults</code>. A status answers at once"
        " (nothing is created); a dropped connection or a truncated body tests"
        " your client's handling of a lost answer.</p>"
        f"{_form(form, _routes(state))}</section>"
    )
    return page("Faults", body, current="/faults", status=status)


async def faults_page(request: web.Request) -> web.StreamResponse:
    """``GET /faults`` — the armed faults and the form."""
    return _render(request.app[STATE_KEY], FaultForm({}))


async def add_fault(request: web.Request) -> web.StreamResponse:
    """``POST /faults`` — arm a fault; a refused one shows the form again, saying why."""
    state = request.app[STATE_KEY]
    try:
        form = FaultForm(await read_console_form(request))
    except FormRefused as exc:
        return message_page("Not accepted", str(exc), exc.status, back="/faults")
    data = form.fault_data(_routes(state))
    if data is not None:
        try:
            arm_fault(state, data)
        except (ValueError, OverflowError) as exc:
            form.refused(str(exc))
    if form.errors:
        return _render(state, form, status=400)
    return redirect("/faults")


async def remove_fault(request: web.Request) -> web.StreamResponse:
    """``POST /faults/remove`` ``index=N`` — disarm one fault."""
    state = request.app[STATE_KEY]
    try:
        form = await read_console_form(request)
    except FormRefused as exc:
        return message_page("Not accepted", str(exc), exc.status, back="/faults")
    armed: list[Fault] = list(state.faults)
    index = read_count(form.get("index", ""))
    if index is not None and index < len(armed):
        state.faults.remove(armed[index])
    # A fault that retired meanwhile is gone already: the page shows what is left.
    return redirect("/faults")


async def clear_faults(request: web.Request) -> web.StreamResponse:
    """``POST /faults/clear`` — disarm every fault."""
    try:
        await read_console_form(request)
    except FormRefused as exc:
        return message_page("Not accepted", str(exc), exc.status, back="/faults")
    request.app[STATE_KEY].faults.clear()
    return redirect("/faults")
