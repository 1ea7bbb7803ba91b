"""Soak test: a real server on loopback, concurrent clients, good workflows mixed with every fault.

Run: ``python bench/soak.py [--requests 300] [--clients 4] [--json out.json]``. It starts
``python app.py`` on a free loopback port with a limits file that enables fault injection, sends
the requests exactly as the platform backend does (POST /call/predict, then the SSE stream), and
prints: answered / lost, codes, p50 / p95 latency, throughput, the server's RSS and open fds before
and after, processes and temp dirs left. The bar: 0 lost, 0 processes left, 0 temp dirs left,
parent RSS growth <= 30 MB, every answer before its deadline. Exit code 1 when a bar is missed.
Only loopback is ever contacted; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loopback import ROOT, call_predict, start_server, stop_server  # noqa: E402

SOAK_LIMITS = """
[job]
wall_clock_seconds = 20
cpu_seconds = 30
memory_mb = 400
max_processes = 48
max_file_size_mb = 16
max_result_mb = 24
threads = 1

[queue]
max_concurrent_jobs = 2
max_waiting = 16
request_deadline_seconds = 60

[testing]
fault_injection = true
"""

FAULTS: list[dict[str, Any]] = [
    {"kind": "sleep", "seconds": 0.2},
    {"kind": "sleep", "seconds": 60},
    {"kind": "ignore_sigterm", "seconds": 60},
    {"kind": "busy_loop", "seconds": 60},
    {"kind": "allocate", "mb": 2000},
    {"kind": "segfault"},
    {"kind": "abort"},
    {"kind": "exit", "code": 5},
    {"kind": "raise", "message": "soak"},
    {"kind": "fork_bomb"},
    {"kind": "thread_bomb"},
    {"kind": "orphan", "seconds": 60},
    {"kind": "write_file", "mb": 64},
    {"kind": "huge_result", "mb": 40},
    {"kind": "stdout_flood", "mb": 8},
    {"kind": "close_result_channel"},
]

MALFORMED: list[str] = ["", "not json", "[1, 2, 3]", '{"nodes": "x"}', '{"nodes": [], "edges": []}', "null", '"a string"']


def workflow_bodies() -> list[tuple[str, str]]:
    """(label, body): example workflows, fault workflows and malformed requests."""
    bodies = []
    for path in sorted(glob.glob(str(ROOT / "examples" / "*.json"))):
        text = Path(path).read_text()
        if "california" in text or "neural_network" in text:
            continue  # keep the soak about the guards, not about long fits
        bodies.append((f"example:{Path(path).stem}", text))
    for fault in FAULTS:
        node = {"id": "fault-1", "type": "fault", "config": fault}
        bodies.append((f"fault:{fault['kind']}", json.dumps({"nodes": [node], "edges": []})))
    for text in MALFORMED:
        bodies.append((f"malformed:{text[:12]!r}", text))
    return bodies


def server_tree(proc: subprocess.Popen[bytes]) -> psutil.Process:
    return psutil.Process(proc.pid)


def job_processes() -> list[int]:
    """Live processes of any job: named ``sbx-<job id>`` (forked) or marked in their environment (exec'd)."""
    left = []
    for p in psutil.process_iter(["name"]):
        try:
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
            if (p.info["name"] or "").startswith("sbx-") or "SANDBOX_JOB_ID" in p.environ():
                left.append(p.pid)
        except psutil.Error:
            continue
    return left


def job_dirs(since: float) -> list[str]:
    """Job temp dirs created since ``since`` (a time.time()) that still exist."""
    pattern = os.path.join(tempfile.gettempdir(), "sandbox-jobs-*", "job-*")
    return [d for d in glob.glob(pattern) if os.path.getmtime(d) >= since]


def soak(requests: int, clients: int, seed: int = 0, limits_text: str = SOAK_LIMITS) -> dict[str, Any]:
    import tomllib

    deadline = float(tomllib.loads(limits_text)["queue"]["request_deadline_seconds"])
    began = time.time()
    srv = start_server(limits_text)
    url, proc = srv.url, srv.proc
    try:
        server = server_tree(proc)
        bodies = workflow_bodies()
        rng = random.Random(seed)
        plan = [bodies[i % len(bodies)] for i in range(requests)]
        rng.shuffle(plan)
        call_predict(url, plan[0][1])  # warm
        rss0, fds0 = server.memory_info().rss, server.num_fds()
        results: list[tuple[str, float, dict[str, Any] | None]] = []
        lock = threading.Lock()
        queue = list(plan)

        def client() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    label, body = queue.pop()
                t = time.monotonic()
                try:
                    answer = call_predict(url, body)
                except httpx.HTTPError as exc:
                    answer = None
                    label = f"{label} ({type(exc).__name__})"
                with lock:
                    results.append((label, time.monotonic() - t, answer))

        started = time.monotonic()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # let the last runners finish their teardown
        latencies = sorted(r[1] for r in results)
        codes = Counter((r[2] or {}).get("errorCode") or (r[2] or {}).get("status") or "LOST" for r in results)
        lost = [r[0] for r in results if r[2] is None]
        return {
            "requests": requests,
            "clients": clients,
            "answered": len(results) - len(lost),
            "lost": len(lost),
            "lost_labels": lost[:10],
            "codes": dict(codes),
            "p50_s": statistics.median(latencies),
            "p95_s": latencies[int(0.95 * (len(latencies) - 1))],
            "max_s": latencies[-1],
            "deadline_s": deadline,
            "throughput_rps": len(results) / elapsed,
            "server_rss_before_mb": rss0 / (1 << 20),
            "server_rss_after_mb": server.memory_info().rss / (1 << 20),
            "server_rss_growth_mb": (server.memory_info().rss - rss0) / (1 << 20),
            "server_fds_before": fds0,
            "server_fds_after": server.num_fds(),
            "processes_left": len(job_processes()),
            "temp_dirs_left": len(job_dirs(began)),
        }
    finally:
        stop_server(srv)


def bars(figures: dict[str, Any]) -> list[str]:
    """The bars missed (empty = all met)."""
    missed = []
    if figures["lost"]:
        missed.append(f"{figures['lost']} request(s) lost")
    if figures["processes_left"]:
        missed.append(f"{figures['processes_left']} job process(es) left")
    if figures["temp_dirs_left"]:
        missed.append(f"{figures['temp_dirs_left']} temp dir(s) left")
    if figures["server_rss_growth_mb"] > 30:
        missed.append(f"server RSS grew {figures['server_rss_growth_mb']:.1f} MB")
    if figures["max_s"] > figures["deadline_s"]:
        missed.append(f"an answer took {figures['max_s']:.1f} s, past the {figures['deadline_s']} s deadline")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json")
    args = parser.parse_args()
    figures = soak(args.requests, args.clients)
    for key, value in figures.items():
        print(f"  {key:24s} {value:.3f}" if isinstance(value, float) else f"  {key:24s} {value}")
    missed = bars(figures)
    print("bars: all met" if not missed else f"bars MISSED: {missed}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
