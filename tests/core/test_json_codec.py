"""The JSON codec: orjson where it can, the standard library's results everywhere."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import platform
import sys
from typing import Any

import pytest

from signing_async._core import json_codec
from signing_async._core.json_codec import dumps, loads, stdlib_dumps, stdlib_loads

ANSWER = {"data": {"objectId": "ct1", "Name": "Zoë Ñúñez ☃", "n": [1, 2.5, None, True, False]}}


@pytest.mark.skipif(
    platform.python_implementation() != "CPython", reason="orjson is a CPython-only dependency"
)
def test_orjson_is_the_fast_path_on_cpython() -> None:
    # The dependency is declared for CPython: the fast functions must be in use.
    assert loads is not stdlib_loads
    assert dumps is not stdlib_dumps


@pytest.mark.parametrize("decode", [loads, stdlib_loads], ids=["fast", "stdlib"])
@pytest.mark.parametrize(
    "body",
    [
        json.dumps(ANSWER).encode(),
        json.dumps(ANSWER, ensure_ascii=False).encode(),
        b"\xef\xbb\xbf" + json.dumps(ANSWER, ensure_ascii=False).encode(),  # UTF-8 byte-order mark
        json.dumps(ANSWER, ensure_ascii=False).encode("utf-16"),
        json.dumps(ANSWER, ensure_ascii=False).encode("utf-32-le"),
    ],
    ids=["ascii", "utf-8", "utf-8-bom", "utf-16", "utf-32-le"],
)
def test_answers_decode_in_every_encoding_json_allows(decode: Any, body: bytes) -> None:
    assert decode(body) == ANSWER


def test_what_only_the_standard_library_reads_is_still_read() -> None:
    assert loads(b'{"a": NaN, "b": -Infinity}').keys() == {"a", "b"}
    assert loads(b'{"a": NaN}')["a"] != loads(b'{"a": NaN}')["a"]  # a real NaN


@pytest.mark.parametrize("decode", [loads, stdlib_loads], ids=["fast", "stdlib"])
@pytest.mark.parametrize("body", [b"", b"  ", b"<html>", b'{"a": 1', b"\xff\xfe\xfa"])
def test_non_json_raises_value_error(decode: Any, body: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the one type callers catch
        decode(body)


@pytest.mark.parametrize("encode", [dumps, stdlib_dumps], ids=["fast", "stdlib"])
def test_payloads_encode_as_compact_utf8_like_the_standard_library(encode: Any) -> None:
    payload = {"id": "1", "name": "Ñandú ☃", "list": [1, 2.5, None, True], "nested": {"k": []}}
    expected = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    assert encode(payload) == expected


def test_what_orjson_refuses_is_encoded_by_the_standard_library() -> None:
    # Integer keys and integers beyond 64 bits: orjson raises, json does not.
    assert dumps({1: "a"}) == b'{"1":"a"}'
    assert dumps({"big": 2**70}) == f'{{"big":{2**70}}}'.encode()


@dataclasses.dataclass
class _Point:
    x: int


@pytest.mark.parametrize("encode", [dumps, stdlib_dumps], ids=["fast", "stdlib"])
@pytest.mark.parametrize(
    "value", [object(), dt.datetime(2025, 1, 1), dt.date(2025, 1, 1), _Point(1)]
)
def test_what_the_standard_library_cannot_encode_raises_type_error(
    encode: Any, value: object
) -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode({"x": value})


def test_without_orjson_the_standard_library_does_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An interpreter without orjson (PyPy): a None entry makes its import fail.
    monkeypatch.setitem(sys.modules, "orjson", None)
    assert json_codec._make_codec() == (stdlib_loads, stdlib_dumps)


def _nested(depth: int, kind: str = "array") -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("decode", [loads, stdlib_loads], ids=["fast", "stdlib"])
@pytest.mark.parametrize("kind", ["array", "object"])
def test_nesting_up_to_the_bound_is_read(decode: Any, kind: str) -> None:
    value = decode(_nested(json_codec.MAX_DEPTH, kind))
    depth = 0
    while isinstance(value, list | dict):
        depth += 1
        value = value[0] if isinstance(value, list) and value else (value or {}).get("a")
    assert depth == json_codec.MAX_DEPTH


@pytest.mark.parametrize("decode", [loads, stdlib_loads], ids=["fast", "stdlib"])
@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("depth", [json_codec.MAX_DEPTH + 1, 1025, 100_000])
def test_deeper_nesting_is_refused_not_a_recursion_error(
    decode: Any, kind: str, depth: int
) -> None:
    # The standard library's parser raised RecursionError at about 1,000 levels.
    with pytest.raises(ValueError, match="nested more than 128 levels"):
        decode(b'{"data": ' + _nested(depth - 1, kind) + b"}")


@pytest.mark.parametrize("decode", [loads, stdlib_loads], ids=["fast", "stdlib"])
@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "a\\ud800b"}',
        b'{"a\\udfff": 1}',
        b'[1, ["\\udc00"]]',
        b'"\\ud83d"',
        b'{"name": "\xed\xa0\x80"}',  # a surrogate encoded in UTF-8, which is not UTF-8
    ],
)
def test_lone_surrogates_are_refused(decode: Any, body: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the one type callers catch
        decode(body)


@pytest.mark.parametrize("decode", [loads, stdlib_loads], ids=["fast", "stdlib"])
def test_surrogate_pairs_are_characters(decode: Any) -> None:
    assert decode(b'{"e": "\\ud83d\\ude00"}') == {"e": "\U0001f600"}
