"""The sandbox as a developer's console: pages for people, served next to the APIs.

``/`` shows what the sandbox holds; ``/sign/{circuit_id}`` (a circuit's
``link``) and ``/sign/danasign/{document_id}/{role}`` are the signers' pages;
``/inbox`` lists the one-time codes "sent"; ``/requests`` is the request log
with credentials masked; ``/faults`` arms faults with a form. No script, no
build step, nothing fetched from elsewhere: one stylesheet ships in the
package.

The console is tooling on top of the emulations: it reads and changes their
state through the same functions as the control routes, and no provider
emulation imports it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from aiohttp import web

from .._http import Handler, RouteSpec
from ._circuits import circuit_action, circuit_document, circuit_page, signed_zip
from ._danasign import document_file, signer_action, signer_page
from ._faults import add_fault, clear_faults, faults_page, remove_fault
from ._inbox import inbox
from ._overview import overview
from ._requests import requests_page

__all__ = ["pages", "routes"]


@cache
def _stylesheet() -> bytes:
    return resources.files(__name__).joinpath("static").joinpath("console.css").read_bytes()


async def stylesheet(request: web.Request) -> web.StreamResponse:
    """``GET /console/static/console.css``."""
    return web.Response(
        body=_stylesheet(), content_type="text/css", headers={"Cache-Control": "max-age=300"}
    )


def routes() -> list[RouteSpec]:
    """The signer's page of a DANAconnect circuit: the API hands out its URL, so it is logged."""
    return [
        ("GET", "/sign/{circuit_id}", circuit_page, "danaconnect.sign_page"),
        ("POST", "/sign/{circuit_id}", circuit_action, "danaconnect.sign_page"),
    ]


def pages() -> list[tuple[str, str, Handler]]:
    """The console's own pages: neither logged nor subject to faults."""
    return [
        ("GET", "/", overview),
        ("GET", "/inbox", inbox),
        ("GET", "/requests", requests_page),
        ("GET", "/faults", faults_page),
        ("POST", "/faults", add_fault),
        ("POST", "/faults/remove", remove_fault),
        ("POST", "/faults/clear", clear_faults),
        ("GET", "/sign/danasign/{document_id}/{role:.+}", signer_page),
        ("POST", "/sign/danasign/{document_id}/{role:.+}", signer_action),
        ("GET", "/console/circuits/{circuit_id}/documents/{index}", circuit_document),
        ("GET", "/console/circuits/{circuit_id}/signed.zip", signed_zip),
        ("GET", "/console/documents/{document_id}/file.pdf", document_file),
        ("GET", "/console/static/console.css", stylesheet),
    ]
