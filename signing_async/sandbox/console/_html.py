"""What every console page shares: the layout, escaping, tables, forms and answers.

Pages are built from strings; every value that comes from a request or from
the sandbox's state goes through :func:`text` (``html.escape``) on its way in,
and the Content-Security-Policy forbids scripts, so a hostile title or signer
name shows as text and never runs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from aiohttp import web

from .._jsonbody import BodyError, read_form

__all__ = [
    "NAV",
    "FormRefused",
    "link",
    "message_page",
    "page",
    "read_console_form",
    "redirect",
    "status_badge",
    "table",
    "text",
    "url_part",
]

# Where each page lives, in the order the navigation lists them.
NAV = (("/", "Console"), ("/inbox", "OTP inbox"), ("/requests", "Requests"), ("/faults", "Faults"))

STYLESHEET = "/console/static/console.css"

_HEADERS = {
    # Nothing on these pages needs a script; forbidding them all makes an
    # escaping slip harmless. Forms post to the sandbox only.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # "no-referrer" would make browsers post forms with "Origin: null".
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_CLASS_SAFE = re.compile(r"[^a-z0-9-]")


def text(value: object) -> str:
    """``value`` as HTML text, quotes included (safe in attributes too)."""
    return html.escape("" if value is None else str(value), quote=True)


def url_part(value: str) -> str:
    """One path segment, percent-encoded (``/`` included)."""
    return quote(value, safe="")


def link(href: str, label: str) -> str:
    """An ``<a>`` whose label is escaped; ``href`` must be built from escaped parts."""
    return f'<a href="{text(href)}">{text(label)}</a>'


def status_badge(status: str) -> str:
    """A status as a labelled badge; colour follows the status, the word says it."""
    css = _CLASS_SAFE.sub("", status.lower().replace(" ", "-"))
    return f'<span class="status status-{css}">{text(status)}</span>'


def table(
    caption: str, columns: Sequence[str], rows: Iterable[Sequence[str]], *, empty: str
) -> str:
    """A table of ready-made cells (HTML), or a paragraph saying it is empty.

    Args:
        caption: The table's caption (plain text).
        columns: The column headings (plain text).
        rows: The cells of each row, already HTML.
        empty: What to say when there are no rows (plain text).
    """
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="empty">{text(empty)}</p>'
    head = "".join(f'<th scope="col">{text(column)}</th>' for column in columns)
    return (
        f'<div class="scroll"><table><caption>{text(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def page(
    title: str,
    body: str,
    *,
    current: str | None = None,
    status: int = 200,
    refresh: int | None = None,
) -> web.Response:
    """A whole console page: navigation, one ``<h1>`` (the title) and the body.

    Args:
        title: The page's title and main heading (plain text).
        body: The page's content (HTML).
        current: The navigation entry to mark as the current page.
        status: The HTTP status.
        refresh: Reload the page every this many seconds (opt-in auto-refresh).
    """
    items = "".join(
        f'<li><a href="{href}"{" aria-current=page" if href == current else ""}>{label}</a></li>'
        for href, label in NAV
    )
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)} · signing_async sandbox</title>{meta}"
        f'<link rel="stylesheet" href="{STYLESHEET}"></head><body>'
        '<a class="skip" href="#main">Skip to the content</a>'
        '<header><p class="brand">signing_async sandbox</p>'
        f'<nav aria-label="Sandbox console"><ul>{items}</ul></nav></header>'
        f'<main id="main" tabindex="-1"><h1>{text(title)}</h1>{body}</main></body></html>'
    )
    return web.Response(
        text=document, status=status, content_type="text/html", headers=_HEADERS.copy()
    )


def message_page(title: str, message: str, status: int, *, back: str | None = None) -> web.Response:
    """A page that only says something (a refusal, an unknown object)."""
    body = f'<p role="alert">{text(message)}</p>'
    if back is not None:
        body += f"<p>{link(back, 'Back')}</p>"
    return page(title, body, status=status)


def redirect(location: str) -> web.Response:
    """``303 See Other``: after a form is posted, the browser loads the page again."""
    return web.Response(status=303, headers={"Location": location, **_HEADERS})


class FormRefused(Exception):
    """A console form cannot be read; ``status`` and the message say why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _same_origin(request: web.BaseRequest) -> bool:
    # Another site open in the same browser must not drive the sandbox:
    # browsers name the sender in these headers; other clients send neither.
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return origin.split("://", 1)[-1] == request.host


async def read_console_form(request: web.BaseRequest) -> dict[str, str]:
    """A console form's fields (the first value of each), from this sandbox's own pages.

    Raises:
        FormRefused: Posted from another site (403), too large (413) or not
            form data (400).
    """
    if not _same_origin(request):
        raise FormRefused(403, "forms are accepted from the sandbox's own pages only")
    try:
        fields = await read_form(request)
    except BodyError as exc:
        raise FormRefused(exc.status, str(exc)) from None
    return {name: values[0] for name, values in fields.items() if values}
