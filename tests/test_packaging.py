"""The wheel holds the package and only the package, with the metadata users see.

The wheel is built in-process with hatchling (the build backend), into a
temporary folder: no network, about a second. ``nox -s package`` builds the
sdist and the wheel with ``python -m build`` and runs ``twine check`` on both.
"""

from __future__ import annotations

import email.parser
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hatchling.builders.wheel import WheelBuilder

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    target = tmp_path_factory.mktemp("wheel")
    (path,) = WheelBuilder(str(ROOT)).build(directory=str(target), versions=["standard"])
    with zipfile.ZipFile(path) as archive:
        yield archive


def test_the_wheel_holds_the_package_and_nothing_else(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    dist_info = {top for top in tops if top.endswith(".dist-info")}
    assert tops - dist_info == {"signing_async"}  # no tests/, benchmarks/, examples/, docs/
    assert "signing_async/py.typed" in names  # type checkers read the annotations
    assert "signing_async/sandbox/__init__.py" in names
    assert "signing_async/sandbox/samples.py" in names
    # Every module of the source tree is in the wheel, none left behind.
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "signing_async").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sources <= set(names)


def test_the_metadata_says_what_a_user_needs(wheel: zipfile.ZipFile) -> None:
    (metadata_name,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    metadata = email.parser.Parser().parsestr(wheel.read(metadata_name).decode())
    assert metadata["Name"] == "signing-async"
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata["License-Expression"] == "MIT"
    classifiers = set(metadata.get_all("Classifier"))
    assert {
        "Development Status :: 4 - Beta",
        "Framework :: AsyncIO",
        "Framework :: Trio",
        "Typing :: Typed",
        *(f"Programming Language :: Python :: 3.{minor}" for minor in range(10, 14)),
    } <= classifiers
    urls = {entry.split(",", 1)[0] for entry in metadata.get_all("Project-URL")}
    assert {"Documentation", "Changelog", "Issues"} <= urls
    assert metadata["Author"]
    assert metadata["Keywords"]
    # The README is the long description, rendered as Markdown.
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "# signing_async" in metadata.get_payload()
    entry_points = wheel.read(metadata_name.replace("METADATA", "entry_points.txt")).decode()
    assert "signing-async = signing_async.cli:main" in entry_points
