"""S.O.F.I.A.: documents signed with a one-time code (``client.otp_signatures``)."""

from ._config import SofiaConfig
from ._models import OtpSignature, OtpSignatureRequest, SignedDownload
from ._otp_signatures import OtpSignatures
from ._provider import SOFIA
from ._requests import NewOtpSignature

__all__ = [
    "SOFIA",
    "NewOtpSignature",
    "OtpSignature",
    "OtpSignatureRequest",
    "OtpSignatures",
    "SignedDownload",
    "SofiaConfig",
]
