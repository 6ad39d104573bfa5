"""Imports point one way: core <- transports, core <- providers <- tooling.

Every module of the package is parsed (not imported) and each of its imports,
wherever it sits (top level, a function, ``if TYPE_CHECKING``) and including
``importlib.import_module("signing_async...")``, is resolved to the module it
names. The layers, and what each may not import:

- core (``_core/``, ``_version``): transports, providers, tooling, the top level;
- transports: providers, tooling, the top level;
- a provider (``danaconnect``, ``danasign``, ``sofia``): another provider,
  transports, tooling, the top level;
- tooling (``bulk``, ``cli``, ``fleet``, ``sandbox``) and the top level
  (``__init__``, ``_client``, the provider registry ``_providers``), which
  assembles everything: anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "signing_async"
ROOT = Path(__file__).parents[1] / PACKAGE

PROVIDERS = frozenset({"danaconnect", "danasign", "sofia"})
TOOLING = frozenset({"bulk", "cli", "fleet", "sandbox"})
CORE = frozenset({"_core", "_version"})
TOP = frozenset({"", "_client", "_providers"})  # "": the package's own __init__
TRANSPORTS = frozenset({"transports"})


def part(module: str) -> str:
    """The top-level part of the package ``module`` belongs to ("" for the package itself)."""
    names = module.split(".")
    assert names[0] == PACKAGE, module
    return names[1] if len(names) > 1 else ""


def layer(module: str) -> str:
    name = part(module)
    for kind, members in (
        ("core", CORE),
        ("transports", TRANSPORTS),
        ("provider", PROVIDERS),
        ("tooling", TOOLING),
        ("top", TOP),
    ):
        if name in members:
            return kind
    raise AssertionError(f"{module}: {name!r} belongs to no layer; add it to tests/test_layers.py")


def forbidden(importer: str, imported: str) -> bool:
    """Whether ``importer`` importing ``imported`` points upward (or sideways between providers)."""
    source, target = layer(importer), layer(imported)
    if source == "core":
        return target != "core"
    if source == "transports":
        return target not in ("core", "transports")
    if source == "provider":
        return target != "core" and part(imported) != part(importer)
    return False  # tooling and the top level assemble everything


def module_name(path: Path, root: Path) -> str:
    relative = path.relative_to(root.parent).with_suffix("")
    names = list(relative.parts)
    if names[-1] == "__init__":
        names.pop()
    return ".".join(names)


def is_module(name: str, root: Path) -> bool:
    """Whether ``name`` (dotted, inside the package) is a module or subpackage under ``root``."""
    path = root.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(source: str, module: str, *, is_package: bool, root: Path) -> Iterator[str]:
    """Every module of the package that ``source`` (the text of ``module``) imports."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                parent = ".".join([*base, *([node.module] if node.module else [])])
            else:
                parent = node.module or ""
            for alias in node.names:
                # "from . import danasign" names a subpackage; "from . import Name" an attribute.
                child = f"{parent}.{alias.name}"
                yield child if is_module(child, root) else parent
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def upward_imports(root: Path) -> list[str]:
    """``importer -> imported`` for every import under ``root`` that breaks the layering."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        layer(module)  # every module belongs to a layer
        text = path.read_text("utf-8")
        for imported in dict.fromkeys(
            imports(text, module, is_package=path.name == "__init__.py", root=root)
        ):
            if imported.split(".")[0] == PACKAGE and forbidden(module, imported):
                found.append(f"{module} -> {imported}")
    return found


def test_no_module_imports_upward() -> None:
    assert upward_imports(ROOT) == []


def test_the_walk_sees_the_package_and_its_imports() -> None:
    # Guards the test above against a walk that silently finds nothing.
    edges = set()
    for path in ROOT.rglob("*.py"):
        module = module_name(path, ROOT)
        text = path.read_text("utf-8")
        edges.update(
            (module, imported)
            for imported in imports(text, module, is_package=path.name == "__init__.py", root=ROOT)
        )
    assert ("signing_async.transports._aiohttp", "signing_async._core.transport") in edges
    assert ("signing_async._core.session", "signing_async._core.transport") in edges
    assert ("signing_async.sandbox._app", "signing_async.sandbox.danasign") in edges
    assert ("signing_async", "signing_async._client") in edges
    assert len(edges) > 300


def _write(root: Path, module: str, text: str = "") -> None:
    path = root.parent.joinpath(*module.split("."))
    path.parent.mkdir(parents=True, exist_ok=True)
    for folder in path.relative_to(root.parent).parents:
        init = root.parent / folder / "__init__.py"
        if folder != Path(".") and not init.exists():
            init.write_text("", "utf-8")
    path.with_suffix(".py").write_text(text, "utf-8")


def _package(tmp_path: Path) -> Path:
    root = tmp_path / PACKAGE
    for module in (
        "signing_async._client",
        "signing_async._core.errors",
        "signing_async._core.transport",
        "signing_async.transports._mock",
        "signing_async.danasign._wire",
        "signing_async.sofia._config",
        "signing_async.sandbox._server",
        "signing_async.cli._app",
    ):
        _write(root, module)
    return root


@pytest.mark.parametrize(
    ("module", "line", "edge"),
    [
        (
            "signing_async._core.session",
            "from ..transports import _mock",
            "signing_async._core.session -> signing_async.transports._mock",
        ),
        (
            "signing_async._core.session",
            "from ..transports._mock import MockTransport",
            "signing_async._core.session -> signing_async.transports._mock",
        ),
        (
            "signing_async._core.bulk._run",
            "from ...danasign import Documents",
            "signing_async._core.bulk._run -> signing_async.danasign",
        ),
        (
            "signing_async._core.session",
            "import signing_async.cli._app",
            "signing_async._core.session -> signing_async.cli._app",
        ),
        (
            "signing_async._core.session",
            "def f():\n    from .._client import SigningClient",
            "signing_async._core.session -> signing_async._client",
        ),
        (
            "signing_async.transports._aiohttp",
            "from ..sofia._config import SofiaConfig",
            "signing_async.transports._aiohttp -> signing_async.sofia._config",
        ),
        (
            "signing_async.danasign._documents",
            "from ..sofia import _config",
            "signing_async.danasign._documents -> signing_async.sofia._config",
        ),
        (
            "signing_async.danasign._documents",
            "import typing\nif typing.TYPE_CHECKING:\n    from ..sandbox import _server",
            "signing_async.danasign._documents -> signing_async.sandbox._server",
        ),
        (
            "signing_async.danasign._documents",
            "from .. import SigningClient",
            "signing_async.danasign._documents -> signing_async",
        ),
        (
            "signing_async.sofia._requests",
            'import importlib\nsa = importlib.import_module("signing_async")',
            "signing_async.sofia._requests -> signing_async",
        ),
        (
            "signing_async.sofia._requests",
            "from ..transports import MockTransport",
            "signing_async.sofia._requests -> signing_async.transports",
        ),
    ],
)
def test_an_upward_import_is_caught(tmp_path: Path, module: str, line: str, edge: str) -> None:
    root = _package(tmp_path)
    _write(root, module, "from __future__ import annotations\n")
    assert upward_imports(root) == []
    _write(root, module, f"from __future__ import annotations\n{line}\n")
    assert upward_imports(root) == [edge]


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("signing_async.transports._httpx", "from .._core.transport import Request"),
        ("signing_async.danasign._documents", "from .._core import errors"),
        ("signing_async.danasign._documents", "from ._wire import Wire"),
        ("signing_async.sandbox._app", "from ..danasign import DanaSignConfig"),
        ("signing_async.sandbox._app", "from .._client import SigningClient"),
        ("signing_async.cli._bulk", "from ..transports import AiohttpTransport"),
        ("signing_async._client", "from .sofia import SofiaConfig"),
    ],
)
def test_a_downward_import_is_allowed(tmp_path: Path, module: str, line: str) -> None:
    root = _package(tmp_path)
    _write(root, module, f"{line}\n")
    assert upward_imports(root) == []


def test_a_module_outside_every_layer_is_reported(tmp_path: Path) -> None:
    root = _package(tmp_path)
    _write(root, "signing_async.plugins.extra")
    with pytest.raises(AssertionError, match="'plugins' belongs to no layer"):
        upward_imports(root)
