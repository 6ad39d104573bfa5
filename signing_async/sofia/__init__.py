"""S.O.F.I.A.: documents signed with a one-time code (``client.otp_signatures``)."""

from ._config import SofiaConfig
from ._models import OtpSignature, OtpSignatureRequest, SignedDownload
from ._otp_signatures import OtpSignatures

__all__ = [
    "OtpSignature",
    "OtpSignatureRequest",
    "OtpSignatures",
    "SignedDownload",
    "SofiaConfig",
]
