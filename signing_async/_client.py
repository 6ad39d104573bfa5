"""``SigningClient``: one object, one core session, every provider."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType

from ._core.errors import ConfigurationError
from ._core.retry import RetryPolicy
from ._core.session import CoreSession
from ._core.timeouts import Timeout
from ._core.tokens import TokenStore
from ._version import __version__
from .danaconnect import Circuits, DanaConnectConfig
from .sofia import OtpSignatures, SofiaConfig
from .transports import AiohttpTransport, Transport

__all__ = ["SigningClient"]


class SigningClient:
    """The entry point: configure the providers you use, then call their namespaces.

    Example:
        >>> async with SigningClient(danaconnect=DanaConnectConfig(...)) as client:
        ...     circuit = await client.circuits.start(id="1", signer=..., docs=["a.pdf"])

    Every namespace shares one core session: one transport (connection pool),
    one token cache, one retry policy. Using the namespace of a provider that
    was not configured raises :class:`ConfigurationError`.

    Args:
        danaconnect: DANAconnect settings (``client.circuits``).
        sofia: S.O.F.I.A. settings (``client.otp_signatures``).
        transport: How requests are sent; an :class:`AiohttpTransport` by default.
            The client closes it on :meth:`aclose`.
        retry: The retry policy of every call.
        timeout: The default timeouts of every call.
        token_store: Where OAuth tokens are cached (in memory by default).
    """

    def __init__(
        self,
        *,
        danaconnect: DanaConnectConfig | None = None,
        sofia: SofiaConfig | None = None,
        transport: Transport | None = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout | None = None,
        token_store: TokenStore | None = None,
    ) -> None:
        self._danaconnect = danaconnect
        self._sofia = sofia
        self._session = CoreSession(
            transport if transport is not None else AiohttpTransport(),
            retry=retry or RetryPolicy(),
            timeout=timeout or Timeout(),
            token_store=token_store,
            base_headers={"User-Agent": f"signing-async/{__version__}"},
        )
        self._circuits: Circuits | None = None
        self._otp_signatures: OtpSignatures | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: object) -> SigningClient:
        """Build a client from ``SIGNING_*`` environment variables.

        A provider is configured when its required variables are set; see the
        README for the full list. Keyword arguments (``transport=``, ``retry=``
        ...) are passed on.
        """
        env = os.environ if environ is None else environ
        configs: dict[str, object] = {}
        if env.get("SIGNING_DANACONNECT_CLIENT_ID"):
            configs["danaconnect"] = DanaConnectConfig(
                client_id=env["SIGNING_DANACONNECT_CLIENT_ID"],
                client_secret=_required(env, "SIGNING_DANACONNECT_CLIENT_SECRET"),
                channel=_required(env, "SIGNING_DANACONNECT_CHANNEL"),
                subdomain=env.get("SIGNING_DANACONNECT_SUBDOMAIN"),
                base_url=env.get("SIGNING_DANACONNECT_BASE_URL")
                or "https://biometric.danaconnect.com",
                download_base_url=env.get("SIGNING_DANACONNECT_DOWNLOAD_URL"),
            )
        if env.get("SIGNING_SOFIA_CLIENT_ID"):
            encoding = env.get("SIGNING_SOFIA_UPLOAD_ENCODING") or "multipart"
            configs["sofia"] = SofiaConfig(
                client_id=env["SIGNING_SOFIA_CLIENT_ID"],
                client_secret=_required(env, "SIGNING_SOFIA_CLIENT_SECRET"),
                tenant_id=_required(env, "SIGNING_SOFIA_TENANT_ID"),
                base_url=env.get("SIGNING_SOFIA_BASE_URL") or "https://sandbox-sofiapp.bio.credit",
                # Any string may come from the environment; SofiaConfig rejects a wrong one.
                upload_encoding=encoding,  # type: ignore[arg-type]
            )
        return cls(**configs, **kwargs)  # type: ignore[arg-type]

    def _closed_check(self) -> None:
        if self._session.closed:
            raise ConfigurationError("the client is closed; create a new SigningClient")

    @property
    def circuits(self) -> Circuits:
        """DANAconnect biometric circuits."""
        self._closed_check()
        if self._circuits is None:
            if self._danaconnect is None:
                raise ConfigurationError(
                    "client.circuits needs SigningClient(danaconnect=DanaConnectConfig(...))"
                )
            self._circuits = Circuits(self._session, self._danaconnect)
        return self._circuits

    @property
    def otp_signatures(self) -> OtpSignatures:
        """S.O.F.I.A. OTP signatures."""
        self._closed_check()
        if self._otp_signatures is None:
            if self._sofia is None:
                raise ConfigurationError(
                    "client.otp_signatures needs SigningClient(sofia=SofiaConfig(...))"
                )
            self._otp_signatures = OtpSignatures(self._session, self._sofia)
        return self._otp_signatures

    async def aclose(self) -> None:
        """Close the transport (and its connections). Calling it twice is harmless."""
        await self._session.aclose()

    async def __aenter__(self) -> SigningClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value
