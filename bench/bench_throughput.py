"""Throughput, CPU per request and memory: the worker over HTTP vs two unisolated worker processes.

Run: ``python bench/bench_throughput.py [--per-client 20] [--json out.json]``. Both arms run the
same mix, in one run, one after the other on the same machine:

- ``worker``: ``python app.py`` (the repo's limits.toml) on loopback; 4 clients send 20 requests
  each (POST /call/predict + SSE, as the platform does), round-robin over the mix;
- ``in-process``: the same 80 workflows run by two warm, unisolated worker processes (what this
  2-CPU machine can run at once: no isolation, no HTTP), fed by the same 4 clients.

The mix: the iris example (random forest), XGBoost on breast cancer, linear regression on
diabetes. Prints requests per second and the ratio (target >= 0.85), the CPU seconds per request
of each arm and the ratio (target <= 1.10: everything the worker's processes spent, the parent,
the template, runners and job children, over everything the two workers spent), and the memory:
the total PSS of every process of the worker at idle (target <= 350 MB) and its parent's RSS
before and after the load (target: flat).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loopback import ROOT, call_predict, start_server, stop_server  # noqa: E402

CLIENTS = 4
_MB = 1 << 20


def mix() -> list[dict[str, Any]]:
    """The three workflows of the mix, as the platform sends them."""
    iris = json.loads((ROOT / "examples" / "iris_random_forest.json").read_text())
    xgb = json.loads((ROOT / "examples" / "xgboost_classification.json").read_text())
    for node in xgb["nodes"]:
        if node["type"] == "dataset":
            node["config"].update(dataset_id="breast_cancer", dataset_name="Breast Cancer", target_column="target")
    linear = json.loads((ROOT / "examples" / "linear_regression_regression.json").read_text())
    return [iris, xgb, linear]


# -- the in-process arm: two warm worker processes ---------------------------------------------

_STATE: dict[str, Any] = {}


def _worker_init(threads: int) -> None:
    from executor.limits import EngineLimits
    from executor.runner import run_workflow
    from sandbox import JobContext

    _STATE.update(run=run_workflow, limits=EngineLimits(),
                  ctx=JobContext.local(threads=threads, tmpdir=tempfile.mkdtemp(prefix="bench-tp-")))
    for workflow in mix():  # warm: imports and first calls
        run_workflow(workflow, limits=_STATE["limits"], ctx=_STATE["ctx"])


def _worker_run(workflow: dict[str, Any]) -> str:
    out = _STATE["run"](workflow, limits=_STATE["limits"], ctx=_STATE["ctx"])
    return str(out.get("status"))


def _worker_cpu(_: int) -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


def in_process_arm(per_client: int, threads: int) -> dict[str, Any]:
    workflows = mix()
    with ProcessPoolExecutor(2, initializer=_worker_init, initargs=(threads,)) as pool:
        for _ in range(4):  # both workers up and warm
            pool.submit(_worker_run, workflows[0]).result()
        procs = [psutil.Process(p) for p in pool._processes]  # noqa: SLF001 - the pool's own workers
        cpu0 = sum(p.cpu_times().user + p.cpu_times().system for p in procs)

        def client(i: int) -> list[str]:
            return [pool.submit(_worker_run, workflows[(i + k) % 3]).result() for k in range(per_client)]

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as clients:
            statuses = [s for batch in clients.map(client, range(CLIENTS)) for s in batch]
        wall = time.perf_counter() - started
        cpu = sum(p.cpu_times().user + p.cpu_times().system for p in procs) - cpu0
    return {"requests": len(statuses), "completed": statuses.count("completed"), "seconds": wall,
            "rps": len(statuses) / wall, "cpu_per_request": cpu / len(statuses)}


# -- the worker arm ----------------------------------------------------------------------------

def _tree_cpu(parent: psutil.Process) -> float:
    """CPU seconds of the parent and every descendant, the reaped ones included (each process's
    children_* times hold the descendants it waited for)."""
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def _tree_pss(parent: psutil.Process) -> tuple[float, dict[str, float]]:
    by_kind: dict[str, float] = {}
    direct = {p.pid for p in parent.children()}  # the template; runners and job children are its forks
    for proc in [parent, *parent.children(recursive=True)]:
        try:
            pss = proc.memory_full_info().pss / _MB
        except psutil.Error:
            continue
        kind = "parent" if proc.pid == parent.pid else ("template" if proc.pid in direct else "spare runner + child")
        by_kind[kind] = by_kind.get(kind, 0.0) + pss
    return sum(by_kind.values()), by_kind


def worker_arm(per_client: int) -> dict[str, Any]:
    bodies = [json.dumps(w) for w in mix()]
    server = start_server(None)
    try:
        parent = psutil.Process(server.proc.pid)
        with httpx.Client(timeout=300) as client:
            for body in bodies * 2:  # warm
                call_predict(server.url, body, client=client)
        time.sleep(2.0)  # idle: the next spare is forked and waiting
        pss_idle, pss_kinds = _tree_pss(parent)
        rss_before = parent.memory_info().rss / _MB
        cpu0 = _tree_cpu(parent)

        def client_run(i: int) -> list[str]:
            with httpx.Client(timeout=300) as http:
                return [str((call_predict(server.url, bodies[(i + k) % 3], client=http) or {}).get("status"))
                        for k in range(per_client)]

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as clients:
            statuses = [s for batch in clients.map(client_run, range(CLIENTS)) for s in batch]
        wall = time.perf_counter() - started
        time.sleep(1.0)  # the last runners reaped
        cpu = _tree_cpu(parent) - cpu0
        rss_after = parent.memory_info().rss / _MB
    finally:
        stop_server(server)
    return {"requests": len(statuses), "completed": statuses.count("completed"), "seconds": wall,
            "rps": len(statuses) / wall, "cpu_per_request": cpu / len(statuses), "pss_idle_mb": pss_idle,
            "pss_by_process": pss_kinds, "parent_rss_before_mb": rss_before, "parent_rss_after_mb": rss_after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-client", type=int, default=20)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    from service.config import load_settings

    threads = load_settings().job.threads or len(psutil.Process().cpu_affinity() or [0, 1])
    worker = worker_arm(args.per_client)
    local = in_process_arm(args.per_client, threads)
    figures = {"clients": CLIENTS, "per_client": args.per_client, "threads": threads, "worker": worker,
               "in_process": local, "rps_ratio": worker["rps"] / local["rps"],
               "cpu_ratio": worker["cpu_per_request"] / local["cpu_per_request"]}
    print(f"{CLIENTS} clients x {args.per_client} mixed requests (iris RF, breast-cancer XGBoost, diabetes linear)")
    print(f"  {'':34s}{'worker (HTTP)':>16s}{'2 unisolated':>16s}{'ratio':>9s}{'target':>10s}")
    print(f"  {'completed':34s}{worker['completed']:>16d}{local['completed']:>16d}")
    print(f"  {'requests / s':34s}{worker['rps']:>16.2f}{local['rps']:>16.2f}{figures['rps_ratio']:>9.2f}{'>= 0.85':>10s}")
    print(f"  {'CPU seconds / request':34s}{worker['cpu_per_request']:>16.3f}{local['cpu_per_request']:>16.3f}"
          f"{figures['cpu_ratio']:>9.2f}{'<= 1.10':>10s}")
    kinds = ", ".join(f"{k} {v:.0f}" for k, v in worker["pss_by_process"].items())
    print(f"  worker PSS at idle, every process: {worker['pss_idle_mb']:.0f} MB ({kinds}); target <= 350 MB")
    print(f"  parent RSS before / after the load: {worker['parent_rss_before_mb']:.0f} / "
          f"{worker['parent_rss_after_mb']:.0f} MB (target: flat)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
