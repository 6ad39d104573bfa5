"""httpx is an optional extra: the package works without it and says what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import ModuleType

import pytest

import signing_async
import signing_async.transports
from signing_async.transports._httpx import HttpxTransport

WITHOUT_HTTPX = textwrap.dedent(
    """
    import sys
    sys.modules["httpx"] = None  # makes "import httpx" fail, as if it were not installed

    import signing_async
    from signing_async.transports import AiohttpTransport, MockTransport

    for module in (signing_async, signing_async.transports):
        try:
            module.HttpxTransport
        except ImportError as exc:
            print(exc)
        else:
            print("imported")
    try:
        from signing_async import HttpxTransport
    except ImportError as exc:
        print(exc)
    """
)


def test_the_package_imports_without_httpx_and_names_the_extra() -> None:
    result = subprocess.run(  # noqa: S603 - runs this interpreter on a fixed script
        [sys.executable, "-c", WITHOUT_HTTPX],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all("signing-async[httpx]" in line for line in lines)


def test_httpx_transport_is_exported_from_both_places() -> None:
    assert signing_async.HttpxTransport is HttpxTransport
    assert signing_async.transports.HttpxTransport is HttpxTransport
    # Importable by name, but out of __all__: `import *` must work without the extra.
    assert "HttpxTransport" not in signing_async.__all__
    assert "HttpxTransport" not in signing_async.transports.__all__


@pytest.mark.parametrize("module", [signing_async, signing_async.transports])
def test_unknown_attributes_still_raise_attribute_error(module: ModuleType) -> None:
    with pytest.raises(AttributeError, match="NoSuchTransport"):
        getattr(module, "NoSuchTransport")  # noqa: B009 - the name must go through __getattr__
