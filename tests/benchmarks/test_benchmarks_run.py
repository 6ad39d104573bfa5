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

import signing_async as sa

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ["startup", "request", "upload", "download", "tokens"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("bench")
    out, scratch = base / "results", base / "scratch"
    scratch.mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out), "--tmp", str(scratch)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return {"done": done, "out": out, "scratch": scratch}


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
    (download,) = by_name["download"]["cases"]
    assert {"sdk/raw-aiohttp", "sdk/raw-aiohttp-sha256"} == set(download["ratios"])
    ratio = download["ratios"]["sdk/raw-aiohttp"]["mib_per_s"]
    assert ratio["median"] > 0


def test_danasign_variants_are_reported_not_skipped(quick_run: dict[str, Any]) -> None:
    data = report(quick_run)
    upload = next(b for b in data["benchmarks"] if b["name"] == "upload")
    rows = [v for case in upload["cases"] for v in case["variants"] if v["key"] == "sdk-documents"]
    assert len(rows) == 2
    has_documents = hasattr(sa.SigningClient, "documents") and hasattr(sa, "DanaSignConfig")
    for row in rows:
        if has_documents:
            assert row["status"] == "ok"
        else:
            assert row["status"] == "unavailable"
            assert "documents" in row["reason"]
    documents_targets = [t for t in data["targets"] if t["description"].startswith("sdk-documents")]
    assert documents_targets
    for target in documents_targets:
        assert (target["passed"] is None) == (not has_documents)
    request = next(b for b in data["benchmarks"] if b["name"] == "request")
    operation = "contacts" if hasattr(sa.SigningClient, "contacts") else "circuit"
    assert request["extra"]["operation"] == operation


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
