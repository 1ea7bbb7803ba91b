"""Growth table: one workflow on 1k to 200k rows, in the sandbox (file by reference) vs in-process.

Run: ``python bench/bench_growth.py [--repeats N] [--rows 1000,10000,...] [--json out.json]``.

For each size, a CSV of N rows x 20 numeric features and a binary target is written once; the same
random forest classification workflow (20 trees, max_depth 10, a 20 % split, accuracy and F1) then
runs, alternately so both see the same machine:

* **in-process**: ``executor.entry.run(payload, ctx)`` in this process, the file in the local
  context's dir (``payload["files"]``), ``threads`` = ``[job] threads``;
* **sandbox**: ``Sandbox.run("executor.entry:run", payload, files={...})`` under the default limits
  of limits.toml: the parent copies the file into the job's dir, a job child forked from the warm
  template loads it, trains and answers (the page's path through ``Worker.submit(files=)``, minus
  admission).

Printed side by side: the CSV's size, the page's preview of it in the parent (milliseconds: a 1 MB
head parsed, the rest streamed to count lines), the median wall time of each mode, their ratio
(sandbox / in-process), the same for CPU seconds (the job child's rusage vs this process's
``time.process_time()``: far steadier than wall time when the machine is shared), and the job's
peak memory (``Outcome.usage.peak_memory_mb``, the USS the
memory limit is measured on) against ``[job] memory_mb``. The load average before and after is
printed: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from executor.entry import run as engine_run  # noqa: E402
from sandbox import JobContext, Sandbox  # noqa: E402
from service.config import load_settings  # noqa: E402
from service.preview import inspect_upload  # noqa: E402

FEATURES = 20
TREES, DEPTH = 20, 10
ROWS = [1_000, 10_000, 50_000, 200_000]
NODE = "dataset-1"
FILE = "upload-0.csv"


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    """N rows x 20 numeric features; the target depends on a few of them, with noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, FEATURES))
    score = X[:, 0] + 0.5 * X[:, 1] * X[:, 2] - 0.8 * X[:, 3] + rng.normal(scale=0.5, size=rows)
    y = (score > 0).astype(int)
    header = ",".join(f"f{i}" for i in range(FEATURES)) + ",target"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt=["%.6f"] * FEATURES + ["%d"], header=header,
               comments="")


def workflow() -> dict[str, Any]:
    return {
        "nodes": [
            {"id": NODE, "type": "dataset", "config": {"dataset_id": "upload", "is_sample": False,
                                                      "dataset_name": "growth", "target_column": "target",
                                                      "problem_type": "classification"}},
            {"id": "split-2", "type": "split", "config": {"test_size": 0.2, "random_seed": 42, "stratify": True}},
            {"id": "model-3", "type": "model", "config": {"algorithm": "random_forest",
                                                          "hyperparameters": {"n_estimators": TREES, "max_depth": DEPTH}}},
            {"id": "evaluate-4", "type": "evaluate", "config": {"selected_metrics": ["accuracy", "f1"]}},
        ],
        "edges": [
            {"id": "e1", "source": NODE, "target": "split-2"},
            {"id": "e2", "source": "split-2", "target": "model-3"},
            {"id": "e3", "source": "model-3", "target": "evaluate-4"},
        ],
    }


def payload(settings: Any) -> dict[str, Any]:
    return {"workflow": workflow(), "limits": settings.engine_limits(), "fault_injection": False,
            "request_id": "bench-growth", "files": {NODE: FILE}}


def in_process(settings: Any, folder: Path) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, CPU seconds of this process's threads, envelope)."""
    ctx = JobContext.local(threads=settings.job.threads or 1, tmpdir=folder)
    started, cpu = time.perf_counter(), time.process_time()
    out = engine_run(payload(settings), ctx)
    return time.perf_counter() - started, time.process_time() - cpu, out


def in_sandbox(sb: Sandbox, settings: Any, csv: Path) -> tuple[float, Any]:
    started = time.perf_counter()
    out = sb.run("executor.entry:run", payload(settings), files={FILE: csv})
    return time.perf_counter() - started, out


def preview_ms(csv: Path, settings: Any) -> float:
    started = time.perf_counter()
    inspect_upload(str(csv), max_bytes=settings.data.max_dataset_mb << 20, max_rows=settings.data.max_rows,
                   max_columns=settings.data.max_columns, root=csv.parent)
    return (time.perf_counter() - started) * 1000


def measure(sb: Sandbox, settings: Any, rows: int, repeats: int, work: Path) -> dict[str, Any]:
    folder = work / f"rows-{rows}"
    folder.mkdir()
    csv = folder / FILE
    write_csv(csv, rows)
    local, boxed, local_cpu, boxed_cpu, peaks, codes = [], [], [], [], [], set()
    for i in range(repeats):
        order = (0, 1) if i % 2 == 0 else (1, 0)  # alternate which mode goes first
        for mode in order:
            if mode == 0:
                seconds, cpu, out = in_process(settings, folder)
                assert out.get("status") == "completed", out.get("error")
                local.append(seconds)
                local_cpu.append(cpu)
            else:
                seconds, outcome = in_sandbox(sb, settings, csv)
                value = outcome.value if outcome.ok else {}
                codes.add(value.get("status") if isinstance(value, dict) and value else outcome.code)
                boxed.append(seconds)
                boxed_cpu.append(outcome.usage.cpu_seconds)
                peaks.append(outcome.usage.peak_memory_mb)
    local_s, boxed_s = statistics.median(local), statistics.median(boxed)
    local_c, boxed_c = statistics.median(local_cpu), statistics.median(boxed_cpu)
    return {
        "in_process_cpu_s": round(local_c, 3),
        "sandbox_cpu_s": round(boxed_c, 3),
        "cpu_ratio": round(boxed_c / local_c, 2),
        "rows": rows,
        "features": FEATURES,
        "csv_mb": round(csv.stat().st_size / (1 << 20), 1),
        "preview_ms": round(statistics.median(preview_ms(csv, settings) for _ in range(3)), 1),
        "in_process_s": round(local_s, 3),
        "sandbox_s": round(boxed_s, 3),
        "ratio": round(boxed_s / local_s, 2),
        "peak_memory_mb": round(max(peaks), 1),
        "sandbox_outcomes": sorted(str(c) for c in codes),
        "repeats": repeats,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", default=",".join(str(r) for r in ROWS), help="comma-separated row counts")
    parser.add_argument("--json")
    args = parser.parse_args()
    sizes = [int(r) for r in args.rows.split(",") if r.strip()]
    settings = load_settings()
    load_before = os.getloadavg()
    table = []
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as tmp, Sandbox(
        settings.job, settings.guards, preload=["executor.preload"], extra_env={"MPLBACKEND": "Agg"},
        warmup="executor.warmup:run" if settings.queue.warm_up else "",
    ) as sb:
        work = Path(tmp)
        warm = work / "warm"
        warm.mkdir()
        write_csv(warm / FILE, 500)
        in_process(settings, warm)  # first-call costs of this process, not counted
        in_sandbox(sb, settings, warm / FILE)
        for rows in sizes:
            table.append(measure(sb, settings, rows, args.repeats, work))
    load_after = os.getloadavg()
    limit = settings.job.memory_mb
    print(f"Growth: random forest ({TREES} trees, depth {DEPTH}), {FEATURES} numeric features, the CSV passed to "
          f"the job by reference; median of {args.repeats} alternated runs per mode")
    print(f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"({len(os.sched_getaffinity(0))} CPUs); [job] threads = {settings.job.threads}, memory_mb = {limit}")
    print(f"  {'':>8} {'':>7} {'parent':>10} {'wall, median':^28} {'CPU, median':^28}")
    print(f"  {'rows':>8} {'CSV MB':>7} {'preview ms':>10} {'in-process':>10} {'sandbox':>9} {'ratio':>7} "
          f"{'in-process':>10} {'sandbox':>9} {'ratio':>7} {'peak job MB':>12}  outcome")
    for r in table:
        print(f"  {r['rows']:>8,} {r['csv_mb']:>7.1f} {r['preview_ms']:>10.1f} {r['in_process_s']:>9.2f}s "
              f"{r['sandbox_s']:>8.2f}s {r['ratio']:>6.2f}x {r['in_process_cpu_s']:>9.2f}s {r['sandbox_cpu_s']:>8.2f}s "
              f"{r['cpu_ratio']:>6.2f}x {r['peak_memory_mb']:>6.0f} / {limit}  {','.join(r['sandbox_outcomes'])}")
    print("  wall: answer time (the sandbox's includes copying the CSV into the job's dir, fork, limits, cleanup);"
          " CPU: the job child's")
    print("  (sandbox) or this process's threads (in-process); on a busy machine the CPU ratio is the steadier one")
    ok = all(r["sandbox_outcomes"] == ["completed"] for r in table)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "table": table, "memory_limit_mb": limit, "threads": settings.job.threads,
            "load_before": round(load_before[0], 2), "load_after": round(load_after[0], 2), "all_completed": ok,
        }, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
