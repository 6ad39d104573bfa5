"""The registry: every provider the client, the CLI, the manifest reader and the sandbox know.

The three built-in providers are listed here, once. Another one (a test's,
say) joins with one line, ``register(MY_PROVIDER)``: from then on
``SigningClient(<name>=...)``, ``SigningClient.from_env``, its namespaces,
its ``*_many`` methods and ``signing-async bulk-send --provider <name>``
know it.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._core.errors import ConfigurationError
from ._core.provider import BulkSpec, Provider
from .danaconnect import DANACONNECT
from .danasign import DANASIGN
from .sofia import SOFIA

__all__ = [
    "bulk_spec",
    "bulk_specs",
    "lookup",
    "namespace_owner",
    "providers",
    "register",
    "unregister",
]

_REGISTRY: dict[str, Provider] = {}


def register(provider: Provider) -> Provider:
    """Make ``provider`` known to the house; returns it.

    Raises:
        ConfigurationError: Its name or one of its namespaces is taken.
    """
    if provider.name in _REGISTRY:
        raise ConfigurationError(f"a provider named {provider.name!r} is already registered")
    for name in provider.namespaces:
        owner = namespace_owner(name)
        if owner is not None:
            raise ConfigurationError(f"the namespace {name!r} belongs to {owner.display}")
    _REGISTRY[provider.name] = provider
    return provider


def unregister(name: str) -> None:
    """Forget the provider ``name`` (a test's, when it is done)."""
    _REGISTRY.pop(name, None)


def providers() -> tuple[Provider, ...]:
    """Every registered provider, in registration order."""
    return tuple(_REGISTRY.values())


def lookup(name: str) -> Provider:
    """The provider registered as ``name``.

    Raises:
        KeyError: No such provider.
    """
    return _REGISTRY[name]


def namespace_owner(namespace: str) -> Provider | None:
    """The provider whose namespace is ``client.<namespace>``, if any."""
    for provider in _REGISTRY.values():
        if namespace in provider.namespaces:
            return provider
    return None


def bulk_specs() -> Iterator[tuple[Provider, BulkSpec[object]]]:
    """Every bulk method of every provider, with its provider."""
    for provider in _REGISTRY.values():
        for spec in provider.bulk:
            yield provider, spec


def bulk_spec(provider: str) -> BulkSpec[object]:
    """The bulk method ``signing-async bulk-send --provider <provider>`` uses: its first.

    Raises:
        KeyError: No such provider, or one without a bulk method.
    """
    specs = lookup(provider).bulk
    if not specs:
        raise KeyError(provider)
    return specs[0]


for _builtin in (DANACONNECT, DANASIGN, SOFIA):
    register(_builtin)
