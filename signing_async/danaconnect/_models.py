"""DANAconnect request and response models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._core.sources import DocumentSource

__all__ = ["AccessTokenAnswer", "Circuit", "CircuitRequest", "CircuitSigner"]


@attrs.frozen
class CircuitSigner:
    """The person who signs a circuit.

    Attributes:
        name: Full name.
        email: E-mail address.
        nif: Tax identification number.
    """

    name: str
    email: str
    nif: str


@attrs.frozen
class CircuitRequest:
    """One circuit to start: the arguments of ``client.circuits.start``, as an item.

    :meth:`~signing_async.danaconnect.Circuits.start_many` takes these or
    mappings with the same keys.

    Attributes:
        id: Your id for the circuit: the bulk key, unique within a job.
        signer: Who signs: a :class:`CircuitSigner` or a mapping with
            ``name``, ``email`` and ``nif``.
        docs: The PDFs: paths, bytes or :class:`~signing_async.Document` s.
    """

    id: str
    signer: CircuitSigner | Mapping[str, str]
    docs: Sequence[DocumentSource] | DocumentSource = attrs.field(repr=False)


@attrs.frozen
class Circuit:
    """A started circuit.

    Attributes:
        circuit_id: DANAconnect's id for the circuit.
        link: Where to send the signer (absent in some deployments).
        raw: Keys of the answer no field claims.
    """

    circuit_id: str
    link: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class AccessTokenAnswer:
    """The token endpoint's answer.

    ``expires_in`` is a number of seconds, also accepted as text (``"3600"``);
    missing or null, it is taken as one hour, what DANAconnect grants. A value
    that is not a finite number (``"soon"``, ``true``, a list) makes the answer
    a ``ResponseDecodeError``; a number out of any sane range (0, negative,
    years) is clamped by the token cache into 1 s .. 1 day.
    """

    access_token: str = attrs.field(repr=False)
    expires_in: float = 3600.0
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a password
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
