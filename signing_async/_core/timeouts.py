"""Timeouts, per socket operation so that long transfers are not cut short."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Timeout"]


def _positive_or_none(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"Timeout.{attribute.name} must be positive or None, not {value!r}")


@attrs.frozen
class Timeout:
    """How long to wait, in seconds (``None``: no limit).

    ``read`` bounds each socket read, not the whole transfer: a 2 GB download
    that keeps moving never times out, a stalled one does.

    Attributes:
        connect: Establishing the connection (TLS included).
        read: Each wait for more bytes of the answer.
        total: The whole exchange, answer body included. Off by default.
    """

    connect: float | None = attrs.field(default=10.0, validator=_positive_or_none)
    read: float | None = attrs.field(default=60.0, validator=_positive_or_none)
    total: float | None = attrs.field(default=None, validator=_positive_or_none)
