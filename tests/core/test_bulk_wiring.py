"""From a bulk item to a request: the core's one conversion, for single items and batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import pytest

import signing_async as sa
from signing_async._core.bulk import call_arguments
from signing_async._core.provider import _send_built
from signing_async._core.sources import DocumentSource


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


def test_a_request_object_and_its_mapping_give_the_same_arguments() -> None:
    as_object = Parcel(ref="r", to=Person("Ana", "a@x.io"), content=DOC)
    as_mapping = {"ref": "r", "to": {"name": "Ana", "email": "a@x.io"}, "content": DOC}
    expected = {"ref": "r", "to": Person("Ana", "a@x.io"), "content": DOC, "copies": 1}
    assert call_arguments(as_object, Parcel) == expected
    assert call_arguments(as_mapping, Parcel) == expected
    # A document source is a value, not a request to build: it passes as it is.
    assert call_arguments(as_mapping, Parcel)["content"] is DOC


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
        ({"ref": "r", "to": {"name": "A", "emial": "e"}, "content": b"x"},
         "to.emial: unknown key for Person (expected one of ['email', 'name'])"),
        ({"ref": "r", "to": {"name": "A", "email": "e"}}, "content: is required"),
        (["ref", "r"], "item: expected a Parcel or a mapping, not list"),
    ],
    ids=["unknown", "nested-unknown", "missing", "not-a-mapping"],
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
