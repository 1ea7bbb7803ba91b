"""Sandbox benchmark: round trip vs a fresh spawn vs in-process, kill latency, memory stop, leaks.

Run: ``python bench/bench_sandbox.py [--jobs 500] [--json out.json]``. Prints the figures side by
side (ratios against the baselines measured in the same run); targets from the sandbox issue:
round trip median <= 25 ms; wall-clock limit to answer <= 0.5 s (also ignoring SIGTERM); a fast
allocator stopped before its tree exceeds memory_mb + 10 %; parent RSS growth <= 20 MB and flat
open fds over 500 sequential mixed jobs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import GuardLimits, JobLimits, Sandbox  # noqa: E402
from sandbox.context import JobContext  # noqa: E402
from sandbox.faults import target as fault_target  # noqa: E402
from service.config import load_settings  # noqa: E402

PRELOAD = ["numpy", "pandas", "sklearn", "sklearn.ensemble", "xgboost", "matplotlib", "matplotlib.pyplot"]
SPAWN_CODE = "import numpy, pandas, sklearn, sklearn.ensemble, xgboost, matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot"


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_round_trip(sb: Sandbox, n: int) -> dict[str, float]:
    payload = {"kind": "sleep", "seconds": 0}
    sb.run("sandbox.faults:target", payload)  # warm
    trips = []
    for _ in range(n):
        t = time.perf_counter()
        out = sb.run("sandbox.faults:target", payload)
        trips.append(time.perf_counter() - t)
        assert out.ok, out.to_dict()
    spawns = []
    for _ in range(max(3, n // 20)):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", SPAWN_CODE], check=True, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
        spawns.append(time.perf_counter() - t)
    ctx = JobContext.local()
    local = []
    for _ in range(n):
        t = time.perf_counter()
        fault_target(payload, ctx)
        local.append(time.perf_counter() - t)
    return {
        "sandbox_median_ms": _median_ms(trips),
        "sandbox_p95_ms": sorted(trips)[int(0.95 * (len(trips) - 1))] * 1000,
        "spawn_median_ms": _median_ms(spawns),
        "in_process_median_ms": _median_ms(local),
    }


def bench_kill_latency(sb: Sandbox, limit: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for kind in ("sleep", "ignore_sigterm"):
        t = time.perf_counter()
        res = sb.run("sandbox.faults:target", {"kind": kind, "seconds": 60}, wall_clock_seconds=limit)
        elapsed = time.perf_counter() - t
        assert res.code == "timeout", res.to_dict()
        out[f"{kind}_answer_after_limit_s"] = elapsed - limit
    return out


def bench_memory_stop(sb: Sandbox, memory_mb: int) -> dict[str, float]:
    t = time.perf_counter()
    res = sb.run("sandbox.faults:target", {"kind": "allocate", "mb": memory_mb * 4})
    assert res.code == "memory_exceeded", res.to_dict()
    return {
        "allocator_peak_mb": res.usage.peak_memory_mb,
        "allocator_peak_over_limit": res.usage.peak_memory_mb / memory_mb,
        "allocator_stopped_after_s": time.perf_counter() - t,
    }


def bench_leaks(sb: Sandbox, jobs: int) -> dict[str, Any]:
    me = psutil.Process()
    mixed = [
        {"kind": "sleep", "seconds": 0},
        {"kind": "raise", "message": "x"},
        {"kind": "segfault"},
        {"kind": "exit", "code": 3},
        {"kind": "allocate", "mb": 64},
        {"kind": "huge_result", "mb": 2},
        {"kind": "orphan", "seconds": 30},
        {"kind": "stdout_flood", "mb": 1},
    ]
    for payload in mixed:
        sb.run("sandbox.faults:target", payload)
    rss0, fds0 = me.memory_info().rss, me.num_fds()
    codes: dict[str, int] = {}
    t = time.perf_counter()
    for i in range(jobs):
        res = sb.run("sandbox.faults:target", mixed[i % len(mixed)])
        codes[res.code or "ok"] = codes.get(res.code or "ok", 0) + 1
    elapsed = time.perf_counter() - t
    return {
        "jobs": jobs,
        "jobs_per_second": jobs / elapsed,
        "parent_rss_growth_mb": (me.memory_info().rss - rss0) / (1 << 20),
        "parent_fds_before": fds0,
        "parent_fds_after": me.num_fds(),
        "codes": codes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--trips", type=int, default=100)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    settings = load_settings()
    job: JobLimits = settings.job.model_copy(update={"wall_clock_seconds": 30.0, "max_result_mb": 8})
    guards: GuardLimits = settings.guards
    with Sandbox(job, guards, preload=PRELOAD, fault_injection=True, extra_env={"MPLBACKEND": "Agg"}) as sb:
        status = sb.status()
        figures: dict[str, Any] = {"template": status["template"], "memory_mb": job.memory_mb}
        figures["round_trip"] = bench_round_trip(sb, args.trips)
        figures["kill_latency"] = bench_kill_latency(sb, 1.0)
        figures["memory_stop"] = bench_memory_stop(sb, job.memory_mb)
        figures["leaks"] = bench_leaks(sb, args.jobs)
    rt = figures["round_trip"]
    print("Sandbox benchmark (this machine)")
    print(f"  template: {status['template']['rss_mb']} MB RSS, imports {status['template']['import_seconds']} s")
    print(f"  {'no-op job round trip':38s} {'median ms':>10s} {'ratio':>8s}")
    print(f"  {'sandbox (fork from warm template)':38s} {rt['sandbox_median_ms']:10.1f} {1.0:8.2f}")
    print(f"  {'fresh subprocess importing the libs':38s} {rt['spawn_median_ms']:10.1f} {rt['spawn_median_ms'] / rt['sandbox_median_ms']:8.1f}x")
    print(f"  {'in-process call':38s} {rt['in_process_median_ms']:10.3f}")
    print(f"  sandbox p95: {rt['sandbox_p95_ms']:.1f} ms  (target: median <= 25 ms)")
    kl = figures["kill_latency"]
    print(f"  wall clock → answer: sleeping {kl['sleep_answer_after_limit_s']:.3f} s, "
          f"ignoring SIGTERM {kl['ignore_sigterm_answer_after_limit_s']:.3f} s (target <= 0.5 s)")
    ms = figures["memory_stop"]
    print(f"  fast allocator: stopped at {ms['allocator_peak_mb']:.0f} MB of {job.memory_mb} MB "
          f"({ms['allocator_peak_over_limit']:.2f}x; target < 1.10x) after {ms['allocator_stopped_after_s']:.2f} s")
    lk = figures["leaks"]
    print(f"  {lk['jobs']} mixed jobs: {lk['jobs_per_second']:.1f} jobs/s, parent RSS +{lk['parent_rss_growth_mb']:.1f} MB "
          f"(target <= 20), fds {lk['parent_fds_before']} → {lk['parent_fds_after']}, codes {lk['codes']}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
