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
from .danasign import ApiTokens, Contacts, DanaSignConfig, Documents, Templates
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
        danasign: DANAsign settings (``client.contacts``, ``client.documents``,
            ``client.templates``, ``client.api_tokens``).
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
        danasign: DanaSignConfig | None = None,
        transport: Transport | None = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout | None = None,
        token_store: TokenStore | None = None,
    ) -> None:
        self._danaconnect = danaconnect
        self._session = CoreSession(
            transport if transport is not None else AiohttpTransport(),
            retry=retry or RetryPolicy(),
            timeout=timeout or Timeout(),
            token_store=token_store,
            base_headers={"User-Agent": f"signing-async/{__version__}"},
        )
        self._circuits: Circuits | None = None
        self._danasign = danasign
        self._contacts: Contacts | None = None
        self._documents: Documents | None = None
        self._templates: Templates | None = None
        self._api_tokens: ApiTokens | None = None

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
        if env.get("SIGNING_DANASIGN_SERVER_URL"):
            configs["danasign"] = DanaSignConfig(
                server_url=env["SIGNING_DANASIGN_SERVER_URL"],
                api_token=_required(env, "SIGNING_DANASIGN_API_TOKEN"),
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

    def _danasign_config(self, namespace: str) -> DanaSignConfig:
        self._closed_check()
        if self._danasign is None:
            raise ConfigurationError(
                f"client.{namespace} needs SigningClient(danasign=DanaSignConfig(...))"
            )
        return self._danasign

    @property
    def contacts(self) -> Contacts:
        """DANAsign contacts."""
        config = self._danasign_config("contacts")
        if self._contacts is None:
            self._contacts = Contacts(self._session, config)
        return self._contacts

    @property
    def documents(self) -> Documents:
        """DANAsign documents."""
        config = self._danasign_config("documents")
        if self._documents is None:
            self._documents = Documents(self._session, config)
        return self._documents

    @property
    def templates(self) -> Templates:
        """DANAsign templates."""
        config = self._danasign_config("templates")
        if self._templates is None:
            self._templates = Templates(self._session, config)
        return self._templates

    @property
    def api_tokens(self) -> ApiTokens:
        """DANAsign API-token sessions and whoami."""
        config = self._danasign_config("api_tokens")
        if self._api_tokens is None:
            self._api_tokens = ApiTokens(self._session, config)
        return self._api_tokens

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
