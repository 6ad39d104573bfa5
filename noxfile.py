"""Project automation: `nox` runs the tests, the linter, the type checker and the docs build.

The tests run on every Python from 3.10 to 3.13 that the machine has; a
missing interpreter is skipped, never a failure, so a machine with a single
Python (CI included) still passes. The other sessions run on the interpreter
nox itself runs on.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

nox.options.sessions = ["tests", "lint", "typecheck", "docs", "package"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False


def _put_pyenv_pythons_on_path() -> None:
    """Let nox find pyenv's interpreters without a ``pyenv global`` that lists them all.

    pyenv's shims answer ``python3.12`` with an error unless that version is
    selected, and nox would take the shim for the interpreter. Each installed
    version's own ``bin`` folder holds the real one: put those first.
    """
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    releases = []  # (minor, patch, bin folder) of plain CPython releases, not -dev or free-threaded
    for folder in versions.glob("3.*.*"):
        match = re.fullmatch(r"3\.(\d+)\.(\d+)", folder.name)
        if match and f"3.{match[1]}" in PYTHONS and (folder / "bin" / "python3").exists():
            releases.append((int(match[1]), int(match[2]), str(folder / "bin")))
    # The newest patch release of each minor version.
    newest = {minor: folder for minor, _, folder in sorted(releases)}
    found = [newest[minor] for minor in sorted(newest)]
    if found:
        os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_put_pyenv_pythons_on_path()


PGSERVER = "pgserver==0.1.4"
"""The wheel whose PostgreSQL binaries the fleet tests run (tests/fleet/postgres.py)."""


def _postgres_bin(session: nox.Session) -> dict[str, str]:
    """Where the fleet tests find PostgreSQL when ``pgserver`` has no wheel for this Python.

    pgserver ships wheels up to Python 3.12. Its PostgreSQL binaries do not
    depend on the Python version: on a newer Python, download the 3.12 wheel
    once (into nox's cache folder) and unpack its binaries; the tests read
    the folder from ``SIGNING_TEST_POSTGRES_BIN``.
    """
    version = session.python or f"{sys.version_info[0]}.{sys.version_info[1]}"  # nox's own
    if version in ("3.10", "3.11", "3.12"):
        return {}
    cache = Path(".nox") / "_postgres"
    bin_folder = cache / "pgserver" / "pginstall" / "bin"
    if not (cache / "pgserver.libs").is_dir():
        download = cache / "wheel"
        session.run(
            "python", "-m", "pip", "download", PGSERVER, "--no-deps", "--only-binary=:all:",
            "--python-version", "3.12", "--platform", f"manylinux2014_{platform.machine()}",
            "--dest", str(download),
        )  # fmt: skip
        (wheel,) = download.glob("pgserver-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                # The binaries, and the shared libraries they link to (beside the package).
                if member.filename.startswith(("pgserver/pginstall/", "pgserver.libs/")):
                    target = Path(archive.extract(member, cache))
                    # zipfile drops permissions: restore them (executables included).
                    target.chmod((member.external_attr >> 16) & 0o777 or 0o644)
    return {"SIGNING_TEST_POSTGRES_BIN": str(bin_folder.resolve())}


BROWSER_PACKAGES = ["chromium", "chromium-driver"]


def _install_browser(session: nox.Session) -> None:
    """Install Debian's Chromium and its driver for the console's browser tests, once.

    Only as root on Debian; elsewhere the browser tests fail saying what to
    install. ``apt-get update`` runs only when the first attempt fails.
    """
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    if not Path("/etc/debian_version").exists() or os.geteuid() != 0:
        session.warn("Chromium is missing: install chromium and chromium-driver")
        return
    install = ["apt-get", "install", "-y", *BROWSER_PACKAGES]
    # A fixed command line, no input from anywhere.
    if subprocess.run(install, check=False).returncode != 0:  # noqa: S603
        session.run("apt-get", "update", external=True)
        session.run(*install, external=True)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the whole test suite (the console's tests in Chromium, installed when missing)."""
    _install_browser(session)
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs, env=_postgres_bin(session))


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff on the code, the tests, the benchmarks, the examples and the docs' helpers."""
    session.install("ruff>=0.5")
    paths = ["signing_async", "tests", "benchmarks", "examples", "docs", "noxfile.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session
def typecheck(session: nox.Session) -> None:
    """Run mypy --strict on the package."""
    session.install("-e", ".[test]", "mypy>=1.10")
    session.run("mypy", "--strict", "signing_async")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into ``site/`` with ``mkdocs build --strict``.

    Warnings (a broken link, a docstring naming a parameter that does not
    exist) fail the build. The session takes no arguments: ``nox -- ARGS``
    hands the same ARGS to every session, and a folder taken from them
    would be emptied by mkdocs.
    """
    session.install("-e", ".[docs]")
    session.run(
        "mkdocs",
        "build",
        "--strict",
        env={"NO_MKDOCS_2_WARNING": "1"},  # a banner about the theme's future, not the site
    )


@nox.session
def package(session: nox.Session) -> None:
    """Build the sdist and the wheel, and check their metadata with ``twine check --strict``."""
    session.install("build", "twine")
    with tempfile.TemporaryDirectory() as scratch:
        session.run("python", "-m", "build", "--outdir", scratch)
        dists = sorted(str(path) for path in Path(scratch).iterdir())
        session.run("twine", "check", "--strict", *dists)


@nox.session
def screenshots(session: nox.Session) -> None:
    """Take the README's screenshot of the sandbox console (docs/images/console.png)."""
    _install_browser(session)
    session.install("-e", ".[test]")
    session.run("python", "docs/screenshots.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmark suite (not part of the default sessions).

    ``--only fleet`` needs PostgreSQL: the ``fleet`` extra and the pgserver
    wheel's binaries, as the fleet tests have them.
    """
    env = _postgres_bin(session)
    session.install("-e", ".[httpx,cli,fleet]", "matplotlib", *([] if env else [PGSERVER]))
    session.run("python", "-m", "benchmarks", *session.posargs, env=env)
