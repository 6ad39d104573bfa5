"""``python -m benchmarks``: run the suite and write the report.

One run: make the payloads in a temporary folder, start the servers the
selected benchmarks need in their own processes (the minimal benchmark
server, the real sandbox for the bulk benchmark), run every case round by
round (each variant in a fresh child process, the order reversed every other
round), optionally profile the SDK, then write ``latest.json``, ``latest.md``
(also printed) and, when matplotlib is importable, ``latest.png``. The
temporary folder and the servers are gone when the run ends, however it ends.

The exit status is 1 when a variant failed (an error, not "not available").
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from . import _report, _startup, _variant
from ._payloads import MIB, write_pdf, write_zip
from ._sandbox import running_sandbox
from ._suite import ALL, OPT_IN, Benchmark, Case, Payloads, Settings, Variant, build
from ._workloads import load_all

ROOT = Path(__file__).resolve().parent.parent
"""The checkout: the children import ``signing_async`` and ``benchmarks`` from here."""

PROFILED = {
    "request": "the SDK's request path at the highest concurrency",
    "upload": "the SDK's upload of the big file",
    "download": "the SDK's download_to",
    "bulk": "the SDK's documents.create_many without a journal",
    "bulk-tiny": "the SDK's documents.create_many of tiny documents, no journal",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="The SDK side by side with raw aiohttp and httpx, on a local server.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round (a smoke run)")
    parser.add_argument("--rounds", type=int, help="rounds per case (default 5)")
    parser.add_argument(
        "--only",
        help=f"comma-separated benchmarks among {','.join(ALL + OPT_IN)}"
        f" (default: all but {','.join(OPT_IN)})",
    )
    parser.add_argument("--requests", type=int, help="requests per request-overhead run (4000)")
    parser.add_argument(
        "--request-repeats",
        type=_at_least_one,
        help="request-overhead runs per process, fastest kept (3)",
    )
    parser.add_argument("--concurrency", help="request-overhead concurrency levels (1,16,64)")
    parser.add_argument("--upload-mib", type=float, help="size of the big upload (200)")
    parser.add_argument("--upload-count", type=int, help="number of small uploads (200)")
    parser.add_argument("--upload-each-mib", type=float, help="size of each small upload (1)")
    parser.add_argument("--upload-concurrency", type=int, help="small uploads in flight (16)")
    parser.add_argument("--bulk-count", type=int, help="documents per bulk run (200)")
    parser.add_argument("--bulk-each-mib", type=float, help="size of each bulk document (1)")
    parser.add_argument("--bulk-concurrency", type=int, help="bulk documents in flight (16)")
    parser.add_argument("--tiny-count", type=int, help="items per bulk-tiny run (4000)")
    parser.add_argument("--wide-count", type=int, help="items per bulk-wide run (5120)")
    parser.add_argument("--million-count", type=int, help="items of the bulk-million run (1000000)")
    parser.add_argument("--fleet-count", type=int, help="items per fleet run (2000)")
    parser.add_argument("--download-mib", type=float, help="size of the ZIP downloaded (500)")
    parser.add_argument("--token-calls", type=int, help="concurrent calls per token burst (1000)")
    parser.add_argument("--token-ttl", type=float, help="token lifetime, seconds (4)")
    parser.add_argument("--token-delay-ms", type=float, help="token endpoint's delay (50)")
    parser.add_argument("--profile", action="store_true", help="also profile the SDK's hot paths")
    parser.add_argument("--out", type=Path, help="report folder (benchmarks/results)")
    parser.add_argument("--tmp", type=Path, help="where the temporary folder goes")
    parser.add_argument("--child-timeout", type=float, default=900, help="seconds per child")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run each variant in this process, not a child of its own (a smoke run:"
        " quicker, but its memory figures share one process and mean nothing)",
    )
    return parser


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def settings_from(args: argparse.Namespace) -> Settings:
    """Quick or default settings, with every option given on the command line applied."""
    settings = Settings.quick_mode() if args.quick else Settings()
    given: dict[str, Any] = {
        "rounds": args.rounds,
        "requests": args.requests,
        "request_repeats": args.request_repeats,
        "upload_mib": args.upload_mib,
        "upload_count": args.upload_count,
        "upload_each_mib": args.upload_each_mib,
        "upload_concurrency": args.upload_concurrency,
        "bulk_count": args.bulk_count,
        "bulk_each_mib": args.bulk_each_mib,
        "bulk_concurrency": args.bulk_concurrency,
        "download_mib": args.download_mib,
        "token_calls": args.token_calls,
        "token_ttl": args.token_ttl,
        "tiny_count": args.tiny_count,
        "wide_count": args.wide_count,
        "million_count": args.million_count,
        "fleet_count": args.fleet_count,
    }
    if args.concurrency:
        given["concurrency"] = tuple(int(part) for part in args.concurrency.split(","))
    if args.token_delay_ms is not None:
        given["token_delay"] = args.token_delay_ms / 1000
    return dataclasses.replace(settings, **{k: v for k, v in given.items() if v is not None})


def child_env() -> dict[str, str]:
    """The children's environment: this checkout first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def make_payloads(settings: Settings, folder: Path, selected: tuple[str, ...]) -> Payloads:
    """Write the files the selected benchmarks need (the others get tiny stand-ins)."""
    files = folder / "payloads"
    files.mkdir()
    uploading = "upload" in selected
    small = tuple(
        write_pdf(files / f"doc-{index:04d}.pdf", int(settings.upload_each_mib * MIB))
        for index in range(settings.upload_count if uploading else 0)
    )
    bulk = tuple(
        write_pdf(files / f"bulk-{index:04d}.pdf", int(settings.bulk_each_mib * MIB))
        for index in range(settings.bulk_count if "bulk" in selected else 0)
    )
    big_size = int(settings.upload_mib * MIB) if uploading else 1024
    zip_size = int(settings.download_mib * MIB) if "download" in selected else 4096
    return Payloads(
        upload_big=write_pdf(files / "big.pdf", big_size),
        upload_small=small,
        bulk=bulk,
        warmup_pdf=write_pdf(files / "warm-up.pdf", 64 * 1024),
        zip=write_zip(files / "signed.zip", zip_size),
        small_zip=write_zip(files / "warm-up.zip", 64 * 1024),
    )


@contextmanager
def running_server(payloads: Payloads, env: dict[str, str], log: Path) -> Iterator[str]:
    """Start the minimal benchmark server in its own process; yield its URL; stop it."""
    with log.open("wb") as errors:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "benchmarks._server",
                "--zip",
                str(payloads.zip),
                "--small-zip",
                str(payloads.small_zip),
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=ROOT,
            env=env,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_child(
    variant: Variant,
    case: Case,
    *,
    url: str,
    workdir: Path,
    env: dict[str, str],
    timeout: float,
    profile: dict[str, str] | None = None,
    in_process: bool = False,
) -> dict[str, Any]:
    """Run one variant once, in its own process (or here); return its result."""
    if variant.workload.startswith("startup:"):
        try:
            return _startup.run(variant.workload.split(":", 1)[1], env)
        except (subprocess.SubprocessError, RuntimeError, ValueError) as exc:
            return {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
    spec: dict[str, Any] = {
        "workload": variant.workload,
        "url": url,
        "params": case.params,
        "workdir": str(workdir),
    }
    if profile is not None:
        spec["profile"] = profile
    if in_process:
        return _variant.run_spec(spec)
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-m", "benchmarks._variant", json.dumps(spec)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"status": "error", "reason": f"no result after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = done.stderr.strip().splitlines()[-3:]
        return {"status": "error", "reason": f"exit {done.returncode}: {' / '.join(tail)}"}
    if result["status"] == "error":
        sys.stderr.write(done.stderr)
    return result


def run_benchmark(
    benchmark: Benchmark,
    settings: Settings,
    run: Callable[[Variant, Case], dict[str, Any]],
    log: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Every case of a benchmark, variants alternating round by round."""
    registry = load_all()
    outcome: dict[str, dict[str, Any]] = {}
    for case in benchmark.cases:
        entries: dict[str, dict[str, Any]] = {}
        runnable = []
        for variant in case.variants:
            reason = None
            if not variant.workload.startswith("startup:"):
                reason = registry[variant.workload].unavailable(case.params)
            if reason is not None:
                entries[variant.key] = {"status": "unavailable", "reason": reason, "rounds": []}
                log(f"[{benchmark.name}] {case.name}: {variant.key} not available: {reason}")
            else:
                entries[variant.key] = {"status": "ok", "reason": None, "rounds": []}
                runnable.append(variant)
        for number in range(settings.rounds):
            order = runnable if number % 2 == 0 else runnable[::-1]
            for variant in order:
                result = run(variant, case)
                entry = entries[variant.key]
                entry["rounds"].append(result)
                if result["status"] == "error" and entry["status"] == "ok":
                    entry.update(status="error", reason=result["reason"])
                value = benchmark.primary.get(result) if result["status"] == "ok" else None
                figure = f"{value:,.1f}" if value is not None else result["status"]
                where = f"[{benchmark.name}] {case.name} round {number + 1}/{settings.rounds}"
                log(f"{where}: {variant.key}: {figure} {benchmark.primary.label}")
        outcome[case.name] = entries
    return outcome


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} x {model}"


def _meta(settings: Settings, started: float) -> dict[str, Any]:
    import aiohttp

    import signing_async

    try:
        import httpx

        httpx_version = httpx.__version__
    except ImportError:
        httpx_version = "not installed"
    return {
        "started": dt.datetime.fromtimestamp(started, dt.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "duration_s": time.time() - started,
        "machine": _machine(),
        "cpus": os.cpu_count() or 1,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "httpx": httpx_version,
        "signing_async": signing_async.__version__,
        "signing_async_path": str(Path(signing_async.__file__).parent),
        "settings": dataclasses.asdict(settings),
    }


def _profile_all(
    benchmarks: list[Benchmark],
    runner: Callable[[Benchmark], Callable[..., dict[str, Any]]],
    out: Path,
    log: Callable[[str], None],
) -> list[dict[str, str]]:
    try:
        import pyinstrument  # noqa: F401 - only checking that it is there

        tool = "pyinstrument"
    except ImportError:
        tool = "cprofile"
    profiles = []
    for benchmark in benchmarks:
        if benchmark.name not in PROFILED:
            continue
        case = benchmark.cases[-1] if benchmark.name == "request" else benchmark.cases[0]
        variant = case.variants[0]
        path = out / f"profile-{benchmark.name}.txt"
        log(f"[profile] {benchmark.name}: {variant.label}, {case.name} ({tool})")
        result = runner(benchmark)(variant, case, profile={"tool": tool, "path": str(path)})
        if result["status"] == "ok":
            profiles.append(
                {
                    "what": f"{PROFILED[benchmark.name]} ({case.name})",
                    "path": str(path),
                    "tool": tool,
                }
            )
    return profiles


def main(argv: list[str] | None = None) -> int:
    """Run the suite; print the Markdown report; return the exit status."""
    args = _parser().parse_args(argv)
    settings = settings_from(args)
    selected = tuple(name.strip() for name in args.only.split(",")) if args.only else ALL
    unknown = set(selected) - set(ALL + OPT_IN)
    if unknown:
        _parser().error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    out: Path = args.out or ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    env = child_env()

    def log(message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    started = time.time()
    folder = Path(tempfile.mkdtemp(prefix="signing-async-bench-", dir=args.tmp))
    profiles: list[dict[str, str]] = []
    try:
        log(f"writing payloads under {folder}")
        payloads = make_payloads(settings, folder, selected)
        benchmarks = build(settings, payloads, selected=selected)
        workdir = folder / "work"
        workdir.mkdir()
        needed = {b.server for b in benchmarks}
        with ExitStack() as servers:
            urls = {"none": ""}
            if "bench" in needed:
                urls["bench"] = servers.enter_context(
                    running_server(payloads, env, folder / "server.log")
                )
            if "sandbox" in needed:
                sandbox_folder = folder / "sandbox"
                sandbox_folder.mkdir()
                urls["sandbox"] = servers.enter_context(running_sandbox(sandbox_folder, env, ROOT))

            def runner(benchmark: Benchmark) -> Callable[..., dict[str, Any]]:
                def run(
                    variant: Variant, case: Case, profile: dict[str, str] | None = None
                ) -> dict[str, Any]:
                    return run_child(
                        variant,
                        case,
                        url=urls[benchmark.server],
                        workdir=workdir,
                        env=env,
                        timeout=max(args.child_timeout, benchmark.child_timeout or 0),
                        profile=profile,
                        in_process=args.in_process,
                    )

                return run

            results = {b.name: run_benchmark(b, settings, runner(b), log) for b in benchmarks}
            if args.profile:
                profiles = _profile_all(benchmarks, runner, out, log)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    report = _report.build_report(benchmarks, results, _meta(settings, started))
    report["profiles"] = profiles
    (out / "latest.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    markdown = _report.render_markdown(report)
    (out / "latest.md").write_text(markdown)
    if _report.write_chart(report, out / "latest.png"):
        log(f"chart: {out / 'latest.png'}")
    sys.stdout.write(markdown)
    log(f"report: {out / 'latest.md'}, {out / 'latest.json'}")
    failed = [
        f"{b['name']}/{c['name']}/{v['key']}"
        for b in report["benchmarks"]
        for c in b["cases"]
        for v in c["variants"]
        if v["status"] == "error"
    ]
    if failed:
        log(f"failed: {', '.join(failed)}")
    return 1 if failed else 0
