"""Start-up: how long ``import signing_async`` takes and what it pulls in.

Each measurement is a fresh interpreter. The import time is the cumulative
figure ``python -X importtime`` gives the top module; a second interpreter
imports it (for the SDK, also creates a client) and lists the top-level
modules the import added, flagging the heavy ones the plain SDK path must
not need. aiohttp alone is measured the same way: it is the floor.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

HEAVY = (
    "rich",
    "click",
    "httpx",
    "pypdf",
    "signing_async.sandbox",
    "signing_async.cli",
)
"""Modules that belong to extras or tooling, not to ``import signing_async``."""

_SCRIPT = """
import importlib, json, sys, time
before = set(sys.modules)
started = time.perf_counter()
importlib.import_module(MODULE)
imported = time.perf_counter()
report = {"wall_import_ms": (imported - started) * 1000}
if MODULE == "signing_async":
    import signing_async as sa
    client = sa.SigningClient(danaconnect=sa.DanaConnectConfig(
        client_id="id", client_secret="secret", channel="c", subdomain="acme"))
    client.circuits
    report["client_ms"] = (time.perf_counter() - imported) * 1000
    report["path"] = sa.__file__
added = sorted(set(sys.modules) - before)
report.update(
    module_count=len(added),
    top_level_modules=sorted({name.split(".")[0] for name in added}),
    heavy=[name for name in HEAVY if name in sys.modules],
)
print(json.dumps(report))
"""


def import_ms(module: str, env: Mapping[str, str]) -> float:
    """The cumulative import time of ``module`` in a fresh interpreter, in ms."""
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for line in done.stderr.splitlines():
        # "import time:  self [us] | cumulative | imported package"
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1000
    raise RuntimeError(f"no importtime line for {module}: {done.stderr[-500:]}")


def module_report(module: str, env: Mapping[str, str]) -> dict[str, Any]:
    """Import ``module`` (and for the SDK, create a client); list the modules it added."""
    script = f"MODULE = {module!r}\nHEAVY = {HEAVY!r}\n{_SCRIPT}"
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", script],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def run(module: str, env: Mapping[str, str]) -> dict[str, Any]:
    """One round of one start-up variant, shaped like a workload's result."""
    result: dict[str, Any] = {"status": "ok", "import_ms": import_ms(module, env)}
    result.update(module_report(module, env))
    return result
