"""build: one way from a mapping to a request model, every error naming its field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import pytest

import signing_async as sa
from signing_async._core.coerce import build, build_many


def _upper(value: str) -> str:
    if not isinstance(value, str):
        raise sa.ValidationError("code", "must be a string")
    return value.upper()


@attrs.frozen
class Part:
    code: str = attrs.field(converter=_upper)
    size: int | None = None


@attrs.frozen
class Order:
    name: str
    parts: Sequence[Part | Mapping[str, Any]]
    main: Part | Mapping[str, Any] | None = None


def problem(value: object, cls: type[Any] = Order, field: str = "order") -> str:
    with pytest.raises(sa.ValidationError) as caught:
        build(cls, value, field)
    return str(caught.value)


def test_nested_mappings_become_models() -> None:
    order = build(Order, {"name": "n", "parts": [{"code": "a"}], "main": {"code": "b"}}, "o")
    assert order == Order(name="n", parts=(Part("A"),), main=Part("B"))


def test_a_model_holding_mappings_is_built_too() -> None:
    order = build(Order, Order(name="n", parts=[{"code": "a", "size": 2}]), "o")
    assert order.parts == (Part("A", 2),)


def test_a_plain_model_passes_through_untouched() -> None:
    part = Part("A")
    assert build(Part, part, "part") is part


def test_an_unknown_key_is_named_with_its_path() -> None:
    assert problem({"name": "n", "parts": [{"code": "a"}, {"cdoe": "b"}]}) == (
        "order.parts[1].cdoe: unknown key for Part (expected one of ['code', 'size'])"
    )


def test_a_missing_key_is_required() -> None:
    assert problem({"parts": []}) == "order.name: is required"


def test_wrong_shapes_are_named() -> None:
    assert problem([1]) == "order: expected a Order or a mapping, not list"
    assert problem({"name": "n", "parts": "ab"}) == "order.parts: expected a sequence, not str"
    assert problem({"name": "n", "parts": [3]}) == (
        "order.parts[0]: expected a Part or a mapping, not int"
    )


def test_a_field_converters_error_gets_the_whole_path() -> None:
    assert problem({"name": "n", "parts": [], "main": {"code": 5}}) == (
        "order.main.code: must be a string"
    )


def test_scalars_are_not_converted_so_the_checks_can_refuse_them() -> None:
    order = build(Order, {"name": 5, "parts": [{"code": "a", "size": "7"}]}, "o")
    assert order.name == 5  # type: ignore[comparison-overlap]  # what build left
    assert order.parts[0] == Part("A", "7")  # type: ignore[arg-type]  # the same


def test_build_many_numbers_the_items() -> None:
    with pytest.raises(sa.ValidationError, match=r"^parts\[1\]\.code: is required$"):
        build_many(Part, [{"code": "a"}, {}], "parts")
    with pytest.raises(sa.ValidationError, match=r"^parts: expected a sequence, not dict$"):
        build_many(Part, {"code": "a"}, "parts")
