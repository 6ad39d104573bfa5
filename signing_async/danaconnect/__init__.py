"""DANAconnect: biometric video-signature circuits (``client.circuits``)."""

from ._circuits import Circuits
from ._config import DanaConnectConfig
from ._models import Circuit, CircuitSigner

__all__ = ["Circuit", "CircuitSigner", "Circuits", "DanaConnectConfig"]
