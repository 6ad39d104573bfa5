"""What the suite measures: benchmarks, their cases, variants, metrics and targets.

A *benchmark* (upload) has *cases* (one 200 MiB file; 200 files of 1 MiB),
each run by several *variants* (the SDK, raw aiohttp naive, raw aiohttp
streaming). A variant names a registered workload (``benchmarks._workloads``)
or, for start-up, an interpreter run. *Comparisons* say which ratios the
report computes (SDK over baseline, round by round) and *targets* what the
figures should reach.

To add a benchmark of a new SDK call: register its workloads, then add a
case here (or a variant to an existing case) and, if it has one, a target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._payloads import MIB

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Settings:
    """Sizes and counts of one run (see ``python -m benchmarks --help``)."""

    rounds: int = 5
    requests: int = 4000
    request_repeats: int = 3
    concurrency: tuple[int, ...] = (1, 16, 64)
    upload_mib: float = 200
    upload_count: int = 200
    upload_each_mib: float = 1
    upload_concurrency: int = 16
    bulk_count: int = 200
    bulk_each_mib: float = 1
    bulk_concurrency: int = 16
    download_mib: float = 500
    token_calls: int = 1000
    token_ttl: float = 4.0
    token_delay: float = 0.05
    tiny_count: int = 4000
    tiny_size: int = 2048
    tiny_concurrency: int = 64
    tiny_latencies_ms: tuple[float, ...] = (0, 5, 20)
    files_mid_count: int = 1500
    files_mid_size: int = 200 * 1024
    wide_count: int = 5120
    wide_concurrency: int = 256
    wide_latency_ms: float = 100
    million_count: int = 1_000_000
    fleet_count: int = 2000
    fleet_concurrency: tuple[int, ...] = (16, 4)
    fleet_latency_ms: float = 20
    fleet_chunk_size: int = 50
    quick: bool = False

    @classmethod
    def quick_mode(cls) -> Settings:
        """Tiny sizes: checks that everything runs, measures nothing worth reading."""
        return cls(
            rounds=1,
            requests=40,
            request_repeats=1,
            upload_mib=1 / 16,
            upload_count=6,
            upload_each_mib=1 / 16,
            upload_concurrency=4,
            bulk_count=6,
            bulk_each_mib=1 / 16,
            bulk_concurrency=4,
            download_mib=1 / 4,
            token_calls=40,
            token_ttl=1.0,
            token_delay=0.01,
            tiny_count=40,
            tiny_latencies_ms=(0, 5),
            files_mid_count=20,
            wide_count=512,
            million_count=2000,
            fleet_count=80,
            fleet_concurrency=(4,),
            fleet_chunk_size=10,
            quick=True,
        )


@dataclass(frozen=True)
class Metric:
    """A figure derived from a variant's result.

    Attributes:
        key: Its name in the JSON.
        label: Its column heading.
        better: Whether higher or lower is better.
        get: Computes it from one round's result (None when it does not apply).
        digits: Decimals shown.
    """

    key: str
    label: str
    better: Better
    get: Callable[[dict[str, Any]], float | None]
    digits: int = 0


def _per_request(key: str, scale: float) -> Callable[[dict[str, Any]], float | None]:
    return lambda r: r[key] / r["requests"] * scale if r.get("requests") else None


def _mib_per_s(r: dict[str, Any]) -> float | None:
    return r["bytes"] / MIB / r["wall_s"] if r.get("bytes") else None


def _cpu_ms_per_mib(r: dict[str, Any]) -> float | None:
    return r["cpu_s"] * 1000 / (r["bytes"] / MIB) if r.get("bytes") else None


ITEMS_PER_S = Metric("items_per_s", "items/s", "higher", lambda r: r["requests"] / r["wall_s"])
CPU_US_ITEM = Metric("cpu_us_per_item", "client CPU µs/item", "lower", _per_request("cpu_s", 1e6))
OF_IDEAL = Metric(
    "of_ideal",
    "of concurrency/latency",
    "higher",
    lambda r: (
        r["requests"] / r["wall_s"] / r["ideal_items_per_s"] if r.get("ideal_items_per_s") else None
    ),
    2,
)
WORKER_CPU_US = Metric(
    "worker_cpu_us_per_item", "worker CPU µs/item", "lower", _per_request("worker_cpu_s", 1e6)
)
POSTGRES_CPU_US = Metric(
    "postgres_cpu_us_per_item",
    "PostgreSQL CPU µs/item",
    "lower",
    _per_request("postgres_cpu_s", 1e6),
)
WRITES = Metric(
    "write_transactions_per_item",
    "PostgreSQL write transactions/item",
    "lower",
    _per_request("write_transactions", 1),
    1,
)
JOURNAL_MIB = Metric("journal_mib", "journal MiB", "lower", lambda r: r.get("journal_mib"), 1)
REQ_PER_S = Metric("req_per_s", "req/s", "higher", lambda r: r["requests"] / r["wall_s"])
CPU_US = Metric("cpu_us_per_req", "client CPU µs/req", "lower", _per_request("cpu_s", 1e6))
SERVER_CPU_US = Metric(
    "server_cpu_us_per_req", "server CPU µs/req", "lower", _per_request("server_cpu_s", 1e6)
)
MIB_PER_S = Metric("mib_per_s", "MiB/s", "higher", _mib_per_s)
CPU_MS_PER_MIB = Metric("cpu_ms_per_mib", "client CPU ms/MiB", "lower", _cpu_ms_per_mib, 2)
RSS = Metric("rss_growth_mib", "RSS growth MiB", "lower", lambda r: r["rss_growth_mib"], 1)
PEAK_IN_FLIGHT = Metric(
    "server_peak_in_flight",
    "peak in flight",
    "higher",
    lambda r: r.get("server_peak_in_flight"),
)
IMPORT_MS = Metric("import_ms", "import ms", "lower", lambda r: r["import_ms"], 1)
CLIENT_MS = Metric("client_ms", "client creation ms", "lower", lambda r: r.get("client_ms"), 2)
HEAVY = Metric(
    "heavy_modules", "heavy modules", "lower", lambda r: len(r["heavy"]) if "heavy" in r else None
)

SCENARIOS = ("cold", "warm", "advisory", "expired")


def _scenario(name: str, key: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda r: r["scenarios"][name][key]


def _added(name: str) -> Callable[[dict[str, Any]], float | None]:
    def added(r: dict[str, Any]) -> float:
        scenarios = r["scenarios"]
        return float(scenarios[name]["p50_ms"] - scenarios["warm"]["p50_ms"])

    return added


def _token_metrics() -> tuple[Metric, ...]:
    metrics = []
    for name in SCENARIOS:
        metrics += [
            Metric(
                f"{name}.token_requests",
                f"{name}: token requests",
                "lower",
                _scenario(name, "token_requests"),
            ),
            Metric(f"{name}.rejected", f"{name}: 401s", "lower", _scenario(name, "rejected")),
            Metric(f"{name}.p50_ms", f"{name}: p50 ms", "lower", _scenario(name, "p50_ms"), 1),
            Metric(f"{name}.max_ms", f"{name}: max ms", "lower", _scenario(name, "max_ms"), 1),
            Metric(f"{name}.added_p50_ms", f"{name}: p50 added ms", "lower", _added(name), 1),
        ]
    metrics.append(
        Metric(
            "rejected_total",
            "401s, all scenarios",
            "lower",
            lambda r: sum(r["scenarios"][name]["rejected"] for name in SCENARIOS),
        )
    )
    return tuple(metrics)


TOKEN_METRICS = _token_metrics()


@dataclass(frozen=True)
class Variant:
    """One way of doing a case's work.

    Attributes:
        key: Its short name in the report (``sdk``, ``raw-aiohttp``).
        label: What it is, in words.
        workload: The registered workload it runs, or ``startup:<module>``.
    """

    key: str
    label: str
    workload: str


@dataclass(frozen=True)
class Case:
    """One configuration of a benchmark, run by every variant each round."""

    name: str
    params: dict[str, Any]
    variants: tuple[Variant, ...]


@dataclass(frozen=True)
class Target:
    """A figure a case should reach.

    Attributes:
        description: What is promised, in words.
        case: The case it is read from.
        variant: The variant it is about.
        metric: The metric's key.
        baseline: For a ratio target, the variant compared against.
        threshold: The limit.
        kind: ``min`` (at least), ``max`` (at most) or ``exact`` (in every round).
        worst: Judge the worst round rather than the median (memory, counts).
    """

    description: str
    case: str
    variant: str
    metric: str
    threshold: float
    kind: Literal["min", "max", "exact"]
    baseline: str | None = None
    worst: bool = False


Server = Literal["none", "bench", "sandbox"]
"""What a benchmark's variants talk to: nothing, the minimal benchmark server
(``benchmarks._server``) or the real sandbox (``python -m signing_async.sandbox``)."""


@dataclass(frozen=True)
class Benchmark:
    """A group of cases reported in one table."""

    name: str
    title: str
    metrics: tuple[Metric, ...]
    cases: tuple[Case, ...]
    comparisons: tuple[tuple[str, str], ...] = ()
    """(variant, baseline) pairs whose primary-metric ratio is reported."""
    targets: tuple[Target, ...] = ()
    notes: tuple[str, ...] = ()
    layout: Literal["variants", "scenarios"] = "variants"
    extra: dict[str, Any] = field(default_factory=dict)
    server: Server = "bench"
    child_timeout: float | None = None
    """Seconds each child may take, when this benchmark needs more than ``--child-timeout``."""

    @property
    def primary(self) -> Metric:
        """The metric ratios are computed on."""
        return self.metrics[0]


@dataclass(frozen=True)
class Payloads:
    """The files a run sends and serves."""

    upload_big: Path
    upload_small: tuple[Path, ...]
    bulk: tuple[Path, ...]
    warmup_pdf: Path
    zip: Path
    small_zip: Path


def _mib_text(mib: float) -> str:
    return f"{mib:g} MiB" if mib >= 1 else f"{mib * 1024:g} KiB"


def build(
    settings: Settings,
    payloads: Payloads,
    *,
    selected: tuple[str, ...],
) -> list[Benchmark]:
    """The benchmarks of a run, in the order they run."""
    s = settings
    benchmarks: list[Benchmark] = []

    if "startup" in selected:
        benchmarks.append(
            Benchmark(
                "startup",
                "Start-up: import time and what `import signing_async` pulls in",
                (IMPORT_MS, CLIENT_MS, HEAVY),
                (
                    Case(
                        "import",
                        {},
                        (
                            Variant("sdk", "import signing_async", "startup:signing_async"),
                            Variant("aiohttp", "import aiohttp (its floor)", "startup:aiohttp"),
                        ),
                    ),
                ),
                comparisons=(("sdk", "aiohttp"),),
                targets=(
                    Target(
                        "no heavy import on the plain SDK path "
                        "(rich, click, httpx, pypdf, the sandbox, the CLI)",
                        "import",
                        "sdk",
                        "heavy_modules",
                        0,
                        "exact",
                        worst=True,
                    ),
                ),
                notes=(
                    "Import time is the cumulative `-X importtime` figure of the top "
                    "module, in a fresh interpreter (bytecode already cached).",
                ),
                server="none",
            )
        )

    if "request" in selected:
        variants: tuple[Variant, ...] = (
            Variant("sdk", "SDK contacts.create", "request/sdk-contacts"),
            Variant("raw-aiohttp", "raw aiohttp", "request/raw-aiohttp"),
            Variant("raw-httpx", "raw httpx", "request/raw-httpx"),
        )
        cases = tuple(
            Case(
                f"concurrency {c}",
                {"requests": s.requests, "concurrency": c, "repeats": s.request_repeats},
                variants,
            )
            for c in s.concurrency
        )
        top = cases[-1].name
        benchmarks.append(
            Benchmark(
                "request",
                "Request overhead",
                (REQ_PER_S, CPU_US, SERVER_CPU_US, RSS),
                cases,
                comparisons=(("sdk", "raw-aiohttp"), ("sdk", "raw-httpx")),
                targets=(
                    Target(
                        f"SDK ≥ 0.9x raw aiohttp req/s at {top}",
                        top,
                        "sdk",
                        "req_per_s",
                        0.9,
                        "min",
                        baseline="raw-aiohttp",
                    ),
                ),
                notes=(
                    "Operation: DANAsign `contacts.create(name=, email=)`, a small JSON "
                    f"request and answer; {s.requests} requests per run, each run the "
                    f"fastest of {s.request_repeats} back to back in one process (as "
                    "`timeit` does: a slow spell of the shared machine costs a "
                    "repetition, not the figure).",
                    "Server and client share the machine's cores: client CPU µs per "
                    "request is the steadier measure of overhead.",
                ),
            )
        )

    if "upload" in selected:
        variants = (
            Variant("sdk-circuits", "SDK circuits.start(docs=[path])", "upload/sdk-circuits"),
            Variant("sdk-documents", "SDK documents.create(file=path)", "upload/sdk-documents"),
            Variant("raw-streaming", "raw aiohttp, streaming generator", "upload/raw-streaming"),
            Variant("raw-naive", "raw aiohttp, naive json.dumps", "upload/raw-naive"),
        )
        warm = str(payloads.warmup_pdf)
        big = f"1 x {_mib_text(s.upload_mib)}"
        many = f"{s.upload_count} x {_mib_text(s.upload_each_mib)}"
        cases = (
            Case(
                big,
                {"files": [str(payloads.upload_big)], "concurrency": 1, "warmup_file": warm},
                variants,
            ),
            Case(
                f"{many}, concurrency {s.upload_concurrency}",
                {
                    "files": [str(p) for p in payloads.upload_small],
                    "concurrency": s.upload_concurrency,
                    "warmup_file": warm,
                },
                variants,
            ),
        )
        targets: list[Target] = []
        for case in cases:
            for sdk_key in ("sdk-circuits", "sdk-documents"):
                targets.append(
                    Target(
                        f"{sdk_key} ≥ 0.95x streaming baseline ({case.name})",
                        case.name,
                        sdk_key,
                        "mib_per_s",
                        0.95,
                        "min",
                        baseline="raw-streaming",
                    )
                )
                targets.append(
                    Target(
                        f"{sdk_key} ≥ 1.4x naive baseline ({case.name})",
                        case.name,
                        sdk_key,
                        "mib_per_s",
                        1.4,
                        "min",
                        baseline="raw-naive",
                    )
                )
        for sdk_key in ("sdk-circuits", "sdk-documents"):
            targets.append(
                Target(
                    f"{sdk_key} RSS growth ≤ 64 MiB ({big})",
                    big,
                    sdk_key,
                    "rss_growth_mib",
                    64,
                    "max",
                    worst=True,
                )
            )
        benchmarks.append(
            Benchmark(
                "upload",
                "Upload: Base64-in-JSON documents",
                (MIB_PER_S, CPU_MS_PER_MIB, RSS),
                cases,
                comparisons=(
                    ("sdk-circuits", "raw-streaming"),
                    ("sdk-circuits", "raw-naive"),
                    ("sdk-documents", "raw-streaming"),
                    ("sdk-documents", "raw-naive"),
                ),
                targets=tuple(targets),
                notes=(
                    "MiB/s counts PDF bytes (the Base64 on the wire is 4/3 of that).",
                    "Baselines post the DANAconnect circuit format; `documents.create` "
                    "sends the same Base64 volume to DANAsign's endpoint, which the "
                    "server consumes the same way.",
                    "The streaming baseline reads the file off the event loop "
                    "(`asyncio.to_thread`), as aiohttp's docs do with aiofiles.",
                ),
            )
        )

    if "bulk" in selected:
        rss_limit = s.bulk_concurrency * 2 + 32
        variants = (
            Variant("sdk", "SDK documents.create_many, no journal", "bulk/sdk"),
            Variant("sdk-journal", "SDK documents.create_many, journal", "bulk/sdk-journal"),
            Variant("raw-aiohttp", "raw aiohttp streaming uploader", "bulk/raw-aiohttp"),
        )
        case = Case(
            f"{s.bulk_count} x {_mib_text(s.bulk_each_mib)}, concurrency {s.bulk_concurrency}",
            {
                "files": [str(p) for p in payloads.bulk],
                "concurrency": s.bulk_concurrency,
                "warmup_file": str(payloads.warmup_pdf),
            },
            variants,
        )
        targets = []
        for sdk_key in ("sdk", "sdk-journal"):
            targets += [
                Target(
                    f"bulk {sdk_key} ≥ 0.9x raw aiohttp MiB/s",
                    case.name,
                    sdk_key,
                    "mib_per_s",
                    0.9,
                    "min",
                    baseline="raw-aiohttp",
                ),
                Target(
                    f"bulk {sdk_key} RSS growth ≤ {s.bulk_concurrency} x 2 + 32 MiB",
                    case.name,
                    sdk_key,
                    "rss_growth_mib",
                    rss_limit,
                    "max",
                    worst=True,
                ),
            ]
        benchmarks.append(
            Benchmark(
                "bulk",
                "Bulk: DANAsign documents against the sandbox",
                (MIB_PER_S, CPU_MS_PER_MIB, RSS, PEAK_IN_FLIGHT),
                (case,),
                comparisons=(("sdk", "raw-aiohttp"), ("sdk-journal", "raw-aiohttp")),
                targets=tuple(targets),
                notes=(
                    "The server is the real sandbox (`python -m signing_async.sandbox`) "
                    "in its own process: it validates each request, decodes the Base64 "
                    "and stores every document. It is reset before each variant's warm-up "
                    "and after its run; every run must leave exactly one document per "
                    "file, each under its own external id, or it counts as an error.",
                    "The SDK passes `create_many` lazily produced mappings of "
                    "`documents.create`'s arguments (the PDF's path, one signer, one "
                    "signature widget, `metadata=DocumentMetadata(external_id=...)`) "
                    "inside `async with ... as outcomes`; the journal variant records "
                    "each item in a fresh SQLite journal in the variant's own folder. "
                    "The baseline posts the same `createdocument` JSON by hand (Base64 "
                    "streamed from disk, exact Content-Length) from "
                    f"{s.bulk_concurrency} workers.",
                    "MiB/s counts PDF bytes. Peak in flight is the most creations the "
                    "sandbox was handling at once. The sandbox shares the machine's "
                    "cores with the client: client CPU ms/MiB is the steadier measure "
                    "of the SDK's own cost.",
                    f"RSS limit: concurrency x 2 MiB + 32 MiB = {rss_limit} MiB.",
                ),
                server="sandbox",
            )
        )

    if "download" in selected:
        variants = (
            Variant("sdk", "SDK circuits.download_to", "download/sdk"),
            Variant(
                "sdk-no-checksum",
                "SDK circuits.download_to(checksum=False)",
                "download/sdk-no-checksum",
            ),
            Variant("raw-aiohttp", "raw aiohttp iter_chunked(1 MiB)", "download/raw-aiohttp"),
            Variant(
                "raw-aiohttp-sha256",
                "raw aiohttp + SHA-256 (same work as the SDK)",
                "download/raw-aiohttp-sha256",
            ),
        )
        case = Case(f"1 x {_mib_text(s.download_mib)} ZIP", {}, variants)
        benchmarks.append(
            Benchmark(
                "download",
                "Download: a ZIP streamed to disk",
                (MIB_PER_S, CPU_MS_PER_MIB, RSS),
                (case,),
                comparisons=(
                    ("sdk", "raw-aiohttp"),
                    ("sdk", "raw-aiohttp-sha256"),
                    ("sdk-no-checksum", "raw-aiohttp"),
                ),
                targets=(
                    Target(
                        "SDK ≥ 0.9x raw aiohttp MiB/s",
                        case.name,
                        "sdk",
                        "mib_per_s",
                        0.9,
                        "min",
                        baseline="raw-aiohttp",
                    ),
                    Target(
                        "SDK with checksum=False ≥ 0.9x raw aiohttp MiB/s",
                        case.name,
                        "sdk-no-checksum",
                        "mib_per_s",
                        0.9,
                        "min",
                        baseline="raw-aiohttp",
                    ),
                    Target(
                        "SDK RSS growth ≤ 64 MiB",
                        case.name,
                        "sdk",
                        "rss_growth_mib",
                        64,
                        "max",
                        worst=True,
                    ),
                ),
                notes=(
                    "All write into the same folder; none calls fsync. The SDK also "
                    "computes the SHA-256 (unless `checksum=False`), writes to a temporary "
                    "file, checks the size and the ZIP, and renames; the raw baseline "
                    "writes on the event loop (aiohttp's documented pattern), the SDK in "
                    "a worker thread.",
                ),
            )
        )

    if "tokens" in selected:
        case = Case(
            f"{s.token_calls} concurrent calls",
            {"calls": s.token_calls, "token_ttl": s.token_ttl, "token_delay": s.token_delay},
            (Variant("sdk", "SDK circuits.start", "tokens/sdk"),),
        )
        targets = [
            Target(
                f"exactly 1 token request ({name})",
                case.name,
                "sdk",
                f"{name}.token_requests",
                1,
                "exact",
                worst=True,
            )
            for name in ("cold", "advisory", "expired")
        ]
        targets.append(
            Target(
                "no token request while the token is fresh (warm)",
                case.name,
                "sdk",
                "warm.token_requests",
                0,
                "exact",
                worst=True,
            )
        )
        targets.append(
            Target(
                "no expired token ever sent (401s, all scenarios)",
                case.name,
                "sdk",
                "rejected_total",
                0,
                "exact",
                worst=True,
            )
        )
        benchmarks.append(
            Benchmark(
                "tokens",
                "Tokens: one refresh per expiry, whatever the concurrency",
                TOKEN_METRICS,
                (case,),
                targets=tuple(targets),
                layout="scenarios",
                notes=(
                    f"Token lifetime {s.token_ttl:g} s; the token endpoint answers after "
                    f"{s.token_delay * 1000:g} ms. Each scenario is a burst of "
                    f"{s.token_calls} concurrent `circuits.start` on one client: cold "
                    "(no token), warm (fresh token), advisory (token in its advisory "
                    "window: one caller refreshes, the others go on), expired (every "
                    "caller waits for one refresh).",
                    "p50 added = the scenario's median latency minus the warm burst's.",
                ),
            )
        )

    benchmarks += _tiny_bulk_benchmarks(s, selected)
    if "fleet" in selected:
        benchmarks.append(_fleet_benchmark(s))
    return benchmarks


def _fleet_benchmark(s: Settings) -> Benchmark:
    """One submitted job sent by 1, 2 and 4 worker processes sharing a PostgreSQL."""
    variants = (
        Variant("1w", "1 worker process", "fleet/1-worker"),
        Variant("2w", "2 worker processes", "fleet/2-workers"),
        Variant("4w", "4 worker processes", "fleet/4-workers"),
    )
    size = _mib_text(2048 / MIB)
    cases = tuple(
        Case(
            f"{s.fleet_count} x {size}, {concurrency} in flight per worker,"
            f" {s.fleet_latency_ms:g} ms",
            {
                "count": s.fleet_count,
                "size": 2048,
                "concurrency": concurrency,
                "latency": s.fleet_latency_ms / 1000,
                "chunk_size": s.fleet_chunk_size,
            },
            variants,
        )
        for concurrency in s.fleet_concurrency
    )
    return Benchmark(
        "fleet",
        "Fleet: one submitted job, 1, 2 and 4 worker processes on one PostgreSQL",
        (ITEMS_PER_S, OF_IDEAL, WORKER_CPU_US, POSTGRES_CPU_US, WRITES),
        cases,
        comparisons=(("2w", "1w"), ("4w", "1w")),
        notes=(
            "Each run starts its own PostgreSQL (pgserver's binaries, unix socket, fsync off:"
            " the figures are CPU, not disk) and its `signing-async worker` processes, and"
            f" warms them up with a small job. The measured section is `submit` (chunks of"
            f" {s.fleet_chunk_size}) and the wait until nothing is pending or in flight; the"
            " minimal server answers `createdocument` after the case's latency.",
            "Ratios are items/s over one worker's (2w/1w, 4w/1w). Worker and PostgreSQL CPU"
            " are read from /proc (all worker processes; every postgres process, ended"
            " backends included), divided by the items. `of concurrency/latency` compares"
            " with workers x in-flight / latency.",
            "Workers, PostgreSQL and the server share this machine's cores: where they are"
            " all busy, more workers cannot scale.",
        ),
    )


def _tiny_bulk_benchmarks(s: Settings, selected: tuple[str, ...]) -> list[Benchmark]:
    """Tiny documents on the minimal server: the per-item cost, a wide pool, a million items."""
    benchmarks: list[Benchmark] = []
    size = _mib_text(s.tiny_size / MIB)
    sdk = Variant("sdk", "SDK documents.create_many, no journal", "bulk-tiny/sdk")
    sdk_journal = Variant(
        "sdk-journal", "SDK documents.create_many, SQLite journal", "bulk-tiny/sdk-journal"
    )
    raw = Variant("raw-aiohttp", "raw aiohttp loop (Semaphore, json=body)", "bulk-tiny/raw-aiohttp")

    def params(
        count: int, concurrency: int, latency_ms: float, size: int = s.tiny_size
    ) -> dict[str, Any]:
        return {
            "count": count,
            "size": size,
            "concurrency": concurrency,
            "latency": latency_ms / 1000,
        }

    if "bulk-tiny" in selected:
        cases = tuple(
            Case(
                f"{s.tiny_count} x {size}, concurrency {s.tiny_concurrency}, {latency:g} ms",
                params(s.tiny_count, s.tiny_concurrency, latency),
                (sdk, sdk_journal, raw),
            )
            for latency in s.tiny_latencies_ms
        )
        fastest, slowest = cases[0].name, cases[-1].name
        benchmarks.append(
            Benchmark(
                "bulk-tiny",
                "Bulk of tiny documents: the per-item cost, with and without the journal",
                (ITEMS_PER_S, CPU_US_ITEM, SERVER_CPU_US, RSS),
                cases,
                comparisons=(
                    ("sdk", "raw-aiohttp"),
                    ("sdk-journal", "raw-aiohttp"),
                    ("sdk-journal", "sdk"),
                ),
                targets=(
                    Target(
                        f"no journal ≥ 0.9x the raw loop ({fastest})",
                        fastest,
                        "sdk",
                        "items_per_s",
                        0.9,
                        "min",
                        baseline="raw-aiohttp",
                    ),
                    Target(
                        f"SQLite journal ≥ 0.8x the raw loop ({fastest})",
                        fastest,
                        "sdk-journal",
                        "items_per_s",
                        0.8,
                        "min",
                        baseline="raw-aiohttp",
                    ),
                    Target(
                        f"the journal costs ≤ 5 % ({slowest})",
                        slowest,
                        "sdk-journal",
                        "items_per_s",
                        0.95,
                        "min",
                        baseline="sdk",
                    ),
                ),
                notes=(
                    f"Each item is a {size} PDF (held in memory) with one signer, one "
                    "signature widget and an external id, sent to the minimal server's "
                    "`createdocument`, which answers after the case's latency. The SDK "
                    "gets lazily produced mappings of `documents.create`'s arguments; "
                    "the journal variant writes a fresh SQLite file in the run's "
                    "temporary folder. The raw loop posts the same JSON with "
                    "`session.post(url, json=body)` under an `asyncio.Semaphore`.",
                    "Every run must leave exactly one document per item on the server.",
                ),
            )
        )

    if "bulk-files" in selected:
        variants = (
            Variant("sdk-files", "SDK documents.create_many of paths", "bulk-files/sdk"),
            Variant("sdk-bytes", "SDK documents.create_many of bytes", "bulk-tiny/sdk"),
            Variant(
                "raw-files",
                "raw aiohttp loop, each file read on the event loop",
                "bulk-files/raw-aiohttp",
            ),
        )
        mid_size = _mib_text(s.files_mid_size / MIB)
        cases = (
            Case(
                f"{s.tiny_count} x {size} files, concurrency {s.tiny_concurrency}, 0 ms",
                params(s.tiny_count, s.tiny_concurrency, 0),
                variants,
            ),
            Case(
                f"{s.files_mid_count} x {mid_size} files, concurrency {s.tiny_concurrency}, 0 ms",
                params(s.files_mid_count, s.tiny_concurrency, 0, s.files_mid_size),
                variants,
            ),
        )
        benchmarks.append(
            Benchmark(
                "bulk-files",
                "Bulk of documents given as paths, as a manifest gives them",
                (ITEMS_PER_S, CPU_US_ITEM, RSS),
                cases,
                comparisons=(("sdk-files", "raw-files"), ("sdk-files", "sdk-bytes")),
                targets=tuple(
                    Target(
                        f"paths ≥ 0.8x the same documents in memory ({case.name})",
                        case.name,
                        "sdk-files",
                        "items_per_s",
                        0.8,
                        "min",
                        baseline="sdk-bytes",
                    )
                    for case in cases
                ),
                notes=(
                    f"The documents of bulk-tiny's 0 ms case, each in a {size} file of its "
                    f"own, written before the run; then {mid_size} documents, the size of a "
                    "real contract. The SDK probes a file on the process's file thread and "
                    "reads it there too (whole, in the probe's trip, up to 64 KiB; when "
                    "sent up to 512 KiB); the raw loop reads it with `Path.read_bytes()` on "
                    "the event loop, blocking it, as a hand-written loop usually does. "
                    "`sdk-bytes` is bulk-tiny's SDK variant (the same documents in memory), "
                    "for the cost of the files alone.",
                ),
            )
        )

    if "bulk-wide" in selected:
        case = Case(
            f"{s.wide_count} x {size}, concurrency {s.wide_concurrency}, {s.wide_latency_ms:g} ms",
            params(s.wide_count, s.wide_concurrency, s.wide_latency_ms),
            (sdk, raw),
        )
        ideal = s.wide_concurrency / (s.wide_latency_ms / 1000)
        benchmarks.append(
            Benchmark(
                "bulk-wide",
                "Bulk at a concurrency above the default pool (100 connections)",
                (ITEMS_PER_S, OF_IDEAL, CPU_US_ITEM, RSS),
                (case,),
                comparisons=(("sdk", "raw-aiohttp"),),
                targets=(
                    Target(
                        f"≥ 0.9x concurrency/latency = {ideal:,.0f} items/s",
                        case.name,
                        "sdk",
                        "of_ideal",
                        0.9,
                        "min",
                    ),
                ),
                notes=(
                    "The SDK's default transport starts with aiohttp's pool of 100 "
                    f"connections; `create_many(concurrency={s.wide_concurrency})` grows "
                    "it. The raw loop is given a pool of the same size by hand.",
                ),
            )
        )

    if "bulk-million" in selected:
        case = Case(
            f"{s.million_count:,} x {size}, concurrency {s.tiny_concurrency}, 0 ms",
            params(s.million_count, s.tiny_concurrency, 0),
            (Variant("sdk-journal", sdk_journal.label, "bulk-million/sdk-journal"),),
        )
        benchmarks.append(
            Benchmark(
                "bulk-million",
                "A million items with a journal: memory and journal size",
                (ITEMS_PER_S, RSS, JOURNAL_MIB, CPU_US_ITEM),
                (case,),
                targets=(
                    Target(
                        "RSS growth ≤ 64 MiB",
                        case.name,
                        "sdk-journal",
                        "rss_growth_mib",
                        64,
                        "max",
                        worst=True,
                    ),
                ),
                notes=(
                    "The items come from a generator; RSS growth is the peak resident "
                    "set after the run minus after the warm-up. Journal MiB is the "
                    "SQLite file once the run has closed it. Opt-in (long): "
                    "`--only bulk-million`; its child may take an hour (at 1,000 items/s "
                    "the run takes about 17 minutes, past the default 900 s per child).",
                ),
                child_timeout=MILLION_CHILD_TIMEOUT,
            )
        )
    return benchmarks


MILLION_CHILD_TIMEOUT = 3600.0
"""Seconds the million-item child may take (the default per child is 900)."""

ALL = (
    "startup",
    "request",
    "upload",
    "bulk",
    "download",
    "tokens",
    "bulk-tiny",
    "bulk-files",
    "bulk-wide",
)
"""The benchmarks of a default run."""

OPT_IN = ("bulk-million", "fleet")
"""Benchmarks run only when named with ``--only`` (they take long)."""
