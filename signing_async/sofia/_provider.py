"""S.O.F.I.A. as the rest of the house sees it: one :class:`Provider`."""

from __future__ import annotations

from collections.abc import Mapping

from .._core.provider import Provider, require_env
from ._config import DEFAULT_BASE_URL, SofiaConfig
from ._errors import ERRORS, PROVIDER
from ._otp_signatures import CREATE_MANY, OtpSignatures

__all__ = ["SOFIA"]


def _from_env(env: Mapping[str, str]) -> SofiaConfig:
    return SofiaConfig(
        client_id=require_env(env, "SIGNING_SOFIA_CLIENT_ID"),
        client_secret=require_env(env, "SIGNING_SOFIA_CLIENT_SECRET"),
        tenant_id=require_env(env, "SIGNING_SOFIA_TENANT_ID"),
        base_url=env.get("SIGNING_SOFIA_BASE_URL") or DEFAULT_BASE_URL,
        # Any string may come from the environment; SofiaConfig rejects a wrong one.
        upload_encoding=env.get("SIGNING_SOFIA_UPLOAD_ENCODING") or "multipart",  # type: ignore[arg-type]
    )


SOFIA = Provider(
    name="sofia",
    display=PROVIDER,
    config=SofiaConfig,
    errors=ERRORS,
    env_prefix="SIGNING_SOFIA_",
    env_switch="SIGNING_SOFIA_CLIENT_ID",
    from_env=_from_env,
    namespaces={"otp_signatures": OtpSignatures},
    bulk=(CREATE_MANY,),
)
"""S.O.F.I.A. OTP signatures (``client.otp_signatures``)."""
