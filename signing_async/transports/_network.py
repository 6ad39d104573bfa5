"""Proxies and certificates, the same for every transport.

Corporate networks reach the internet through a proxy and inspect TLS with
their own certificate authority. Both transports therefore:

- honour ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` from the environment
  by default (``trust_env=True``), or use the ``proxy=`` they are given for
  every request;
- verify servers against the CA bundle ``verify=`` names (a path), or the
  :class:`ssl.SSLContext` it is; by default against the system's
  certificates (aiohttp; certifi's for httpx), or the bundle ``SSL_CERT_FILE``
  (or folder ``SSL_CERT_DIR``) names when the environment is trusted.

``SigningClient.from_env`` reads ``SIGNING_PROXY`` and ``SIGNING_CA_BUNDLE``
(see :func:`network_from_env`).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .._core.errors import ConfigurationError

__all__ = ["Verify", "check_proxy", "network_from_env", "ssl_context"]

Verify = bool | str | os.PathLike[str] | ssl.SSLContext
"""``True`` (the default certificates), a CA bundle's path, or an SSL context."""


def ssl_context(verify: Verify, *, trust_env: bool) -> ssl.SSLContext | None:
    """The SSL context that checks servers as ``verify`` asks; None for the library's default.

    Args:
        verify: ``True``, a CA bundle (PEM file, or a folder of hashed
            certificates), or a context used as it is.
        trust_env: With ``verify=True``, use ``SSL_CERT_FILE`` /
            ``SSL_CERT_DIR`` when set (read now, not when Python started).

    Raises:
        ConfigurationError: ``verify=False`` (turning verification off is
            done with an explicit SSLContext, never by accident), or a CA
            bundle that does not exist or cannot be read.
    """
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        raise ConfigurationError(
            "verify=False is refused: pass a CA bundle (verify='corporate-ca.pem') or,"
            " if you really mean to skip verification, an ssl.SSLContext set up so"
        )
    if verify is True:
        cafile = os.environ.get("SSL_CERT_FILE") if trust_env else None
        capath = os.environ.get("SSL_CERT_DIR") if trust_env else None
        if not cafile and not capath:
            return None  # the HTTP library's own verified default (no context to build)
        return _load(cafile or None, capath or None, "SSL_CERT_FILE" if cafile else "SSL_CERT_DIR")
    path = os.fspath(verify)
    if os.path.isdir(path):
        return _load(None, path, "verify")
    return _load(path, None, "verify")


def _load(cafile: str | None, capath: str | None, source: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"{source}: cannot load the CA bundle {cafile or capath!r}: {exc}"
        ) from None


def check_proxy(proxy: str | None) -> str | None:
    """``proxy`` if it is an ``http://`` or ``https://`` URL with a host.

    Raises:
        ConfigurationError: Anything else (the message never shows its password).
    """
    if proxy is None:
        return None
    parts = urlsplit(proxy) if isinstance(proxy, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        shown = parts._replace(netloc=parts.hostname or "").geturl() if parts else repr(proxy)
        raise ConfigurationError(
            f"proxy: expected an http:// or https:// URL with a host, not {shown!r}"
        )
    return proxy


def network_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Transport options from ``SIGNING_PROXY`` and ``SIGNING_CA_BUNDLE``, when set.

    ``SIGNING_PROXY`` is a proxy URL used for every request (otherwise the
    usual ``HTTPS_PROXY`` / ``NO_PROXY`` apply); ``SIGNING_CA_BUNDLE`` the
    path of a CA bundle to verify servers with.
    """
    env = os.environ if environ is None else environ
    options: dict[str, Any] = {}
    if env.get("SIGNING_PROXY"):
        options["proxy"] = env["SIGNING_PROXY"]
    if env.get("SIGNING_CA_BUNDLE"):
        options["verify"] = env["SIGNING_CA_BUNDLE"]
    return options
