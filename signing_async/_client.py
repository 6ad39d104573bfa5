"""``SigningClient``: one object, one core session, every provider."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from . import _providers
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
        **configs: The config of any other registered provider, by its name.

    Raises:
        ConfigurationError: ``max_answer_size`` is not a positive integer.
        TypeError: A keyword argument names no registered provider.
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
        **configs: Any,
    ) -> None:
        # Any registered provider's config comes by its name; the built-in
        # ones are spelled out above for type checkers and readers.
        configs.update(danaconnect=danaconnect, danasign=danasign, sofia=sofia)
        for name, value in configs.items():
            try:
                provider = _providers.lookup(name)
            except KeyError:
                raise TypeError(
                    f"SigningClient() got an unexpected keyword argument {name!r}"
                ) from None
            require_instance(value, provider.config, name)
        require_instance(retry, RetryPolicy, "retry")
        require_instance(timeout, Timeout, "timeout")
        # A protocol: anything with its methods (get, set, discard) will do.
        require_instance(token_store, TokenStore, "token_store")
        self._configs: dict[str, Any] = configs
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
        for provider in _providers.providers():
            config = provider.config_from_env(env)
            if config is not None:
                configs[provider.name] = config
        if "transport" not in kwargs:
            kwargs["transport"] = AiohttpTransport(**network_from_env(env))
        return cls(**configs, **kwargs)

    def _namespace(self, name: str) -> Any:
        if self._session.closed:
            raise ConfigurationError("the client is closed; create a new SigningClient")
        namespace = self._namespaces.get(name)
        if namespace is None:
            provider = _providers.namespace_owner(name)
            assert provider is not None, name
            config = self._configs.get(provider.name)
            if config is None:
                raise ConfigurationError(
                    f"client.{name} needs SigningClient({provider.argument}(...))"
                )
            make = provider.namespaces[name]
            namespace = self._namespaces[name] = make(self._session, config)
        return namespace

    def __getattr__(self, name: str) -> Any:
        # The namespaces of providers registered beyond the built-in ones
        # (which have typed properties below).
        if not name.startswith("_") and _providers.namespace_owner(name) is not None:
            return self._namespace(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def circuits(self) -> Circuits:
        """DANAconnect biometric circuits."""
        namespace: Circuits = self._namespace("circuits")
        return namespace

    @property
    def contacts(self) -> Contacts:
        """DANAsign contacts."""
        namespace: Contacts = self._namespace("contacts")
        return namespace

    @property
    def documents(self) -> Documents:
        """DANAsign documents."""
        namespace: Documents = self._namespace("documents")
        return namespace

    @property
    def templates(self) -> Templates:
        """DANAsign templates."""
        namespace: Templates = self._namespace("templates")
        return namespace

    @property
    def api_tokens(self) -> ApiTokens:
        """DANAsign API-token sessions and whoami."""
        namespace: ApiTokens = self._namespace("api_tokens")
        return namespace

    @property
    def otp_signatures(self) -> OtpSignatures:
        """S.O.F.I.A. OTP signatures."""
        namespace: OtpSignatures = self._namespace("otp_signatures")
        return namespace

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
