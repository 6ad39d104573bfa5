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

    Transfers are bounded by their progress, not their length: a 2 GB upload
    or download that keeps moving never times out, a stalled one does. An
    answer the SDK reads whole (JSON, an error, a token) is the exception: it
    must arrive whole within ``read`` seconds, so that a server dripping one
    byte at a time cannot hold a call.

    Attributes:
        connect: Establishing the connection (TLS included).
        read: Each wait for more bytes of a streamed answer (a download); and
            the whole of an answer read whole, from the end of the request
            (the time to connect, up to ``connect``, is allowed on top).
        write: The longest an upload may go without progress (the server
            taking no more of the body).
        total: The whole exchange, answer body included. Off by default.
    """

    connect: float | None = attrs.field(default=10.0, validator=_positive_or_none)
    read: float | None = attrs.field(default=60.0, validator=_positive_or_none)
    write: float | None = attrs.field(default=60.0, validator=_positive_or_none)
    total: float | None = attrs.field(default=None, validator=_positive_or_none)
