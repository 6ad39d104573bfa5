"""Project automation: `nox` runs the tests, the linter and the type checker.

Sessions name no Python version: each runs in a virtualenv made from the
interpreter nox itself runs on, so a machine with a single Python (CI included)
never fails for a missing version.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff on the code, the tests and the benchmarks."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "signing_async", "tests", "benchmarks", "examples", "noxfile.py")
    session.run(
        "ruff",
        "format",
        "--check",
        "signing_async",
        "tests",
        "benchmarks",
        "examples",
        "noxfile.py",
    )


@nox.session
def typecheck(session: nox.Session) -> None:
    """Run mypy --strict on the package."""
    session.install("-e", ".[test]", "mypy>=1.10")
    session.run("mypy", "--strict", "signing_async")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmark suite (not part of the default sessions)."""
    session.install("-e", ".[httpx,cli]", "matplotlib")
    session.run("python", "-m", "benchmarks", *session.posargs)
