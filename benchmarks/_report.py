"""Statistics, targets and the report: JSON, a Markdown table, an optional chart.

Every figure is summarised by its median and range over the rounds. A ratio
(SDK over baseline) is computed round by round, the two variants of a round
having run back to back, and summarised by the median of those per-round
ratios: a machine that slows down for one round affects both sides of it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._suite import SCENARIOS, Benchmark, Case, Metric, Target

Results = dict[str, dict[str, dict[str, dict[str, Any]]]]
"""benchmark → case → variant → ``{"status", "reason", "rounds": [result | None]}``."""


def _stats(values: Sequence[float]) -> dict[str, Any] | None:
    if not values:
        return None
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "values": list(values),
    }


def _metric_values(metric: Metric, rounds: Sequence[dict[str, Any] | None]) -> list[float]:
    values = []
    for result in rounds:
        if result is not None and result.get("status") == "ok":
            value = metric.get(result)
            if value is not None:
                values.append(float(value))
    return values


def _ratios(
    metric: Metric,
    rounds: Sequence[dict[str, Any] | None],
    base_rounds: Sequence[dict[str, Any] | None],
) -> list[float]:
    ratios = []
    for mine, theirs in zip(rounds, base_rounds, strict=False):
        if mine is None or theirs is None or mine["status"] != "ok" or theirs["status"] != "ok":
            continue
        a, b = metric.get(mine), metric.get(theirs)
        if a is not None and b:
            ratios.append(a / b)
    return ratios


def summarize_case(benchmark: Benchmark, case: Case, results: dict[str, Any]) -> dict[str, Any]:
    """Medians, ranges and per-round ratios of one case."""
    variants = []
    for variant in case.variants:
        entry = results.get(variant.key, {"status": "error", "reason": "did not run", "rounds": []})
        metrics = {}
        if entry["status"] == "ok":
            for metric in benchmark.metrics:
                summary = _stats(_metric_values(metric, entry["rounds"]))
                if summary is not None:
                    metrics[metric.key] = summary
        variants.append(
            {
                "key": variant.key,
                "label": variant.label,
                "workload": variant.workload,
                "status": entry["status"],
                "reason": entry.get("reason"),
                "metrics": metrics,
                "rounds": entry["rounds"],
            }
        )
    ratios: dict[str, dict[str, Any]] = {}
    for mine, base in benchmark.comparisons:
        a, b = results.get(mine), results.get(base)
        if not a or not b or a["status"] != "ok" or b["status"] != "ok":
            continue
        per_metric = {}
        for metric in benchmark.metrics:
            summary = _stats(_ratios(metric, a["rounds"], b["rounds"]))
            if summary is not None:
                per_metric[metric.key] = summary
        ratios[f"{mine}/{base}"] = per_metric
    return {
        "name": case.name,
        "params": _public_params(case.params),
        "variants": variants,
        "ratios": ratios,
    }


def _public_params(params: dict[str, Any]) -> dict[str, Any]:
    # File lists would bury the report; their count and the case name say enough.
    shown = {key: value for key, value in params.items() if key not in ("files", "warmup_file")}
    if "files" in params:
        shown["file_count"] = len(params["files"])
    return shown


def evaluate(target: Target, benchmark: Benchmark, case: dict[str, Any]) -> dict[str, Any]:
    """Measure a target against a summarised case."""
    verdict: dict[str, Any] = {
        "benchmark": benchmark.name,
        "case": target.case,
        "description": target.description,
        "threshold": target.threshold,
        "kind": target.kind,
        "measured": None,
        "passed": None,
    }
    variant = next((v for v in case["variants"] if v["key"] == target.variant), None)
    if variant is None or variant["status"] != "ok":
        status = variant["status"] if variant else "missing"
        verdict["note"] = "not available" if status == "unavailable" else status
        if variant and variant.get("reason"):
            verdict["note"] += f": {variant['reason']}"
        return verdict
    if target.baseline is not None:
        ratio = case["ratios"].get(f"{target.variant}/{target.baseline}", {}).get(target.metric)
        if ratio is None:
            verdict["note"] = f"baseline {target.baseline} did not run"
            return verdict
        measured = ratio["median"]
        verdict.update(measured=measured, range=[ratio["min"], ratio["max"]], unit="x")
    else:
        summary = variant["metrics"].get(target.metric)
        if summary is None:
            verdict["note"] = "no value"
            return verdict
        values = summary["values"]
        if target.kind == "exact":
            measured = values[0] if len(set(values)) == 1 else None
            verdict.update(measured=measured, values=values)
            verdict["passed"] = all(value == target.threshold for value in values)
            return verdict
        if target.worst:
            measured = max(values) if target.kind == "max" else min(values)
        else:
            measured = summary["median"]
        verdict["measured"] = measured
    if target.kind == "min":
        verdict["passed"] = measured >= target.threshold
    else:
        verdict["passed"] = measured <= target.threshold
    return verdict


def build_report(
    benchmarks: Sequence[Benchmark], results: Results, meta: dict[str, Any]
) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    report: dict[str, Any] = {"meta": meta, "benchmarks": [], "targets": []}
    for benchmark in benchmarks:
        cases = [
            summarize_case(benchmark, case, results.get(benchmark.name, {}).get(case.name, {}))
            for case in benchmark.cases
        ]
        by_name = {case["name"]: case for case in cases}
        report["benchmarks"].append(
            {
                "name": benchmark.name,
                "title": benchmark.title,
                "notes": list(benchmark.notes),
                "extra": benchmark.extra,
                "metrics": [
                    {"key": m.key, "label": m.label, "better": m.better, "digits": m.digits}
                    for m in benchmark.metrics
                ],
                "comparisons": [f"{mine}/{base}" for mine, base in benchmark.comparisons],
                "cases": cases,
            }
        )
        for target in benchmark.targets:
            report["targets"].append(evaluate(target, benchmark, by_name[target.case]))
    return report


# ---------------------------------------------------------------------- Markdown


def _number(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _spread(summary: dict[str, Any] | None, digits: int, rounds: int) -> str:
    if summary is None:
        return "-"
    median = _number(summary["median"], digits)
    if rounds <= 1 or len(summary["values"]) <= 1:
        return median
    return f"{median} ({_number(summary['min'], digits)}-{_number(summary['max'], digits)})"


def _ratio(summary: dict[str, Any] | None, rounds: int) -> str:
    if summary is None:
        return "-"
    if rounds <= 1 or len(summary["values"]) <= 1:
        return f"{summary['median']:.2f}x"
    return f"{summary['median']:.2f}x ({summary['min']:.2f}-{summary['max']:.2f})"


def _status_cell(variant: dict[str, Any]) -> str:
    if variant["status"] == "unavailable":
        return f"not available ({variant['reason']})"
    return f"**error**: {variant['reason']}"


def _variant_table(benchmark: dict[str, Any], rounds: int) -> list[str]:
    metrics = benchmark["metrics"]
    bases = list(dict.fromkeys(pair.split("/")[1] for pair in benchmark["comparisons"]))
    digits = {m["key"]: m["digits"] for m in metrics}
    header = ["Case", "Variant", f"{metrics[0]['label']} median (min-max)"]
    header += [f"x {base}" for base in bases]
    header += [m["label"] for m in metrics[1:]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for case in benchmark["cases"]:
        for variant in case["variants"]:
            row = [case["name"], variant["label"]]
            if variant["status"] != "ok":
                row.append(_status_cell(variant))
                row += [""] * (len(header) - 3)
            else:
                values = variant["metrics"]
                row.append(
                    _spread(values.get(metrics[0]["key"]), digits.get(metrics[0]["key"], 0), rounds)
                )
                for base in bases:
                    ratio = (
                        case["ratios"].get(f"{variant['key']}/{base}", {}).get(metrics[0]["key"])
                    )
                    row.append(_ratio(ratio, rounds))
                for metric in metrics[1:]:
                    row.append(
                        _spread(values.get(metric["key"]), digits.get(metric["key"], 0), rounds)
                    )
            lines.append("| " + " | ".join(row) + " |")
    return lines


def _scenario_table(benchmark: dict[str, Any], rounds: int) -> list[str]:
    columns = [
        ("token_requests", "token requests", 0),
        ("rejected", "401s", 0),
        ("p50_ms", "p50 ms", 1),
        ("max_ms", "max ms", 1),
        ("added_p50_ms", "p50 added by the refresh, ms", 1),
    ]
    lines = []
    for case in benchmark["cases"]:
        variant = case["variants"][0]
        lines.append(f"Case: {case['name']}, {variant['label']}.")
        lines.append("")
        if variant["status"] != "ok":
            lines.append(_status_cell(variant))
            continue
        header = ["Scenario"] + [label for _, label, _ in columns]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name in SCENARIOS:
            row = [name]
            for key, _, digits in columns:
                row.append(_spread(variant["metrics"].get(f"{name}.{key}"), digits, rounds))
            lines.append("| " + " | ".join(row) + " |")
    return lines


def _first_ok(variant: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in variant["rounds"] if r and r.get("status") == "ok"), None)


def _startup_details(benchmark: dict[str, Any]) -> list[str]:
    variants = {v["key"]: v for v in benchmark["cases"][0]["variants"]}
    sdk = _first_ok(variants["sdk"])
    if sdk is None:
        return []
    public = [name for name in sdk["top_level_modules"] if not name.startswith("_")]
    lines = [
        "",
        f"`import signing_async` adds {sdk['module_count']} modules; their top-level "
        f"packages (private `_x` ones left out): {', '.join(public)}.",
    ]
    floor = _first_ok(variants["aiohttp"])
    if floor is not None:
        beyond = [name for name in public if name not in floor["top_level_modules"]]
        lines += [
            "",
            f"Beyond what `import aiohttp` loads ({floor['module_count']} modules): "
            f"{', '.join(beyond) or 'nothing'}.",
        ]
    lines += ["", f"Heavy modules imported: {', '.join(sdk['heavy']) or 'none'}."]
    return lines


def _target_line(target: dict[str, Any]) -> str:
    measured = target["measured"]
    if target.get("values") is not None and measured is None:
        shown = "varies: " + ", ".join(f"{v:g}" for v in target["values"])
    elif measured is None:
        shown = target.get("note", "-")
    elif target.get("unit") == "x":
        low, high = target["range"]
        shown = f"{measured:.2f}x ({low:.2f}-{high:.2f})"
    else:
        shown = f"{measured:,.1f}" if measured != int(measured) else f"{measured:g}"
        if target.get("values") and len(target["values"]) > 1:
            shown += f" in all {len(target['values'])} rounds" if target["passed"] else ""
    verdict = {True: "pass", False: "**miss**", None: "n/a"}[target["passed"]]
    sign = {"min": "≥", "max": "≤", "exact": "="}[target["kind"]]
    return f"| {target['description']} | {shown} | {sign} {target['threshold']:g} | {verdict} |"


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: context, targets, then one table per benchmark."""
    meta = report["meta"]
    rounds = meta["settings"]["rounds"]
    lines = [
        "# signing_async benchmarks",
        "",
        f"Run {meta['started']} on {meta['machine']}; Python {meta['python']}, "
        f"aiohttp {meta['aiohttp']}, httpx {meta['httpx']}, signing_async "
        f"{meta['signing_async']} ({meta['signing_async_path']}). "
        f"{rounds} round(s), variants alternating (order reversed every other round); "
        f"{meta['duration_s']:.0f} s in all.",
        "",
    ]
    if meta["settings"]["quick"]:
        lines += ["**Quick mode: tiny sizes, one round. These figures measure nothing.**", ""]
    lines += [
        f"The server and every client process share this machine's {meta['cpus']} CPU(s)"
        + (
            " — a small, shared, noisy machine: read the ratios, not the absolute figures."
            if meta["cpus"] <= 2
            else "."
        ),
        "Medians over the rounds, with the range in brackets; ratios are SDK over baseline, "
        "the median of per-round ratios.",
        "",
        "## Targets",
        "",
        "| Target | Measured | Threshold | Result |",
        "|---|---|---|---|",
    ]
    lines += [_target_line(target) for target in report["targets"]]
    for number, benchmark in enumerate(report["benchmarks"], 1):
        lines += ["", f"## {number}. {benchmark['title']}", ""]
        lines += [f"- {note}" for note in benchmark["notes"]]
        if benchmark["notes"]:
            lines.append("")
        if benchmark["name"] == "tokens":
            lines += _scenario_table(benchmark, rounds)
        else:
            lines += _variant_table(benchmark, rounds)
        if benchmark["name"] == "startup":
            lines += _startup_details(benchmark)
    if report.get("profiles"):
        lines += ["", "## Profiles", ""]
        for profile in report["profiles"]:
            lines += [f"- {profile['what']}: `{profile['path']}` ({profile['tool']})"]
    lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------- chart


def write_chart(report: dict[str, Any], path: Path) -> bool:
    """Draw the primary ratios (SDK over each baseline) if matplotlib is installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    labels, medians, lows, highs = [], [], [], []
    for benchmark in report["benchmarks"]:
        primary = benchmark["metrics"][0]["key"]
        for case in benchmark["cases"]:
            for pair, per_metric in case["ratios"].items():
                summary = per_metric.get(primary)
                if summary is None:
                    continue
                labels.append(f"{benchmark['name']}: {case['name']}\n{pair}")
                medians.append(summary["median"])
                lows.append(summary["median"] - summary["min"])
                highs.append(summary["max"] - summary["median"])
    if not labels:
        return False
    figure, axes = plt.subplots(figsize=(10, 0.45 * len(labels) + 1.5))
    axes.barh(range(len(labels)), medians, xerr=[lows, highs], color="#4c72b0")
    axes.set_xscale("log")
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_yticks(range(len(labels)), labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("ratio, SDK / baseline (primary metric; import time: lower is better)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True
