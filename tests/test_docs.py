"""The README and the documentation site say only what the code does.

Every Python block of README.md and docs/ must compile, every ``sa.Name``
they use must exist, every ``client.<namespace>.<method>`` must be a method of
that namespace, and the site's first example must run as it is, against the
sandbox.
"""

from __future__ import annotations

import ast
import re
import tempfile
import typing
from pathlib import Path

import pytest

import signing_async as sa

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def python_blocks(page: Path) -> list[str]:
    # An included file (--8<--) is checked where it lives, by its own tests.
    return [block for block in _BLOCK.findall(page.read_text("utf-8")) if "--8<--" not in block]


def namespaces() -> dict[str, type]:
    """``client.<name>`` -> the namespace class, read from SigningClient's properties."""
    found = {}
    for name, member in vars(sa.SigningClient).items():
        if isinstance(member, property) and member.fget is not None:
            found[name] = typing.get_type_hints(member.fget)["return"]
    return found


def test_the_pages_hold_python_examples() -> None:
    # Guards the checks below against a pattern that silently matches nothing.
    assert len(PAGES) > 10
    assert sum(len(python_blocks(page)) for page in PAGES) > 20


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_python_block_compiles(page: Path) -> None:
    for block in python_blocks(page):
        try:
            compile(block, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError as exc:
            pytest.fail(f"{page.name}: {exc}\n{block}")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_public_name_and_method_exists(page: Path) -> None:
    text = page.read_text("utf-8")
    missing = sorted(
        {name for name in re.findall(r"\bsa\.([A-Za-z_]\w*)", text) if not hasattr(sa, name)}
    )
    assert not missing, f"{page.name} names sa.{missing}, which do not exist"
    spaces = namespaces()
    for namespace, method in re.findall(r"\bclient\.(\w+)\.(\w+)", text):
        assert namespace in spaces, f"{page.name}: client.{namespace} does not exist"
        assert hasattr(spaces[namespace], method), (
            f"{page.name}: client.{namespace}.{method} does not exist"
        )


def test_the_first_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (block,) = [
        block for block in python_blocks(ROOT / "docs" / "index.md") if "Sandbox()" in block
    ]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # its scratch folder goes here
    exec(compile(block, "docs/index.md", "exec"), {"__name__": "__main__"})  # noqa: S102 - our own page
    link, sizes = capsys.readouterr().out.splitlines()
    assert link.startswith("send the signer to http://127.0.0.1:")
    size, sha256 = sizes.split()
    assert int(size) > 0
    assert re.fullmatch(r"[0-9a-f]{64}", sha256)
    assert list(tmp_path.iterdir()) == []  # the example cleans up after itself


def test_the_readmes_links_lead_to_files_that_exist() -> None:
    for readme in (ROOT / "README.md", ROOT / "benchmarks" / "README.md"):
        targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme.read_text("utf-8"))
        local = [target for target in targets if "://" not in target]
        assert local or readme.parent != ROOT  # the README does link into the docs
        for target in local:
            assert (readme.parent / target).exists(), f"{readme.name} links to missing {target}"
