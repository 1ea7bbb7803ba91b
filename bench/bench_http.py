"""End-to-end HTTP latency and parent memory: the contract's iris example through a warm server.

Run: ``python bench/bench_http.py [--requests 40] [--json out.json]``. It starts ``python app.py``
on a free loopback port with the repo's limits.toml, warms it, then sends the iris example
(``examples/iris_random_forest.json``) exactly as the platform backend does (POST /call/predict,
then the SSE stream) one request at a time, and runs the same workflow in-process
(``executor.run_workflow``) as the baseline. Requests come *paced* (a pause before each, as when
a person clicks Run: the job child waiting for it is warm), alternating with in-process runs that
each follow the same pause, so both sides start from an idle machine (an idle virtual CPU makes
the next run slower); a *back-to-back* series of each (no pause; the next child's warm-up is
stopped or still running) is reported beside them. Last, the cold start: ``python app.py`` to the
first completed predict. Targets: paced median end-to-end <= 300 ms and at most 30 ms above
in-process (performance issue), the server's memory (Gradio parent + warm template) <= 450 MB RSS,
the cold start <= 4.5 s.
Exit code 1 when a target is missed. Only loopback is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loopback import ROOT, call_predict, start_server, stop_server  # noqa: E402

EXAMPLE = ROOT / "examples" / "iris_random_forest.json"
TARGET_MEDIAN_MS = 300.0
TARGET_GAP_MS = 30.0
TARGET_COLD_START_S = 4.5
TARGET_RSS_MB = 450.0
_MB = 1 << 20


PAUSE_SECONDS = 1.5
"""Pause before each paced request."""


def in_process(workflow: dict[str, Any], n: int, warm: int = 0) -> list[float]:
    """The same workflow run in this process (no sandbox, no HTTP): the baseline."""
    from executor.limits import EngineLimits
    from executor.runner import run_workflow
    from sandbox import JobContext
    from service.config import load_settings

    settings = load_settings()
    limits = EngineLimits.model_validate(settings.engine_limits())
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        ctx = JobContext.local(threads=settings.job.threads or 1, tmpdir=Path(tmp))
        for i in range(n + warm):
            t = time.perf_counter()
            run_workflow(workflow, limits=limits, ctx=ctx)
            if i >= warm:
                times.append((time.perf_counter() - t) * 1000)
    return times


def memory(proc: subprocess.Popen[bytes]) -> dict[str, float]:
    parent = psutil.Process(proc.pid)
    templates = [c for c in parent.children() if "sandbox._template_main" in " ".join(c.cmdline())]
    template_rss = sum(t.memory_info().rss for t in templates) / _MB
    parent_rss = parent.memory_info().rss / _MB
    try:
        pss = (parent.memory_full_info().pss + sum(t.memory_full_info().pss for t in templates)) / _MB
    except (psutil.Error, AttributeError):
        pss = float("nan")
    return {"parent_rss_mb": parent_rss, "template_rss_mb": template_rss, "total_rss_mb": parent_rss + template_rss, "total_pss_mb": pss}


def cold_start(body: str, timeout: float = 120.0) -> float:
    """Seconds from ``python app.py`` to its first completed predict (polling until it answers)."""
    from bench.loopback import free_port

    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(timeout=30) as client:
            while time.perf_counter() - started < timeout:
                try:
                    answer = call_predict(url, body, client=client)
                except httpx.HTTPError:
                    time.sleep(0.02)
                    continue
                if (answer or {}).get("status") == "completed":
                    return time.perf_counter() - started
                time.sleep(0.02)
        return float("nan")
    finally:
        proc.terminate()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    body = EXAMPLE.read_text()
    workflow = json.loads(body)
    in_process(workflow, 0, warm=3)  # imports and first calls of this process
    server = start_server(None)  # the repo's limits.toml
    e2e: list[float] = []
    base: list[float] = []
    back_to_back: list[float] = []
    base_b2b: list[float] = []
    try:
        with httpx.Client(timeout=300) as client:
            for _ in range(5):
                warm = call_predict(server.url, body, client=client)
            for _ in range(args.requests):  # paced: each measurement, HTTP or in-process, after a pause
                time.sleep(PAUSE_SECONDS)
                t = time.perf_counter()
                answer = call_predict(server.url, body, client=client)
                e2e.append((time.perf_counter() - t) * 1000)
                time.sleep(PAUSE_SECONDS)
                base += in_process(workflow, 1)
            for _ in range(args.requests):  # back to back, both sides
                t = time.perf_counter()
                call_predict(server.url, body, client=client)
                back_to_back.append((time.perf_counter() - t) * 1000)
            base_b2b = in_process(workflow, args.requests)
        mem = memory(server.proc)
    finally:
        stop_server(server)
    cold = cold_start(body)
    status = (answer or {}).get("status")
    figures = {
        "requests": args.requests,
        "status": status,
        "warm_status": (warm or {}).get("status"),
        "http_median_ms": statistics.median(e2e),
        "http_p95_ms": sorted(e2e)[int(0.95 * (len(e2e) - 1))],
        "http_back_to_back_median_ms": statistics.median(back_to_back),
        "in_process_median_ms": statistics.median(base),
        "in_process_back_to_back_median_ms": statistics.median(base_b2b),
        "gap_ms": statistics.median(e2e) - statistics.median(base),
        "gap_back_to_back_ms": statistics.median(back_to_back) - statistics.median(base_b2b),
        "cold_start_s": cold,
        **mem,
    }
    missed = []
    if status != "completed":
        missed.append(f"the iris example did not complete: {status}")
    if figures["http_median_ms"] > TARGET_MEDIAN_MS:
        missed.append(f"median {figures['http_median_ms']:.0f} ms > {TARGET_MEDIAN_MS:.0f} ms")
    if figures["gap_ms"] > TARGET_GAP_MS:
        missed.append(f"gap {figures['gap_ms']:.0f} ms > {TARGET_GAP_MS:.0f} ms")
    if not cold <= TARGET_COLD_START_S:
        missed.append(f"cold start {cold:.1f} s > {TARGET_COLD_START_S} s")
    if figures["total_rss_mb"] > TARGET_RSS_MB:
        missed.append(f"parent + template RSS {figures['total_rss_mb']:.0f} MB > {TARGET_RSS_MB:.0f} MB")
    figures["missed"] = missed
    print(f"iris example, {args.requests} paced requests after 5 warm-up ones (result: {status})")
    print(f"{'':28}{'measured':>12}{'target':>12}")
    print(f"{'HTTP median (POST+SSE)':28}{figures['http_median_ms']:>10.1f}ms{'<= 300':>12}")
    print(f"{'HTTP p95':28}{figures['http_p95_ms']:>10.1f}ms{'':>12}")
    print(f"{'HTTP back-to-back median':28}{figures['http_back_to_back_median_ms']:>10.1f}ms{'':>12}")
    print(f"{'in-process median':28}{figures['in_process_median_ms']:>10.1f}ms{'':>12}")
    print(f"{'gap (HTTP - in-process)':28}{figures['gap_ms']:>10.1f}ms{'<= 30':>12}")
    print(f"{'in-process back-to-back':28}{figures['in_process_back_to_back_median_ms']:>10.1f}ms{'':>12}")
    print(f"{'gap back-to-back':28}{figures['gap_back_to_back_ms']:>10.1f}ms{'':>12}")
    print(f"{'HTTP / in-process':28}{figures['http_median_ms'] / figures['in_process_median_ms']:>11.2f}x{'':>12}")
    print(f"{'parent RSS (Gradio)':28}{mem['parent_rss_mb']:>10.0f}MB{'':>12}")
    print(f"{'template RSS':28}{mem['template_rss_mb']:>10.0f}MB{'':>12}")
    print(f"{'parent + template RSS':28}{mem['total_rss_mb']:>10.0f}MB{'<= 450':>12}")
    print(f"{'parent + template PSS':28}{mem['total_pss_mb']:>10.0f}MB{'':>12}")
    print(f"{'cold start to 1st predict':28}{cold:>11.2f}s{'<= 4.5':>12}")
    print("targets: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(figures, indent=2))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
