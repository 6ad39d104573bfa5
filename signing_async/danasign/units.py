"""Widget coordinates: DANAsign measures in points, 72 per inch.

Coordinates start at the page's top-left corner, x to the right, y downward;
``w`` and ``h`` are points too. Round to whole points.

The DANAsign guide converts millimetres with ``mm / 3.527``; that is wrong by
a factor of ten (a point is 0.3528 mm, so it would be ``mm / 0.3528``). These
helpers use the exact ``round(mm * 72 / 25.4)``, under which the guide's own
example, (298, 421), is the centre of an A4 page.

Example:
    >>> from signing_async.danasign.units import PageSize, mm_to_points
    >>> mm_to_points(210), mm_to_points(297)
    (595, 842)
    >>> PageSize.A4.width // 2
    297
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["PageDimensions", "PageSize", "inches_to_points", "mm_to_points"]

POINTS_PER_INCH: Final = 72
MM_PER_INCH: Final = 25.4


def mm_to_points(mm: float) -> int:
    """Millimetres to whole points: ``round(mm * 72 / 25.4)``.

    Args:
        mm: A distance in millimetres.

    Returns:
        The distance in points, rounded to the nearest integer.
    """
    return round(mm * POINTS_PER_INCH / MM_PER_INCH)


def inches_to_points(inches: float) -> int:
    """Inches to whole points: ``round(72 * inches)``.

    Args:
        inches: A distance in inches.

    Returns:
        The distance in points, rounded to the nearest integer.
    """
    return round(POINTS_PER_INCH * inches)


class PageDimensions(NamedTuple):
    """A page's size in points, portrait.

    Attributes:
        width: Width in points.
        height: Height in points.
    """

    width: int
    height: int


class PageSize:
    """Common page sizes in points (portrait), as ``(width, height)``."""

    A4: Final = PageDimensions(595, 842)
    """210 x 297 mm."""
    LETTER: Final = PageDimensions(612, 792)
    """US Letter, 8.5 x 11 in."""
    LEGAL: Final = PageDimensions(612, 1008)
    """US Legal, 8.5 x 14 in."""
    A5: Final = PageDimensions(420, 595)
    """148 x 210 mm."""
    A6: Final = PageDimensions(298, 420)
    """105 x 148 mm."""
