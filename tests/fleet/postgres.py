"""A throwaway PostgreSQL server for the fleet tests, from the ``pgserver`` wheel's binaries.

The server's data folder, its unix socket and its log all live in a folder
the test session made; it listens on no TCP port. PostgreSQL refuses to run
as root: when the tests run as root, the server runs as ``nobody`` (which
every Debian-like system has), so nothing is created outside the folder.
If ``nobody`` cannot reach the binaries where they are installed (a
checkout inside a folder only root may enter, as ``mktemp -d`` makes), the
installation is copied into the server's folder first (about 35 MB, once
per test session).

Where the binaries come from: ``SIGNING_TEST_POSTGRES_BIN`` (a folder
holding ``initdb``, ``pg_ctl`` and ``postgres``) if set, else the installed
``pgserver`` package (the ``test`` extra installs it on Python 3.10-3.12;
on Python 3.13, for which it has no wheel, ``nox`` unpacks its 3.12 wheel
and sets the variable). The package is located, never imported: importing
it would create lock files outside the test's folder.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["LocalPostgres", "postgres_bin"]

INSTALL_HINT = (
    "the fleet tests need PostgreSQL's binaries: install the test extra"
    " (pip install -e '.[test]', which brings the pgserver wheel on Python 3.10-3.12),"
    " or set SIGNING_TEST_POSTGRES_BIN to a folder holding initdb and pg_ctl"
)


def postgres_bin() -> Path:
    """The folder of ``initdb``, ``pg_ctl`` and ``postgres``.

    Raises:
        RuntimeError: None was found; the message says what to install.
    """
    configured = os.environ.get("SIGNING_TEST_POSTGRES_BIN")
    if configured:
        folder = Path(configured)
    else:
        spec = importlib.util.find_spec("pgserver")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(INSTALL_HINT)
        folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (folder / "pg_ctl").is_file():
        raise RuntimeError(f"no pg_ctl in {folder}: {INSTALL_HINT}")
    return folder


class LocalPostgres:
    """A PostgreSQL server in a fresh temporary folder; :meth:`stop` removes everything."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        # mkdtemp: 0700, ours; opened to the server's user below.
        self.folder = Path(tempfile.mkdtemp(prefix="sa-pg-"))
        self.data = self.folder / "data"
        self.socket = self.folder / "s"
        self.log = self.folder / "log"
        self._user = "nobody" if os.geteuid() == 0 else None
        self.dsn = f"postgresql://postgres@/postgres?host={self.socket}"

    def _run(self, *args: str) -> None:
        subprocess.run(  # noqa: S603 - PostgreSQL's own tools, with our arguments
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            user=self._user,
            cwd=self.folder,
        )

    def _can_run(self, program: Path) -> bool:
        """Whether the server's user may execute ``program`` (every folder above it included)."""
        check = subprocess.run(  # noqa: S603 - a fixed command on our own path
            ["/usr/bin/test", "-x", str(program)], user=self._user, check=False, cwd="/"
        )
        return check.returncode == 0

    def _copy_install(self) -> Path:
        """Copy the binaries' installation into the server's folder; returns its ``bin``.

        PostgreSQL finds its libraries and data relative to its binaries, and
        the pgserver wheel's binaries find their shared libraries in
        ``pgserver.libs``, three levels up: both keep their places.
        """
        install = self.bin.parent
        copy = self.folder / "install"
        shutil.copytree(install, copy / install.parent.name / install.name, symlinks=True)
        libraries = install.parent.parent / "pgserver.libs"
        if libraries.is_dir():
            shutil.copytree(libraries, copy / libraries.name, symlinks=True)
        return copy / install.parent.name / install.name / self.bin.name

    def start(self) -> str:
        """Initialise and start the server; returns its DSN."""
        self.data.mkdir()
        self.socket.mkdir()
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            self.folder.chmod(0o755)
            for path in (self.data, self.socket):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            self.log.touch()
            os.chown(self.log, entry.pw_uid, entry.pw_gid)
            if not self._can_run(self.bin / "initdb"):
                self.bin = self._copy_install()
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = " ".join(
            [
                "-h ''",  # no TCP: the unix socket only
                f"-k {self.socket}",
                "-c max_connections=300",
                # The tests kill clients, never the server: a crash-safe disk
                # is not what they check, and syncing would only slow them.
                "-c fsync=off",
                "-c full_page_writes=off",
            ]
        )
        try:
            self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
            )
        except subprocess.CalledProcessError:
            raise RuntimeError(f"PostgreSQL did not start:\n{self.log.read_text()}") from None
        return self.dsn

    def stop(self) -> None:
        """Stop the server at once and delete its folder."""
        try:
            # Never started, gone, or not startable: nothing to stop.
            with contextlib.suppress(subprocess.CalledProcessError, OSError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
