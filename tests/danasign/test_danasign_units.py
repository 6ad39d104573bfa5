"""signing_async.danasign.units: the correct conversions and page sizes."""

from __future__ import annotations

import pytest

from signing_async.danasign import units
from signing_async.danasign.units import PageSize, inches_to_points, mm_to_points


def test_a4_in_millimetres() -> None:
    assert mm_to_points(210) == 595
    assert mm_to_points(297) == 842


def test_inches() -> None:
    assert inches_to_points(8.5) == 612
    assert inches_to_points(11) == 792
    assert inches_to_points(14) == 1008
    assert inches_to_points(1) == 72


def test_the_guides_own_example_is_the_a4_centre() -> None:
    # (298, 421) is the centre of an A4 page only under the correct formula.
    assert (mm_to_points(105), mm_to_points(148.5)) == (298, 421)
    # The guide's ``mm / 3.527`` is off by a factor of ten.
    seed_times_ten = 10 * 210 / 3.527
    assert mm_to_points(210) == pytest.approx(seed_times_ten, abs=1)
    assert mm_to_points(210) != round(210 / 3.527)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (PageSize.A4, (595, 842)),
        (PageSize.LETTER, (612, 792)),
        (PageSize.LEGAL, (612, 1008)),
        (PageSize.A5, (420, 595)),
        (PageSize.A6, (298, 420)),
    ],
)
def test_page_sizes(size: units.PageDimensions, expected: tuple[int, int]) -> None:
    assert size == expected
    assert (size.width, size.height) == expected


def test_page_sizes_agree_with_the_conversions() -> None:
    assert (mm_to_points(210), mm_to_points(297)) == PageSize.A4
    assert (mm_to_points(148), mm_to_points(210)) == PageSize.A5
    assert (mm_to_points(105), mm_to_points(148)) == PageSize.A6
    assert (inches_to_points(8.5), inches_to_points(11)) == PageSize.LETTER
    assert (inches_to_points(8.5), inches_to_points(14)) == PageSize.LEGAL


def test_the_docstring_names_the_seed_error() -> None:
    assert units.__doc__ is not None
    assert "3.527" in units.__doc__
    assert "factor of ten" in units.__doc__
