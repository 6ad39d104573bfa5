"""The package's own surface: lazy tooling modules, star import, public names."""

from __future__ import annotations

import subprocess
import sys

import signing_async as sa


async def test_the_sandbox_is_reachable_as_an_attribute() -> None:
    # The documented spelling: `sa.sandbox.Sandbox()` after `import signing_async as sa`.
    async with sa.sandbox.Sandbox() as sb:
        assert sb.url.startswith("http://127.0.0.1:")


def test_units_are_reachable_as_an_attribute() -> None:
    assert sa.danasign.units.mm_to_points(210) == 595


def test_star_import_works_without_touching_optional_extras() -> None:
    code = (
        "import sys; sys.modules['httpx'] = None\n"
        "from signing_async import *\n"
        "assert SigningClient\n"
        "print(sorted(m for m in ('rich', 'click', 'pypdf', 'signing_async.sandbox') "
        "if m in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed test code
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_name_in_all_is_importable() -> None:
    for name in sa.__all__:
        assert getattr(sa, name) is not None, name
    assert "HttpxTransport" not in sa.__all__
    assert sa.HttpxTransport.__name__ == "HttpxTransport"
