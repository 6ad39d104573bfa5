"""DANAconnect: biometric video-signature circuits (``client.circuits``)."""

from ._circuits import Circuits
from ._config import DanaConnectConfig
from ._models import Circuit, CircuitRequest, CircuitSigner

__all__ = ["Circuit", "CircuitRequest", "CircuitSigner", "Circuits", "DanaConnectConfig"]
