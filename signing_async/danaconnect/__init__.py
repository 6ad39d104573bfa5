"""DANAconnect: biometric video-signature circuits (``client.circuits``)."""

from ._circuits import Circuits
from ._config import DanaConnectConfig
from ._models import Circuit, CircuitRequest, CircuitSigner
from ._provider import DANACONNECT

__all__ = [
    "DANACONNECT",
    "Circuit",
    "CircuitRequest",
    "CircuitSigner",
    "Circuits",
    "DanaConnectConfig",
]
