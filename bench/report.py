"""Run every benchmark of the project and write docs/benchmarks.md (machine, date, figures).

Run: ``python bench/report.py [--quick]``. Each benchmark script is run in its own process with
``--json FILE``; its printed table is kept verbatim in the report, and its JSON figures feed the
summary of targets at the top. ``--quick`` shortens the long runs (fewer jobs and requests).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks.md"

# (script, title, args, quick args)
BENCHES: list[tuple[str, str, list[str], list[str]]] = [
    ("bench_sandbox.py", "Sandbox overhead, kill latency, memory stop, leaks", ["--jobs", "500"], ["--jobs", "100", "--trips", "40"]),
    ("bench_engine.py", "Engine timings (in-process)", [], []),
    ("bench_http.py", "End-to-end HTTP latency, parent memory, cold start", [], ["--requests", "15"]),
    ("bench_child.py", "The engine in a job child vs in-process, per node", [], ["--rounds", "6"]),
    ("bench_throughput.py", "Throughput, CPU per request, memory: worker vs two unisolated processes", [],
     ["--per-client", "8"]),
    ("bench_confine.py", "What job confinement costs", [], ["--rounds", "15"]),
    ("bench_depth.py", "Largest sample with every plot inside the default limits", [], []),
    ("bench_growth.py", "Growth: 1k to 200k rows, sandbox (file by reference) vs in-process", [],
     ["--repeats", "1"]),
    ("soak.py", "Soak: real server, 4 clients, faults and malformed requests", ["--requests", "300"], ["--requests", "80"]),
    ("bench_hostile.py", "The parent under a hostile mix", ["--requests", "200"], ["--requests", "60"]),
    ("bench_ray.py", "Scale-out on Ray: local vs Ray 1 node vs Ray 2 nodes (needs requirements-ray.txt)", [],
     ["--per-client", "8", "--iris", "8"]),
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / (1 << 30)
    return f"{cpu}; {len(os.sched_getaffinity(0))} CPUs; {mem:.0f} GiB; Python {platform.python_version()}; {platform.platform()}"


def run_bench(script: str, args: list[str]) -> tuple[int, str, dict[str, Any] | None, float]:
    path = ROOT / "bench" / script
    if not path.exists():
        return -1, f"(not present: bench/{script})", None, 0.0
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        json_path = tmp.name
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(path), *args, "--json", json_path], cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
    elapsed = time.monotonic() - started
    figures = None
    try:
        text = Path(json_path).read_text()
        figures = json.loads(text) if text.strip() else None
    except (OSError, json.JSONDecodeError):
        figures = None
    finally:
        Path(json_path).unlink(missing_ok=True)
    output = proc.stdout.strip() or proc.stderr.strip()[-3000:]
    return proc.returncode, output, figures, elapsed


def _row(what: str, measured: str, target: str, ok: bool | None) -> str:
    mark = "" if ok is None else ("met" if ok else "**missed**")
    return f"| {what} | {measured} | {target} | {mark} |"


def summary(figs: dict[str, dict[str, Any] | None]) -> str:
    """The headline figures of every benchmark against its target, one table."""
    rows = ["| what | measured | target | |", "|---|---|---|---|"]
    sb = figs.get("bench_sandbox.py") or {}
    if sb:
        rt, kill, mem, leaks = sb["round_trip"], sb["kill_latency"], sb["memory_stop"], sb["leaks"]
        rows.append(_row("no-op job round trip through the sandbox, median",
                         f"{rt['sandbox_median_ms']:.1f} ms (spawn {rt['spawn_median_ms']:.0f} ms, "
                         f"{rt['spawn_median_ms'] / rt['sandbox_median_ms']:.0f}x)", "≤ 15 ms",
                         rt["sandbox_median_ms"] <= 15))
        worst = max(kill["sleep_answer_after_limit_s"], kill["ignore_sigterm_answer_after_limit_s"])
        rows.append(_row("wall-clock limit → answer (sleeping / ignoring SIGTERM)",
                         f"{kill['sleep_answer_after_limit_s']:.2f} s / {kill['ignore_sigterm_answer_after_limit_s']:.2f} s",
                         "≤ 0.5 s", worst <= 0.5))
        rows.append(_row("fast allocator stopped at (× memory_mb)", f"{mem['allocator_peak_over_limit']:.2f}x",
                         "< 1.10x", mem["allocator_peak_over_limit"] < 1.10))
        rows.append(_row(f"parent RSS growth over {leaks['jobs']} mixed jobs; fds",
                         f"{leaks['parent_rss_growth_mb']:.1f} MB; {leaks['parent_fds_before']} → {leaks['parent_fds_after']}",
                         "≤ 20 MB; flat",
                         leaks["parent_rss_growth_mb"] <= 20 and leaks["parent_fds_after"] <= leaks["parent_fds_before"]))
    en = figs.get("bench_engine.py") or {}
    if en:
        rows.append(_row("iris example in-process, median", f"{en['iris_median_ms']:.0f} ms", "≤ 150 ms",
                         en["iris_median_ms"] <= en["iris_target_ms"]))
        if "iris_over_plain" in en:
            rows.append(_row("… as a ratio to the plain baseline timed in the same run",
                             f"{en['iris_over_plain']:.2f}x (baseline {en['plain_baseline_ms']:.0f} ms)",
                             f"≤ {en['iris_ratio_target']:.2f}x (150 / 220 ms)",
                             en["iris_over_plain"] <= en["iris_ratio_target"]))
        rows.append(_row("random forest, 200 trees, 20,000 rows: 2 threads vs 1", f"{en['speedup']:.2f}x",
                         "≥ 1.7x", en["speedup"] >= en["speedup_target"]))
    http = figs.get("bench_http.py") or {}
    if http:
        rows.append(_row("iris example end to end (POST /call/predict + SSE), paced, median",
                         f"{http['http_median_ms']:.0f} ms (back to back {http.get('http_back_to_back_median_ms', 0):.0f} ms)",
                         "≤ 300 ms", http["http_median_ms"] <= 300))
        rows.append(_row("… above the same workflow in-process", f"{http['gap_ms']:.0f} ms "
                         f"({http['http_median_ms'] / http['in_process_median_ms']:.2f}x)", "≤ 30 ms",
                         http["gap_ms"] <= 30))
        rows.append(_row("parent (Gradio) + warm template, RSS / PSS",
                         f"{http['total_rss_mb']:.0f} MB / {http['total_pss_mb']:.0f} MB", "≤ 450 MB RSS",
                         http["total_rss_mb"] <= 450))
        if "cold_start_s" in http:
            rows.append(_row("cold start: python app.py → first completed predict", f"{http['cold_start_s']:.2f} s",
                             "≤ 4.5 s", http["cold_start_s"] <= 4.5))
    child = figs.get("bench_child.py") or {}
    if child:
        arms = child["arms"]
        base = arms["in-process"]["nodes_ms"]
        worst = max((arms["sandbox, idle"]["nodes_ms"][n] / base[n] for n in base if base[n] >= 5), default=0.0)
        rows.append(_row("engine nodes in a job child / in-process (worst node ≥ 5 ms, idle worker)",
                         f"{worst:.2f}x (whole call {arms['sandbox, idle']['total_ms']:.0f} vs "
                         f"{arms['in-process']['total_ms']:.0f} ms)", "≤ 1.10x", worst <= 1.10))
    tp = figs.get("bench_throughput.py") or {}
    if tp:
        rows.append(_row("4 clients × mixed requests: worker req/s over two unisolated processes",
                         f"{tp['rps_ratio']:.2f}x ({tp['worker']['rps']:.2f} vs {tp['in_process']['rps']:.2f})",
                         "≥ 0.85x", tp["rps_ratio"] >= 0.85))
        rows.append(_row("… CPU seconds per request, worker over unisolated", f"{tp['cpu_ratio']:.2f}x",
                         "≤ 1.10x", tp["cpu_ratio"] <= 1.10))
        rows.append(_row("PSS of every worker process at idle", f"{tp['worker']['pss_idle_mb']:.0f} MB", "≤ 350 MB",
                         tp["worker"]["pss_idle_mb"] <= 350))
    conf = figs.get("bench_confine.py") or {}
    if conf:
        rows.append(_row("job confinement (Landlock + seccomp): no-op / iris, added median; apply() alone",
                         f"{conf['noop']['added_median_ms']:.1f} / {conf['iris']['added_median_ms']:.1f} ms; "
                         f"{conf['apply_in_fork_ms']:.2f} ms", "< 2 ms", conf["apply_in_fork_ms"] < 2))
    depth = figs.get("bench_depth.py") or {}
    if depth:
        rows.append(_row("largest sample shape, random forest, 5-fold CV, every plot, in the sandbox",
                         f"{depth['seconds']:.1f} s of {depth['wall_limit_s']:.0f} s, "
                         f"{depth['peak_memory_mb']:.0f} MB of {depth['memory_limit_mb']} MB",
                         "inside the default limits", depth.get("status") == "completed"))
    growth = figs.get("bench_growth.py") or {}
    if growth:
        largest = growth["table"][-1]
        rows.append(_row(f"growth: {largest['rows']:,} rows x {largest['features']} features, random forest, "
                         "CSV by reference, in the sandbox",
                         f"{largest['sandbox_s']:.1f} s = {largest['ratio']:.2f}x in-process (CPU "
                         f"{largest['cpu_ratio']:.2f}x), {largest['peak_memory_mb']:.0f} MB of "
                         f"{growth['memory_limit_mb']} MB; CPU ratios by size "
                         + " / ".join(f"{r['cpu_ratio']:.2f}x" for r in growth["table"]),
                         "completes inside the default limits", growth.get("all_completed")))
    soak = figs.get("soak.py") or {}
    if soak:
        ok = (not soak["lost"] and not soak["processes_left"] and not soak["temp_dirs_left"]
              and soak["server_rss_growth_mb"] <= 30 and soak["max_s"] <= soak["deadline_s"])
        rows.append(_row(f"soak: {soak['requests']} requests, {soak['clients']} clients, faults, malformed",
                         f"{soak['lost']} lost, {soak['processes_left']} processes left, {soak['temp_dirs_left']} "
                         f"temp dirs left, RSS +{soak['server_rss_growth_mb']:.0f} MB, slowest "
                         f"{soak['max_s']:.1f} s of {soak['deadline_s']:.0f} s, {soak['throughput_rps']:.2f} req/s",
                         "0 / 0 / 0 / ≤ 30 MB / before the deadline", ok))
    hostile = figs.get("bench_hostile.py") or {}
    if hostile:
        rows.append(_row(f"parent under a hostile mix ({hostile['requests']} requests, 4 clients)",
                         f"RSS +{hostile['parent_rss_growth_mb']:.0f} MB, fds {hostile['parent_fds_idle']} → "
                         f"{hostile['parent_fds_after']} (peak {hostile['parent_fds_peak']}), /health worst "
                         f"{hostile['health_worst_s'] * 1000:.0f} ms, {hostile['health_failures']} failed",
                         "≤ 50 MB; flat; < 1000 ms", hostile["parent_rss_growth_mb"] <= 50
                         and hostile["parent_fds_after"] <= hostile["parent_fds_idle"] + 4
                         and hostile["health_worst_s"] < 1 and not hostile["health_failures"]))
    ray = figs.get("bench_ray.py") or {}
    if ray:
        arms = ray["arms"]
        rows.append(_row("Ray engine: req/s local / Ray 1 node / Ray 2 nodes (4 clients × mixed)",
                         " / ".join(f"{a['rps']:.2f}" for a in arms.values()) + "; p95 "
                         + " / ".join(f"{a['p95_ms']:.0f}" for a in arms.values()) + " ms", "(figures)", None))
        rows.append(_row("Ray's overhead per request (iris median, Ray 1 node − local)",
                         f"{ray['ray_overhead_ms']:+.0f} ms", "< 50 ms", ray["ray_overhead_ms"] < 50))
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sections = []
    failures = []
    all_figures: dict[str, dict[str, Any] | None] = {}
    for script, title, full, quick in BENCHES:
        code, output, figures, elapsed = run_bench(script, quick if args.quick else full)
        all_figures[script] = figures
        status = "ok" if code == 0 else ("missing" if code == -1 else f"exit code {code}")
        if code not in (0, -1):
            failures.append(script)
        sections.append(
            f"## {title}\n\n`python bench/{script}` ({status}, {elapsed:.0f} s)\n\n```\n{output}\n```\n"
            + (f"\n<details><summary>figures (JSON)</summary>\n\n```json\n{json.dumps(figures, indent=2)}\n```\n</details>\n" if figures else "")
        )
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        "# Benchmarks\n\n"
        f"Generated by `python bench/report.py{' --quick' if args.quick else ''}` on {now}.\n\n"
        f"Machine: {machine()}.\n\n"
        "Each section is one script's own output: figures side by side, ratios against a baseline\n"
        "measured in the same run. Targets are stated in each script's docstring and output.\n\n"
    )
    try:
        table = "## Targets\n\n" + summary(all_figures) + "\n"
    except (KeyError, TypeError, ZeroDivisionError) as exc:  # a script's figures changed shape
        table = f"## Targets\n\n(summary unavailable: {type(exc).__name__}: {exc})\n\n"
    OUT.write_text(header + table + "\n".join(sections))
    print(f"wrote {OUT.relative_to(ROOT)}" + (f"; failed: {failures}" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
