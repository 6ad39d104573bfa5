"""The converter: any key spelling in, camelCase out, unknown keys kept, errors explained."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs
import pytest

import signing_async as sa
from signing_async._core.serde import camel_case, converter, decode, encode

UTC = dt.timezone.utc


@attrs.frozen
class Item:
    object_id: str
    name: str
    has_more: bool = False
    count: int = 0
    created_at: dt.datetime | None = None
    tags: tuple[str, ...] = ()
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.frozen
class Page:
    items: list[Item]
    total: int


@attrs.frozen
class Strict:
    name: str


@attrs.frozen
class Request:
    time_to_complete_days: int
    redirect_url: str | None = None
    send_in_order: bool = True
    expires_at: dt.datetime | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict)


@pytest.mark.parametrize(
    "data",
    [
        {"objectId": "o1", "name": "Ana"},
        {"ObjectId": "o1", "Name": "Ana"},
        {"object_id": "o1", "NAME": "Ana"},
        {"OBJECT_ID": "o1", "name": "Ana"},
    ],
)
def test_key_spellings(data: dict[str, Any]) -> None:
    assert decode(data, Item, what="t") == Item("o1", "Ana")


def test_unknown_keys_are_kept_in_raw() -> None:
    item = decode(
        {"objectId": "o1", "Name": "Ana", "ExtUserPtr": {"id": 3}, "x": 1}, Item, what="t"
    )
    assert item.raw == {"ExtUserPtr": {"id": 3}, "x": 1}


def test_unknown_keys_are_ignored_without_raw() -> None:
    assert decode({"name": "n", "extra": 1}, Strict, what="t") == Strict("n")


def test_values_are_converted() -> None:
    item = decode(
        {
            "objectId": 658936,
            "name": "Ana",
            "hasMore": "false",
            "count": "12",
            "createdAt": "2024-05-01T10:20:30.123Z",
            "tags": ["a", "b"],
        },
        Item,
        what="t",
    )
    assert item == Item(
        "658936", "Ana", False, 12, dt.datetime(2024, 5, 1, 10, 20, 30, 123000, UTC), ("a", "b")
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:20:30Z", dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-05-01T10:20:30z", dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-05-01T10:20:30.5Z", dt.datetime(2024, 5, 1, 10, 20, 30, 500000, tzinfo=UTC)),
        (
            "2024-05-01T12:20:30+02:00",
            dt.datetime(2024, 5, 1, 12, 20, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        ),
        ("2024-05-01T10:20:30", dt.datetime(2024, 5, 1, 10, 20, 30)),
        (
            {"__type": "Date", "iso": "2024-05-01T10:20:30.000Z"},
            dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC),
        ),
        (0, dt.datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_datetimes(value: Any, expected: dt.datetime) -> None:
    parsed = decode({"objectId": "o", "name": "n", "createdAt": value}, Item, what="t").created_at
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == expected.utcoffset()


def test_null_keeps_the_default() -> None:
    item = decode({"objectId": "o", "name": "n", "count": None, "tags": None}, Item, what="t")
    assert (item.count, item.tags) == (0, ())


def test_nested_models() -> None:
    page = decode({"Items": [{"objectId": "a", "Name": "A"}], "Total": 1}, Page, what="list")
    assert page == Page([Item("a", "A")], 1)


@pytest.mark.parametrize(
    ("data", "cls", "detail"),
    [
        ({"name": "n"}, Item, "object_id"),
        ({"objectId": None, "name": "n"}, Item, "expected a string"),
        ({"objectId": {"x": 1}, "name": "n"}, Item, "expected a string"),
        ({"objectId": "o", "name": ["n"]}, Item, "expected a string"),
        ({"objectId": "o", "name": "n", "hasMore": "maybe"}, Item, "boolean"),
        ({"objectId": "o", "name": "n", "count": "many"}, Item, "many"),
        ({"objectId": "o", "name": "n", "createdAt": "yesterday"}, Item, "yesterday"),
        (["not", "an", "object"], Item, "expected an object"),
        (None, Item, "expected an object"),
        ({"items": [{"name": "n"}], "total": 1}, Page, "Item"),
        ({"items": "nope", "total": 1}, Page, ""),
    ],
)
def test_decoding_failures(data: Any, cls: type, detail: str) -> None:
    with pytest.raises(sa.ResponseDecodeError) as caught:
        decode(data, cls, what="list things")
    assert str(caught.value).startswith("list things: unexpected answer")
    assert detail in str(caught.value)


def test_encode_uses_camel_case_and_drops_nones() -> None:
    assert encode(Request(7)) == {"timeToCompleteDays": 7, "sendInOrder": True}
    assert encode(
        Request(
            3,
            redirect_url="https://x.example",
            send_in_order=False,
            expires_at=dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            raw={"never": "sent"},
        )
    ) == {
        "timeToCompleteDays": 3,
        "redirectUrl": "https://x.example",
        "sendInOrder": False,
        "expiresAt": "2024-05-01T10:00:00Z",
    }


def test_round_trip() -> None:
    value = Request(3, redirect_url="https://x.example")
    assert decode(encode(value), Request, what="t") == value


@pytest.mark.parametrize(
    ("name", "camel"),
    [
        ("name", "name"),
        ("time_to_complete_days", "timeToCompleteDays"),
        ("external_id", "externalId"),
    ],
)
def test_camel_case(name: str, camel: str) -> None:
    assert camel_case(name) == camel


@pytest.mark.parametrize(
    ("text", "micro"),
    [("2026-01-02T03:04:05.1Z", 100000), ("2026-01-02T03:04:05.1234567Z", 123456)],
)
def test_datetimes_with_any_number_of_fractional_digits(text: str, micro: int) -> None:
    moment = converter.structure(text, dt.datetime)
    assert moment.microsecond == micro
    assert moment.tzinfo is not None


def test_many_and_long_key_spellings_still_decode() -> None:
    # Key spellings are remembered per model up to a bound; past it (many
    # keys, or long ones) decoding must give the same result, only slower.
    extra = {f"extra_{index}": index for index in range(300)}
    long_key = "x" * 200
    for spelling in ("objectId", "OBJECT_ID", "object_id"):
        data = {**extra, long_key: 1, spelling: "o1", "Name": "Ana"}
        item = decode(data, Item, what="t")
        assert (item.object_id, item.name) == ("o1", "Ana")
        assert item.raw == {**extra, long_key: 1}


@attrs.frozen
class Odd:
    when: dt.datetime | None = None
    count: int | None = None
    seconds: float | None = None
    names: tuple[str, ...] = ()
    paths: Mapping[str, str] = attrs.field(factory=dict)


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        # Each of these raised a raw error (or decoded to nonsense) before.
        ({"when": 1e20}, "Odd.when: timestamp 1e+20 is out of the range of dates"),
        ({"when": -1e18}, "Odd.when: timestamp -1e+18"),
        ({"when": float("nan")}, "Odd.when: timestamp nan"),
        ({"when": True}, "Odd.when: expected a date, got True"),
        ({"when": "0001-01-01T00:00:00+01:00"}, "Odd.when: expected a date"),
        ({"when": "9999-12-31T23:59:59-01:00"}, "Odd.when: expected a date"),
        ({"when": "2024-05-01T10:00:00Z" + " " * 100}, "Odd.when: expected a date"),
        ({"when": {"iso": 5}}, "Odd.when: expected a date, got 5"),
        ({"count": float("inf")}, "Odd.count: expected a whole number, got inf"),
        ({"count": float("nan")}, "Odd.count: expected a whole number"),
        ({"count": 2.5}, "Odd.count: expected a whole number, got 2.5"),
        ({"count": True}, "Odd.count: expected a whole number, got True"),
        ({"count": "9" * 5000}, "Odd.count: expected a whole number, got '9999"),
        ({"count": [1]}, "Odd.count: expected a whole number, got a list"),
        ({"seconds": "soon"}, "Odd.seconds: expected a finite number, got 'soon'"),
        ({"seconds": "NaN"}, "Odd.seconds: expected a finite number"),
        ({"seconds": float("inf")}, "Odd.seconds: expected a finite number, got inf"),
        ({"seconds": 10**400}, "Odd.seconds: expected a finite number, got a very large integer"),
        ({"seconds": False}, "Odd.seconds: expected a finite number, got False"),
        ({"names": "abc"}, "Odd.names: expected a list, got 'abc'"),
        ({"names": {"a": 1}}, "Odd.names: expected a list, got a dict"),
        ({"names": [{"a": 1}]}, "Odd.names: expected a string, got a dict"),
        ({"paths": [1]}, "Odd.paths: expected an object, got a list"),
        ({"paths": {"a": ["x"]}}, "Odd.paths: expected a string, got a list"),
    ],
)
def test_hostile_values_are_decode_errors_naming_the_field(
    data: dict[str, Any], detail: str
) -> None:
    with pytest.raises(sa.ResponseDecodeError) as caught:
        decode(data, Odd, what="t")
    assert detail in str(caught.value)
    assert len(str(caught.value)) < 200  # a long value is shown cut short


def test_numbers_and_lists_that_fit_still_decode() -> None:
    odd = decode(
        {"when": 1714558830.5, "count": 12.0, "seconds": "3600", "names": ["a"], "paths": {}},
        Odd,
        what="t",
    )
    assert odd == Odd(dt.datetime(2024, 5, 1, 10, 20, 30, 500000, UTC), 12, 3600.0, ("a",), {})
    assert decode({"count": " 7 ", "seconds": 10**20, "names": ("x", "y")}, Odd, what="t") == Odd(
        count=7, seconds=1e20, names=("x", "y")
    )
