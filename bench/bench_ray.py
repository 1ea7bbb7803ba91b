"""The Ray engine against the local one: throughput, latency percentiles, and what Ray adds per request.

Run: ``python bench/bench_ray.py [--per-client 20] [--iris 15] [--json out.json]``. Three arms, one
after the other, each a fresh ``python app.py`` on loopback with the same ``[job]`` limits (1
thread, 640 MB a job):

- ``local``: the local engine, 2 jobs at once (this machine's 2 CPUs);
- ``ray 1 node``: ``engine = "ray"`` on a local cluster of one node of 2 CPUs / 2 GB (2 jobs);
- ``ray 2 nodes``: two such nodes (4 jobs declared on this machine's 2 real CPUs: the figure shows
  what Ray's scheduling costs, not what a second machine would add; docs/scale-out.md extrapolates).

Each arm: 4 clients x ``per-client`` requests of the throughput bench's mix (iris RF,
breast-cancer XGBoost, diabetes linear; POST /call/predict + SSE as the platform does), requests/s
and p50/p95 latency; then ``iris`` sequential iris requests from one client, whose median over the
local arm's is the per-request overhead of Ray (target < 50 ms).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_throughput import CLIENTS, mix  # noqa: E402
from bench.loopback import call_predict, start_server, stop_server  # noqa: E402
from bench.ray_cluster import LocalCluster  # noqa: E402

TARGET_OVERHEAD_MS = 50.0
JOB = {"threads": 1}
NODE_CPUS = 2
NODE_MEMORY_MB = 2048


def _limits(cluster: dict[str, Any] | None) -> str:
    from tests.servers import shipped_limits

    return shipped_limits(job=JOB, queue={"max_concurrent_jobs": 2}, cluster=cluster or {})


def _timed(url: str, body: str, client: httpx.Client) -> tuple[float, str]:
    started = time.perf_counter()
    answer = call_predict(url, body, client=client) or {}
    return time.perf_counter() - started, str(answer.get("status"))


def measure(url: str, per_client: int, iris_n: int) -> dict[str, Any]:
    bodies = [json.dumps(w) for w in mix()]
    with httpx.Client(timeout=300) as client:
        for body in bodies * 2:  # warm every node's template path
            call_predict(url, body, client=client)

    def client_run(i: int) -> list[tuple[float, str]]:
        with httpx.Client(timeout=300) as http:
            return [_timed(url, bodies[(i + k) % 3], http) for k in range(per_client)]

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as clients:
        runs = [r for batch in clients.map(client_run, range(CLIENTS)) for r in batch]
    wall = time.perf_counter() - started
    times = sorted(t for t, _ in runs)
    with httpx.Client(timeout=300) as client:
        iris = [_timed(url, bodies[0], client)[0] for _ in range(iris_n)]
    return {
        "requests": len(runs), "completed": sum(s == "completed" for _, s in runs), "seconds": wall,
        "rps": len(runs) / wall, "p50_ms": 1000 * statistics.median(times),
        "p95_ms": 1000 * times[min(len(times) - 1, int(0.95 * len(times)))],
        "iris_median_ms": 1000 * statistics.median(iris),
    }


def arm(nodes: int, per_client: int, iris_n: int) -> dict[str, Any]:
    cluster = LocalCluster(nodes=nodes, cpus=NODE_CPUS, memory_mb=NODE_MEMORY_MB).start() if nodes else None
    try:
        ray = {"engine": "ray", "address": cluster.address, "refresh_seconds": 1} if cluster else None
        server = start_server(_limits(ray))
        try:
            deadline = time.monotonic() + 300
            while ray and sum(n["state"] == "ready" for n in server.health()["cluster"]["nodes"]) < nodes:
                if time.monotonic() > deadline:
                    raise RuntimeError("the cluster's nodes did not get ready")
                time.sleep(0.5)
            return {**measure(server.url, per_client, iris_n), "capacity": server.health()["jobs"]["maxConcurrent"]}
        finally:
            stop_server(server)
    finally:
        if cluster is not None:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-client", type=int, default=20)
    parser.add_argument("--iris", type=int, default=15)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    arms = {name: arm(nodes, args.per_client, args.iris)
            for name, nodes in (("local", 0), ("ray 1 node", 1), ("ray 2 nodes", 2))}
    overhead = arms["ray 1 node"]["iris_median_ms"] - arms["local"]["iris_median_ms"]
    figures = {"clients": CLIENTS, "per_client": args.per_client, "arms": arms, "ray_overhead_ms": overhead}
    print(f"{CLIENTS} clients x {args.per_client} mixed requests (iris RF, breast-cancer XGBoost, diabetes linear); "
          f"nodes of {NODE_CPUS} CPUs / {NODE_MEMORY_MB} MB, [job] threads = 1")
    print(f"  {'':28s}" + "".join(f"{name:>14s}" for name in arms))
    rows = [("jobs at once", "capacity", "{:d}"), ("completed", "completed", "{:d}"), ("requests / s", "rps", "{:.2f}"),
            ("p50 latency, ms", "p50_ms", "{:.0f}"), ("p95 latency, ms", "p95_ms", "{:.0f}"),
            ("iris alone, median ms", "iris_median_ms", "{:.0f}")]
    for label, key, fmt in rows:
        print(f"  {label:28s}" + "".join(f"{fmt.format(a[key]):>14s}" for a in arms.values()))
    print(f"  Ray's overhead per request (iris, 1 node - local): {overhead:+.0f} ms; target < {TARGET_OVERHEAD_MS:.0f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
