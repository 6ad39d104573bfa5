"""``SigningClient``: one object, one core session, every provider."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from ._core.bounds import DEFAULT_MAX_ANSWER_SIZE
from ._core.errors import ConfigurationError
from ._core.retry import RetryPolicy
from ._core.session import CoreSession
from ._core.settings import require_instance
from ._core.timeouts import Timeout
from ._core.tokens import TokenStore
from ._version import __version__
from .danaconnect import Circuits, DanaConnectConfig
from .danasign import ApiTokens, Contacts, DanaSignConfig, Documents, Templates
from .sofia import OtpSignatures, SofiaConfig
from .transports import AiohttpTransport, Transport
from .transports._network import network_from_env

__all__ = ["SigningClient"]

C = TypeVar("C")
N = TypeVar("N")


class SigningClient:
    """The entry point: configure the providers you use, then call their namespaces.

    Example:
        >>> async with SigningClient(danaconnect=DanaConnectConfig(...)) as client:
        ...     circuit = await client.circuits.start(id="1", signer=..., docs=["a.pdf"])

    Every namespace shares one core session: one transport (connection pool),
    one token cache, one retry policy. Using the namespace of a provider that
    was not configured raises :class:`ConfigurationError`. Nothing touches the
    network, nor creates a connection pool, before the first call.

    Args:
        danaconnect: DANAconnect settings (``client.circuits``).
        danasign: DANAsign settings (``client.contacts``, ``client.documents``,
            ``client.templates``, ``client.api_tokens``).
        sofia: S.O.F.I.A. settings (``client.otp_signatures``).
        transport: How requests are sent; an :class:`AiohttpTransport` by default.
            The client closes it on :meth:`aclose`.
        retry: The retry policy of every call.
        timeout: The default timeouts of every call.
        max_answer_size: The largest answer, in bytes, that is read whole (JSON,
            errors, tokens): past it reading stops and the call raises
            :class:`ResponseDecodeError`. 16 MiB by default.
        token_store: Where OAuth tokens are cached (in memory by default).

    Raises:
        ConfigurationError: ``max_answer_size`` is not a positive integer.
    """

    def __init__(
        self,
        *,
        danaconnect: DanaConnectConfig | None = None,
        danasign: DanaSignConfig | None = None,
        sofia: SofiaConfig | None = None,
        transport: Transport | None = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout | None = None,
        max_answer_size: int = DEFAULT_MAX_ANSWER_SIZE,
        token_store: TokenStore | None = None,
    ) -> None:
        for value, expected, name in (
            (danaconnect, DanaConnectConfig, "danaconnect"),
            (danasign, DanaSignConfig, "danasign"),
            (sofia, SofiaConfig, "sofia"),
            (retry, RetryPolicy, "retry"),
            (timeout, Timeout, "timeout"),
        ):
            require_instance(value, expected, name)
        self._danaconnect = danaconnect
        self._danasign = danasign
        self._sofia = sofia
        self._session = CoreSession(
            transport if transport is not None else AiohttpTransport(),
            retry=retry or RetryPolicy(),
            timeout=timeout or Timeout(),
            token_store=token_store,
            max_answer_size=max_answer_size,
            base_headers={"User-Agent": f"signing-async/{__version__}"},
        )
        self._namespaces: dict[str, Any] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> SigningClient:
        """Build a client from ``SIGNING_*`` environment variables.

        A provider is configured when its first variable below is set; the
        README lists them all. Keyword arguments (``transport=``, ``retry=``
        ...) are passed on. Without ``transport=``, the default
        :class:`AiohttpTransport` takes ``SIGNING_PROXY`` (a proxy URL for
        every request; otherwise ``HTTPS_PROXY``/``NO_PROXY`` apply) and
        ``SIGNING_CA_BUNDLE`` (a CA bundle to verify servers with).

        Raises:
            ConfigurationError: A provider's variables are incomplete or invalid.
        """
        env = os.environ if environ is None else environ
        configs: dict[str, Any] = {}
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
        if env.get("SIGNING_DANASIGN_SERVER_URL"):
            configs["danasign"] = DanaSignConfig(
                server_url=env["SIGNING_DANASIGN_SERVER_URL"],
                api_token=_required(env, "SIGNING_DANASIGN_API_TOKEN"),
            )
        if env.get("SIGNING_SOFIA_CLIENT_ID"):
            configs["sofia"] = SofiaConfig(
                client_id=env["SIGNING_SOFIA_CLIENT_ID"],
                client_secret=_required(env, "SIGNING_SOFIA_CLIENT_SECRET"),
                tenant_id=_required(env, "SIGNING_SOFIA_TENANT_ID"),
                base_url=env.get("SIGNING_SOFIA_BASE_URL") or "https://sandbox-sofiapp.bio.credit",
                # Any string may come from the environment; SofiaConfig rejects a wrong one.
                upload_encoding=env.get("SIGNING_SOFIA_UPLOAD_ENCODING") or "multipart",  # type: ignore[arg-type]
            )
        if "transport" not in kwargs:
            kwargs["transport"] = AiohttpTransport(**network_from_env(env))
        return cls(**configs, **kwargs)

    def _namespace(
        self, name: str, config: C | None, argument: str, make: Callable[[CoreSession, C], N]
    ) -> N:
        if self._session.closed:
            raise ConfigurationError("the client is closed; create a new SigningClient")
        namespace = self._namespaces.get(name)
        if namespace is None:
            if config is None:
                raise ConfigurationError(f"client.{name} needs SigningClient({argument}(...))")
            namespace = self._namespaces[name] = make(self._session, config)
        result: N = namespace
        return result

    @property
    def circuits(self) -> Circuits:
        """DANAconnect biometric circuits."""
        return self._namespace(
            "circuits", self._danaconnect, "danaconnect=DanaConnectConfig", Circuits
        )

    @property
    def contacts(self) -> Contacts:
        """DANAsign contacts."""
        return self._namespace("contacts", self._danasign, "danasign=DanaSignConfig", Contacts)

    @property
    def documents(self) -> Documents:
        """DANAsign documents."""
        return self._namespace("documents", self._danasign, "danasign=DanaSignConfig", Documents)

    @property
    def templates(self) -> Templates:
        """DANAsign templates."""
        return self._namespace("templates", self._danasign, "danasign=DanaSignConfig", Templates)

    @property
    def api_tokens(self) -> ApiTokens:
        """DANAsign API-token sessions and whoami."""
        return self._namespace("api_tokens", self._danasign, "danasign=DanaSignConfig", ApiTokens)

    @property
    def otp_signatures(self) -> OtpSignatures:
        """S.O.F.I.A. OTP signatures."""
        return self._namespace("otp_signatures", self._sofia, "sofia=SofiaConfig", OtpSignatures)

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
