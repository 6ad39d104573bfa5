"""JSON on the wire: encoding request payloads and decoding answers.

Every small request encodes one payload and decodes one answer, and with the
standard library those two steps cost more of the SDK's own time per request
than anything else it does. orjson does both several times faster, so it is
used where it is installed (a dependency on CPython), and whatever it refuses
goes to the standard library:

- answers orjson cannot read (a byte-order mark, UTF-16, ``NaN``) are decoded
  by :func:`json.loads`, which sniffs the encoding as RFC 8259 allows;
- payloads orjson cannot encode (a non-string key, an integer beyond 64 bits,
  a type it does not know) are encoded by the standard library, which says
  what it could not encode. orjson is told to refuse datetimes and
  dataclasses too, which the standard library cannot encode either.

Whichever parser reads it, an answer is refused (``ValueError``) when it
nests arrays and objects more than :data:`MAX_DEPTH` levels deep, or holds a
string with a lone surrogate (``"\\ud800"``, which orjson refuses and the
standard library lets through). Both would only fail later, far from the
answer: deep data in whatever walks it recursively (``repr``, ``json.dumps``
in a bulk journal; the standard library's parser itself raises
``RecursionError`` at about 1,000 levels), lone surrogates in whatever
encodes the text (a URL, a log file, a database).

What still differs from the standard library alone: an integer beyond 64 bits
in an answer is read as a float (no provider sends one: identifiers are
strings, sizes and counts fit); ``NaN`` and infinities in a payload are written
as ``null`` (the standard library writes ``NaN``, which is not JSON); a UUID
or an enum member in a payload is written as its value (the standard library
refuses a UUID, and an enum member that is not also a str or an int).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["MAX_DEPTH", "dumps", "loads", "stdlib_dumps", "stdlib_loads"]

MAX_DEPTH = 128
"""The deepest nesting of arrays and objects an answer may have. The providers'
documented answers nest fewer than ten levels; 128 keeps anything that later
walks the data recursively far from Python's recursion limit (1,000)."""

_SURROGATE = re.compile("[\ud800-\udfff]")

_STDLIB_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""Built once: ``json.dumps`` with any option builds a new encoder on every call."""


def stdlib_loads(body: bytes) -> Any:
    """Decode JSON with the standard library (it detects UTF-8, -16 and -32).

    Raises:
        ValueError: ``body`` is not JSON, nests deeper than :data:`MAX_DEPTH`
            or holds a lone surrogate.
    """
    try:
        value = json.loads(body)
    except RecursionError:
        # Raised from deep inside the parser, nothing worth chaining.
        raise ValueError(_TOO_DEEP) from None
    _check(value, text=True)
    return value


_TOO_DEEP = f"JSON nested more than {MAX_DEPTH} levels deep"
_CONTAINERS = (dict, list)


def _check(value: Any, *, text: bool) -> None:
    """Refuse decoded JSON nested deeper than :data:`MAX_DEPTH` (and, with ``text``,
    holding a lone surrogate in a key or a string).

    Level by level, not recursively: this is what protects the recursive code.
    """
    if type(value) is str:
        if text:
            _check_text(value)
        return
    level = [value] if type(value) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise ValueError(_TOO_DEEP)
        inner: list[Any] = []
        for node in level:
            children: Iterable[Any]
            if type(node) is dict:
                if text:
                    for key in node:
                        _check_text(key)
                children = node.values()
            else:
                children = node
            for child in children:
                kind = type(child)
                if kind is dict or kind is list:
                    inner.append(child)
                elif text and kind is str:
                    _check_text(child)
        level = inner


def _check_text(text: str) -> None:
    if not text.isascii() and _SURROGATE.search(text):
        raise ValueError("JSON text with a lone surrogate (not valid Unicode)")


Default = Callable[[Any], Any]
"""Turns an object JSON cannot hold into one it can, or raises ``TypeError``."""


def stdlib_dumps(payload: Any, default: Default | None = None) -> bytes:
    """Encode ``payload`` as compact UTF-8 JSON with the standard library.

    Raises:
        TypeError: ``payload`` holds something JSON cannot represent.
    """
    if default is None:
        return _STDLIB_ENCODER.encode(payload).encode()
    text = json.dumps(payload, default=default, ensure_ascii=False, separators=(",", ":"))
    return text.encode()


def _make_codec() -> tuple[Callable[[bytes], Any], Callable[..., bytes]]:
    try:
        import orjson
    except ImportError:  # not installed (it has no build for PyPy): the standard library alone
        return stdlib_loads, stdlib_dumps

    fast_loads, fast_dumps = orjson.loads, orjson.dumps
    # Refused here as the standard library refuses them, instead of encoded.
    refuse = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def loads(body: bytes) -> Any:
        try:
            value = fast_loads(body)
        except ValueError:  # orjson.JSONDecodeError is one
            return stdlib_loads(body)
        # orjson refuses lone surrogates and nesting past 1,024 levels itself. Data
        # with fewer brackets than MAX_DEPTH cannot nest deeper: most answers
        # skip the walk for the price of two scans in C.
        if body.count(b"[") + body.count(b"{") > MAX_DEPTH:
            _check(value, text=False)
        return value

    def dumps(payload: Any, default: Default | None = None) -> bytes:
        try:
            return fast_dumps(payload, default=default, option=refuse)
        except TypeError:
            return stdlib_dumps(payload, default)

    return loads, dumps


loads: Callable[[bytes], Any]
"""Decode a JSON answer. Raises ``ValueError`` if it is not JSON, nests deeper
than :data:`MAX_DEPTH` or holds a lone surrogate."""

dumps: Callable[..., bytes]
"""``dumps(payload, default=None)``: a payload as compact UTF-8 JSON.

``default`` converts what JSON cannot hold (as ``json.dumps``'s does; it may
be called again for the same objects if the standard library takes over).
Raises ``TypeError`` for what JSON cannot hold."""

loads, dumps = _make_codec()
