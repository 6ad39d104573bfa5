"""S.O.F.I.A. as the rest of the house sees it: one :class:`Provider`."""

from __future__ import annotations

from .._core.provider import Provider
from ._config import SofiaConfig
from ._errors import ERRORS, PROVIDER
from ._otp_signatures import CREATE_MANY, OtpSignatures

__all__ = ["SOFIA"]


SOFIA = Provider(
    name="sofia",
    display=PROVIDER,
    config=SofiaConfig,
    errors=ERRORS,
    env_prefix="SIGNING_SOFIA_",
    env={
        "client_id": "CLIENT_ID",
        "client_secret": "CLIENT_SECRET",
        "tenant_id": "TENANT_ID",
        "base_url": "BASE_URL",
        "upload_encoding": "UPLOAD_ENCODING",
    },
    namespaces={"otp_signatures": OtpSignatures},
    bulk=(CREATE_MANY,),
)
"""S.O.F.I.A. OTP signatures (``client.otp_signatures``)."""
