"""From a bulk item to a request: keyword arguments for one item, request objects for a batch."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import pytest

import signing_async as sa
from signing_async._core.bulk import call_arguments
from signing_async._core.provider import BulkSpec, Provider, _send_built
from signing_async._core.sources import DocumentSource
from signing_async._providers import bulk_specs
from tests.fourth.provider import GREETER


@attrs.frozen
class Person:
    name: str
    email: str


@attrs.frozen
class Parcel:
    ref: str
    to: Person | Mapping[str, Any]
    content: DocumentSource
    copies: int = 1


DOC = sa.Document(b"%PDF-1.4 x", "a.pdf")


def test_a_request_object_is_spread_into_its_fields() -> None:
    as_object = Parcel(ref="r", to=Person("Ana", "a@x.io"), content=DOC)
    expected = {"ref": "r", "to": Person("Ana", "a@x.io"), "content": DOC, "copies": 1}
    assert call_arguments(as_object, Parcel) == expected


def test_a_mapping_is_passed_as_it_is_for_the_single_item_call_to_check() -> None:
    # Its values are checked once, by the single-item call, as on any direct call.
    to = {"name": "Ana", "email": "a@x.io"}
    as_mapping = {"ref": "r", "to": to, "content": DOC}
    arguments = call_arguments(as_mapping, Parcel)
    assert arguments == as_mapping
    assert arguments is not as_mapping  # the caller's item is never changed
    # A document source is a value, not a request to build: it passes as it is.
    assert arguments["to"] is to
    assert arguments["content"] is DOC


def test_a_mapping_s_values_are_read_as_it_gives_them() -> None:
    class Trimmed(dict[str, Any]):
        def __getitem__(self, key: str) -> Any:
            value = super().__getitem__(key)
            return value.strip() if isinstance(value, str) else value

    item = Trimmed(ref="  r  ", to={"name": "Ana", "email": "a@x.io"}, content=DOC)
    assert call_arguments(item, Parcel)["ref"] == "r"


def test_timeout_is_the_one_key_beside_the_fields() -> None:
    timeout = sa.Timeout(read=3)
    arguments = call_arguments(
        {"ref": "r", "to": Person("Ana", "a@x.io"), "content": b"x", "timeout": timeout}, Parcel
    )
    assert arguments["timeout"] is timeout
    assert arguments["content"] == b"x"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"ref": "r", "to": {"name": "A", "email": "e"}, "content": b"x", "colour": 1},
         "colour: unknown key for Parcel (expected one of ['content', 'copies', 'ref', 'to'])"),
        ({"ref": "r", "to": {"name": "A"}, "content": b"x", 7: 1, "weight": 2},
         "7: unknown key for Parcel (expected one of ['content', 'copies', 'ref', 'to'])"),
        ({"ref": "r", "to": {"name": "A", "email": "e"}}, "content: is required"),
        (["ref", "r"], "item: expected a Parcel or a mapping, not list"),
    ],
    ids=["unknown", "unknown-not-text", "missing", "not-a-mapping"],
)  # fmt: skip
def test_a_bad_item_is_a_validation_error_naming_the_field(item: object, message: str) -> None:
    with pytest.raises(sa.ValidationError) as caught:
        call_arguments(item, Parcel)
    assert str(caught.value) == message


async def test_a_batch_item_that_does_not_build_fails_alone_and_the_rest_go_together() -> None:
    sent: list[list[Person]] = []

    async def send_batch(people: list[Person]) -> Sequence[str | Exception]:
        sent.append(people)
        return [person.email for person in people]

    items = [{"name": "A", "email": "a@x.io"}, {"name": "B"}, Person("C", "c@x.io")]
    answers = await _send_built(send_batch, Person, items)

    assert sent == [[Person("A", "a@x.io"), Person("C", "c@x.io")]]
    assert answers[0] == "a@x.io"
    assert answers[2] == "c@x.io"
    assert isinstance(answers[1], sa.ValidationError)
    assert str(answers[1]) == "email: is required"


async def test_a_batch_answering_for_the_wrong_count_is_a_bug_said_aloud() -> None:
    async def send_batch(people: list[Person]) -> Sequence[str | Exception]:
        return []

    with pytest.raises(RuntimeError, match="0 answers for 1 items"):
        await _send_built(send_batch, Person, [Person("A", "a@x.io")])


@pytest.mark.parametrize(
    "pair",
    [
        *((provider, spec) for provider, spec in bulk_specs() if spec.batch is None),
        (GREETER, GREETER.bulk[0]),  # a provider added the documented way
    ],
    ids=lambda pair: f"{pair[1].namespace}.{pair[1].method}",
)
def test_an_item_and_its_single_call_agree_on_names_and_defaults(
    pair: tuple[Provider, BulkSpec[Any]],
) -> None:
    # A mapping item is passed to the single-item call as it is: a key it
    # leaves out takes the call's default, where a request object holds its
    # class's. Both must be the same, or the two kinds of item would differ.
    provider, spec = pair
    method = getattr(provider.namespaces[spec.namespace], spec.operation)
    parameters = inspect.signature(method).parameters
    fields = attrs.fields(spec.request_type)
    assert ["self"] + [field.name for field in fields] + ["timeout"] == list(parameters)
    for field in fields:
        default = parameters[field.name].default
        if field.default is attrs.NOTHING:
            assert default is inspect.Parameter.empty, field.name
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            assert field.default.factory() == default, field.name
        else:
            assert field.default == default, field.name
