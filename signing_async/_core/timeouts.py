"""Timeouts, per socket operation so that long transfers are not cut short."""

from __future__ import annotations

import attrs

from .settings import require_seconds

__all__ = ["Timeout"]


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

    connect: float | None = 10.0
    read: float | None = 60.0
    write: float | None = 60.0
    total: float | None = None

    def __attrs_post_init__(self) -> None:
        for field in attrs.fields(Timeout):
            require_seconds(getattr(self, field.name), f"Timeout.{field.name}", optional=True)
