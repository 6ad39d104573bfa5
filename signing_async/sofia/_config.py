"""S.O.F.I.A. settings."""

from __future__ import annotations

from typing import Literal

import attrs

from .._core.errors import ConfigurationError
from .._core.settings import (
    require_basic_user,
    require_credentials,
    require_flags,
    require_id_settings,
)
from .._core.urls import check_base_url
from .._core.validation import shown

__all__ = ["DEFAULT_BASE_URL", "UPLOAD_ENCODINGS", "SofiaConfig", "UploadEncoding"]

DEFAULT_BASE_URL = "https://sandbox-sofiapp.bio.credit"

UploadEncoding = Literal["multipart", "json"]
UPLOAD_ENCODINGS: tuple[UploadEncoding, ...] = ("multipart", "json")


def _hidden(_: object) -> str:
    return "'***'"


@attrs.frozen
class SofiaConfig:
    """Credentials and host for the S.O.F.I.A. OTP signature API.

    Example:
        >>> config = SofiaConfig(client_id="acme", client_secret="...", tenant_id="empresa-123")
        >>> "..." in repr(config)
        False

    Attributes:
        client_id: The HTTP Basic user S.O.F.I.A. issued.
        client_secret: The HTTP Basic password (never shown in ``repr``).
        tenant_id: Your company's id, sent with every signature request
            unless a call passes its own.
        base_url: The API host; the sandbox by default, production is given
            at enrolment.
        upload_encoding: How ``create`` sends its files: ``"multipart"``
            (``multipart/form-data`` with file parts, the default) or
            ``"json"`` (one JSON object with the files Base64-encoded).
        allow_insecure: Allow ``http://`` to a non-loopback host, for the API
            and for signed-document downloads.
    """

    client_id: str
    client_secret: str = attrs.field(repr=_hidden)
    tenant_id: str
    base_url: str = DEFAULT_BASE_URL
    upload_encoding: UploadEncoding = "multipart"
    allow_insecure: bool = False

    def __attrs_post_init__(self) -> None:
        require_credentials(self, "client_id", "client_secret")
        require_basic_user(self, "client_id")
        require_id_settings(self, "tenant_id")
        require_flags(self, "allow_insecure")
        if self.upload_encoding not in UPLOAD_ENCODINGS:
            raise ConfigurationError(
                "SofiaConfig.upload_encoding must be 'multipart' or 'json', "
                f"not {shown(self.upload_encoding)}"
            )
        check_base_url(self.base_url, "SofiaConfig.base_url", allow_insecure=self.allow_insecure)

    @property
    def api_url(self) -> str:
        """The API host, without a trailing slash."""
        return self.base_url.rstrip("/")
