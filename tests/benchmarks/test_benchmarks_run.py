"""The benchmark suite runs end to end at tiny sizes and writes a well-formed report.

Nothing here looks at a timing: this only proves that every benchmark, case
and variant runs (or says why it cannot) and that the report holds them all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks._sandbox import API_TOKEN
from signing_async.sandbox import SandboxCredentials

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = [
    "startup",
    "request",
    "upload",
    "bulk",
    "download",
    "tokens",
    "bulk-tiny",
    "bulk-files",
    "bulk-wide",
]
QUICK_BULK_COUNT = 6
QUICK_BULK_CONCURRENCY = 4

# The whole benchmark suite in child processes: part of every full run (CI
# included), and deselected locally with ``-m "not bench_smoke"``.
pytestmark = pytest.mark.bench_smoke


def run_quick(base: Path, *options: str) -> dict[str, Any]:
    out, scratch = base / "results", base / "scratch"
    scratch.mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--out",
            str(out),
            "--tmp",
            str(scratch),
            *options,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return {"done": done, "out": out, "scratch": scratch}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # Every variant in the runner's own process: half the time of a child per
    # variant. The child path is run by the --only runs below.
    return run_quick(tmp_path_factory.mktemp("bench"), "--in-process")


def report(quick_run: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((quick_run["out"] / "latest.json").read_text())
    return data


def test_the_run_succeeds_and_prints_the_markdown(quick_run: dict[str, Any]) -> None:
    done = quick_run["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    markdown = (quick_run["out"] / "latest.md").read_text()
    assert done.stdout == markdown
    assert markdown.startswith("# signing_async benchmarks")
    assert "## Targets" in markdown
    assert "Quick mode" in markdown


def test_every_benchmark_is_in_the_report(quick_run: dict[str, Any]) -> None:
    data = report(quick_run)
    assert [b["name"] for b in data["benchmarks"]] == BENCHMARKS
    markdown = (quick_run["out"] / "latest.md").read_text()
    for benchmark in data["benchmarks"]:
        assert benchmark["title"] in markdown
        assert benchmark["cases"], benchmark["name"]
    request = next(b for b in data["benchmarks"] if b["name"] == "request")
    assert [c["params"]["concurrency"] for c in request["cases"]] == [1, 16, 64]
    upload = next(b for b in data["benchmarks"] if b["name"] == "upload")
    assert len(upload["cases"]) == 2


def test_every_variant_ran_or_says_why_not(quick_run: dict[str, Any]) -> None:
    data = report(quick_run)
    for benchmark in data["benchmarks"]:
        primary = benchmark["metrics"][0]["key"]
        for case in benchmark["cases"]:
            for variant in case["variants"]:
                where = f"{benchmark['name']}/{case['name']}/{variant['key']}"
                assert variant["status"] in ("ok", "unavailable"), (where, variant["reason"])
                if variant["status"] == "ok":
                    assert len(variant["rounds"]) == data["meta"]["settings"]["rounds"] == 1
                    assert variant["metrics"][primary]["median"] >= 0, where
                else:
                    assert variant["reason"], where


def test_sdk_rows_are_compared_with_their_baselines(quick_run: dict[str, Any]) -> None:
    data = report(quick_run)
    by_name = {b["name"]: b for b in data["benchmarks"]}
    for case in by_name["request"]["cases"]:
        assert set(case["ratios"]) == {"sdk/raw-aiohttp", "sdk/raw-httpx"}
    for case in by_name["upload"]["cases"]:
        assert {"sdk-circuits/raw-streaming", "sdk-circuits/raw-naive"} <= set(case["ratios"])
    (bulk,) = by_name["bulk"]["cases"]
    assert set(bulk["ratios"]) == {"sdk/raw-aiohttp", "sdk-journal/raw-aiohttp"}
    (download,) = by_name["download"]["cases"]
    assert set(download["ratios"]) == {
        "sdk/raw-aiohttp",
        "sdk/raw-aiohttp-sha256",
        "sdk-no-checksum/raw-aiohttp",
    }
    ratio = download["ratios"]["sdk/raw-aiohttp"]["mib_per_s"]
    assert ratio["median"] > 0


def test_every_variant_runs_here(quick_run: dict[str, Any]) -> None:
    # Everything the suite measures is installed in the test environment
    # (httpx included): no row may fall back to "not available".
    data = report(quick_run)
    for benchmark in data["benchmarks"]:
        for case in benchmark["cases"]:
            for variant in case["variants"]:
                assert variant["status"] == "ok", (benchmark["name"], variant["key"])


def test_request_overhead_measures_contacts_create(quick_run: dict[str, Any]) -> None:
    data = report(quick_run)
    request = next(b for b in data["benchmarks"] if b["name"] == "request")
    for case in request["cases"]:
        sdk = next(v for v in case["variants"] if v["key"] == "sdk")
        assert sdk["workload"] == "request/sdk-contacts"
    assert any("contacts.create" in note for note in request["notes"])


def test_bulk_runs_leave_one_document_per_file(quick_run: dict[str, Any]) -> None:
    data = report(quick_run)
    bulk = next(b for b in data["benchmarks"] if b["name"] == "bulk")
    (case,) = bulk["cases"]
    assert case["params"]["file_count"] == QUICK_BULK_COUNT
    assert case["params"]["concurrency"] == QUICK_BULK_CONCURRENCY
    assert [v["key"] for v in case["variants"]] == ["sdk", "sdk-journal", "raw-aiohttp"]
    for variant in case["variants"]:
        (result,) = variant["rounds"]
        assert result["documents_created"] == QUICK_BULK_COUNT, variant["key"]
        assert result["distinct_external_ids"] == QUICK_BULK_COUNT, variant["key"]
        assert 1 <= result["server_peak_in_flight"] <= QUICK_BULK_CONCURRENCY, variant["key"]
        assert result["requests"] == QUICK_BULK_COUNT


def test_bulk_targets(quick_run: dict[str, Any]) -> None:
    data = report(quick_run)
    bulk = [t for t in data["targets"] if t["benchmark"] == "bulk"]
    ratios = [t for t in bulk if t["kind"] == "min"]
    memory = [t for t in bulk if t["kind"] == "max"]
    assert [t["description"].split()[1] for t in ratios] == ["sdk", "sdk-journal"]
    assert {t["threshold"] for t in ratios} == {0.9}
    assert [t["description"].split()[1] for t in memory] == ["sdk", "sdk-journal"]
    # concurrency x 2 MiB + 32 MiB, at the quick run's concurrency
    assert {t["threshold"] for t in memory} == {QUICK_BULK_CONCURRENCY * 2 + 32}
    for target in bulk:
        assert target["measured"] is not None
        assert target["passed"] in (True, False)


def test_the_sandbox_token_is_the_sandboxs() -> None:
    assert SandboxCredentials().danasign_api_token == API_TOKEN


def run_only(base: Path, name: str, *options: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A quick run of the benchmark ``name`` alone, which must succeed; the run and its report."""
    run = run_quick(base, "--only", name, *options)
    assert run["done"].returncode == 0, run["done"].stderr[-3000:]
    return run, report(run)


def test_only_bulk_runs_bulk_alone(tmp_path: Path) -> None:
    run, data = run_only(tmp_path, "bulk")
    assert [b["name"] for b in data["benchmarks"]] == ["bulk"]
    assert {t["benchmark"] for t in data["targets"]} == {"bulk"}
    assert list(run["scratch"].iterdir()) == []


def test_targets_are_judged(quick_run: dict[str, Any]) -> None:
    data = report(quick_run)
    judged = {t["benchmark"] for t in data["targets"]}
    assert judged == set(BENCHMARKS)
    for target in data["targets"]:
        assert target["passed"] in (True, False, None)
        if target["passed"] is not None:
            assert target["measured"] is not None or target["kind"] == "exact"
    startup = next(t for t in data["targets"] if t["benchmark"] == "startup")
    assert startup["passed"] is True


def test_token_scenarios_are_all_measured(quick_run: dict[str, Any]) -> None:
    data = report(quick_run)
    tokens = next(b for b in data["benchmarks"] if b["name"] == "tokens")
    (variant,) = tokens["cases"][0]["variants"]
    for scenario in ("cold", "warm", "advisory", "expired"):
        for key in ("token_requests", "rejected", "p50_ms", "max_ms"):
            assert f"{scenario}.{key}" in variant["metrics"], (scenario, key)


def test_temporary_files_are_removed(quick_run: dict[str, Any]) -> None:
    assert quick_run["done"].returncode == 0
    assert list(quick_run["scratch"].iterdir()) == []


def test_tiny_bulk_rows_compare_the_sdk_with_the_raw_loop(quick_run: dict[str, Any]) -> None:
    data = report(quick_run)
    tiny = next(b for b in data["benchmarks"] if b["name"] == "bulk-tiny")
    assert [c["params"]["latency"] for c in tiny["cases"]] == [0, 0.005]
    for case in tiny["cases"]:
        assert set(case["ratios"]) == {
            "sdk/raw-aiohttp",
            "sdk-journal/raw-aiohttp",
            "sdk-journal/sdk",
        }
        for variant in case["variants"]:
            (result,) = variant["rounds"]
            assert result["documents_created"] == case["params"]["count"], variant["key"]
    tiny_files, mid_files = next(b for b in data["benchmarks"] if b["name"] == "bulk-files")[
        "cases"
    ]
    assert [tiny_files["params"]["size"], mid_files["params"]["size"]] == [2048, 200 * 1024]
    for files in (tiny_files, mid_files):
        assert set(files["ratios"]) == {"sdk-files/raw-files", "sdk-files/sdk-bytes"}
        for variant in files["variants"]:
            (result,) = variant["rounds"]
            assert result["documents_created"] == files["params"]["count"], variant["key"]
    (wide,) = next(b for b in data["benchmarks"] if b["name"] == "bulk-wide")["cases"]
    assert wide["params"]["concurrency"] == 256
    sdk = next(v for v in wide["variants"] if v["key"] == "sdk")
    assert sdk["metrics"]["of_ideal"]["median"] > 0


def test_the_million_run_is_opt_in_and_reports_memory_and_journal(
    quick_run: dict[str, Any], tmp_path: Path
) -> None:
    assert "bulk-million" not in [b["name"] for b in report(quick_run)["benchmarks"]]
    run, data = run_only(tmp_path, "bulk-million", "--million-count", "300")
    ((case,),) = [b["cases"] for b in data["benchmarks"]]
    (variant,) = case["variants"]
    (result,) = variant["rounds"]
    assert result["requests"] == result["documents_created"] == 300
    assert result["journal_mib"] > 0
    assert "rss_growth_mib" in result
    (target,) = data["targets"]
    assert target["description"] == "RSS growth ≤ 64 MiB"
    assert list(run["scratch"].iterdir()) == []


def test_the_fleet_run_is_opt_in_with_one_two_and_four_workers(
    quick_run: dict[str, Any], tmp_path: Path
) -> None:
    assert "fleet" not in [b["name"] for b in report(quick_run)["benchmarks"]]
    run, data = run_only(tmp_path, "fleet", "--fleet-count", "60")
    (fleet,) = data["benchmarks"]
    assert fleet["name"] == "fleet"
    for case in fleet["cases"]:
        variants = {variant["key"]: variant for variant in case["variants"]}
        assert list(variants) == ["1w", "2w", "4w"]
        for variant in variants.values():
            assert variant["status"] == "ok", variant
            (result,) = variant["rounds"]
            assert result["requests"] == 60
            assert result["write_transactions"] > 0
            assert result["worker_cpu_s"] > 0
            assert result["postgres_cpu_s"] > 0
    assert "x 1w" in (run["out"] / "latest.md").read_text()
    assert list(run["scratch"].iterdir()) == []
