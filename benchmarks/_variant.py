"""The child process: run one workload once and print its figures as JSON.

Usage: ``python -m benchmarks._variant '<spec JSON>'`` where the spec holds
``workload``, ``url``, ``params``, ``workdir`` and optionally ``profile``
(``{"tool": "pyinstrument" | "cprofile", "path": ...}``).

The memory baseline is taken after the imports, the client's creation and
one warm-up request, so the growth reported is what the measured work
itself needed: ``ru_maxrss`` (the peak resident set) after the run minus
before it. The last line on stdout is the JSON result.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import sys
import time
import traceback
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from ._workloads import Context, Workload, load_all


def peak_rss_kib() -> float:
    """The process's peak resident set so far, in KiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else float(peak)  # bytes on macOS


class _Profile(AbstractContextManager[None]):
    """Profiles the measured section and writes a text report."""

    def __init__(self, tool: str, path: Path) -> None:
        self.tool = tool
        self.path = path

    def __enter__(self) -> None:
        if self.tool == "pyinstrument":
            from pyinstrument import Profiler

            # async_mode="disabled": samples show what the thread really runs
            # (every task's code), which is what the CPU cost is made of.
            self.profiler: Any = Profiler(interval=0.0002, async_mode="disabled")
            self.profiler.start()
        else:
            import cProfile

            self.profiler = cProfile.Profile()
            self.profiler.enable()

    def __exit__(self, *exc_info: object) -> None:
        if self.tool == "pyinstrument":
            self.profiler.stop()
            self.path.write_text(
                self.profiler.output_text(unicode=False, color=False, show_all=False)
            )
        else:
            import io
            import pstats

            self.profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(self.profiler, stream=out)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(40)
            self.path.write_text(out.getvalue())


async def measure(workload: Workload, profile: dict[str, str] | None) -> dict[str, Any]:
    """Set up, take the baselines, run the measured section, tear down.

    With ``repeats`` in the params, the measured section runs that many
    times back to back and the fastest run is reported, as ``timeit`` does:
    on a shared machine a slow spell then costs a repetition, not the result.
    """
    await workload.setup()
    try:
        gc.collect()
        rss_before = peak_rss_kib()
        guard: AbstractContextManager[None] = (
            _Profile(profile["tool"], Path(profile["path"])) if profile else nullcontext()
        )
        best: dict[str, Any] | None = None
        with guard:
            for _ in range(int(workload.params.get("repeats", 1))):
                server_before = workload.server_snapshot()
                cpu_started = time.process_time()
                started = time.perf_counter()
                work = await workload.run()
                wall = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                server_figures = workload.server_delta(server_before, workload.server_snapshot())
                if best is None or wall < best["wall_s"]:
                    best = {"wall_s": wall, "cpu_s": cpu, **server_figures, **work}
        rss_after = peak_rss_kib()
    finally:
        await workload.teardown()
    if best is None:
        raise ValueError("repeats must be 1 or more")
    return {
        "status": "ok",
        **best,
        "rss_growth_mib": (rss_after - rss_before) / 1024,
        "rss_peak_mib": rss_after / 1024,
    }


def run_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the workload ``spec`` names once, here; return its result (``status`` and figures)."""
    registry = load_all()
    cls = registry[spec["workload"]]
    reason = cls.unavailable(spec["params"])
    if reason is not None:
        return {"status": "unavailable", "reason": reason}
    context = Context(spec["url"], spec["params"], Path(spec["workdir"]))
    try:
        return asyncio.run(measure(cls(context), spec.get("profile")))
    except Exception as exc:
        traceback.print_exc()
        return {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}


def main(argv: list[str]) -> int:
    result = run_spec(json.loads(argv[0]))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0 if result["status"] != "error" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
