"""The parent under a hostile mix: RSS, fds and /health latency before, during and after.

Starts ``python app.py`` on loopback with the shipped limits.toml and sends ``--requests`` requests
(default 200) from 4 clients, cycling through:

* ``iris``       a normal workflow (a ~80 KB result with plots and a model);
* ``echo``       2,500 unknown preprocessing ops under a 7,000-character node id (an unbounded
                 error answer was 38.6 MB);
* ``literal``    a 4 MB non-JSON body ``{1:[0,0,...]}`` (once handed to ``ast.literal_eval``);
* ``nested``     a valid workflow carrying ~3 MB of small objects;
* ``file``       a file event naming ``/proc/self/environ``, ``/dev/zero`` or a host CSV;
* ``upload``     a 1 MB CSV through Gradio's upload route;
* ``flood``      200 idle connections held for 2 s, then closed;
* ``slowloris``  20 connections trickling a request head.

Meanwhile a thread polls ``/health`` every 0.1 s. Prints the parent's RSS and fd count at idle,
at their peak and after, the worst ``/health`` latency, and the codes seen. Targets (issue 9):
RSS growth ≤ 50 MB over the mix, ``/health`` under 1 s throughout.

Run: ``python bench/bench_hostile.py [--requests N] [--json FILE]``. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loopback import ROOT, call_predict, start_server, stop_server  # noqa: E402

IRIS = (ROOT / "examples" / "iris_random_forest.json").read_text()


def _echo() -> str:
    workflow = json.loads(IRIS)
    workflow["nodes"].append({"id": "n" * 7000, "type": "preprocessing",
                              "config": {"operations": [{"type": f"unknown_op_{i}"} for i in range(2500)]}})
    return json.dumps(workflow)


def _nested() -> str:
    workflow = json.loads(IRIS)
    workflow["notes"] = "@@"
    return json.dumps(workflow).replace('"@@"', "[" + ",".join(['{"a":{}}'] * 350_000) + "]")


BODIES = {"iris": IRIS, "echo": _echo(), "literal": "{1:[" + "0," * 2_097_000 + "]}", "nested": _nested()}


def _predict(url: str, kind: str) -> str:
    answer = call_predict(url, BODIES[kind], timeout=300)
    if answer is None:
        return "no-answer"
    return str(answer.get("errorCode") or answer.get("status"))


def _file_event(url: str, path: str) -> str:
    config = httpx.get(f"{url}/config", timeout=30).json()
    components = {c["id"]: c for c in config["components"]}
    for index, dep in enumerate(config["dependencies"]):
        positions = [i for i, cid in enumerate(dep["inputs"]) if components[cid].get("type") == "file"]
        if not positions:
            continue
        data = [{"path": path, "meta": {"_type": "gradio.FileData"}} if i in positions
                else components[cid].get("props", {}).get("value") for i, cid in enumerate(dep["inputs"])]
        body = {"data": data, "fn_index": dep.get("id", index), "session_hash": uuid.uuid4().hex[:10]}
        return f"http_{httpx.post(f'{url}/gradio_api/queue/join', json=body, timeout=30).status_code}"
    return "no-file-event"


def _upload(url: str) -> str:
    csv = "a,b,c\n" + "1,2,3\n" * 170_000
    response = httpx.post(f"{url}/gradio_api/upload", files={"files": ("data.csv", csv.encode(), "text/csv")}, timeout=60)
    return f"http_{response.status_code}"


def _flood(port: int, n: int = 200) -> str:
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
    time.sleep(2)
    for sock in sockets:
        sock.close()
    return "flood"


def _slowloris(port: int, n: int = 20) -> str:
    sockets = []
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        sockets.append(sock)
    for _ in range(3):
        time.sleep(1)
        for sock in sockets:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                pass
    for sock in sockets:
        sock.close()
    return "slowloris"


class Watch(threading.Thread):
    def __init__(self, url: str, pid: int) -> None:
        super().__init__(daemon=True)
        self.url, self.proc = url, psutil.Process(pid)
        self.worst_health = 0.0
        self.health_failures = 0
        self.peak_rss = 0.0
        self.peak_fds = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                httpx.get(f"{self.url}/health", timeout=10).raise_for_status()
            except httpx.HTTPError:
                self.health_failures += 1
            self.worst_health = max(self.worst_health, time.monotonic() - started)
            self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss / 2**20)
            self.peak_fds = max(self.peak_fds, self.proc.num_fds())
            self.stop.wait(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    host_csv = Path(tempfile.mkdtemp(prefix="hostile-")) / "host.csv"
    host_csv.write_text("SecretColumn,Other\n1,2\n")
    server = start_server((ROOT / "limits.toml").read_text())
    port = int(server.url.rsplit(":", 1)[1])
    parent = psutil.Process(server.proc.pid)
    try:
        for _ in range(3):  # warm: first requests allocate Gradio's and the service's caches
            _predict(server.url, "iris")
        time.sleep(1)
        rss0, fds0 = parent.memory_info().rss / 2**20, parent.num_fds()
        kinds = ["iris", "echo", "literal", "nested", "file:/proc/self/environ", "file:/dev/zero",
                 f"file:{host_csv}", "upload", "flood", "slowloris"]
        plan = [kinds[i % len(kinds)] for i in range(args.requests)]

        def one(kind: str) -> str:
            if kind.startswith("file:"):
                return "file " + _file_event(server.url, kind[5:])
            if kind == "upload":
                return "upload " + _upload(server.url)
            if kind == "flood":
                return _flood(port)
            if kind == "slowloris":
                return _slowloris(port)
            return f"{kind} {_predict(server.url, kind)}"

        watch = Watch(server.url, server.proc.pid)
        watch.start()
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            codes = Counter(pool.map(one, plan))
        elapsed = time.monotonic() - started
        time.sleep(2)
        watch.stop.set()
        watch.join()
        rss1, fds1 = parent.memory_info().rss / 2**20, parent.num_fds()
        final = _predict(server.url, "iris")
    finally:
        stop_server(server)

    figures = {
        "requests": args.requests,
        "seconds": round(elapsed, 1),
        "parent_rss_idle_mb": round(rss0, 1),
        "parent_rss_peak_mb": round(watch.peak_rss, 1),
        "parent_rss_after_mb": round(rss1, 1),
        "parent_rss_growth_mb": round(rss1 - rss0, 1),
        "parent_fds_idle": fds0,
        "parent_fds_peak": watch.peak_fds,
        "parent_fds_after": fds1,
        "health_worst_s": round(watch.worst_health, 3),
        "health_failures": watch.health_failures,
        "iris_after": final,
        "codes": dict(sorted(codes.items())),
    }
    print(f"hostile mix: {args.requests} requests from 4 clients in {elapsed:.1f} s (only 127.0.0.1)")
    print(f"{'':24}{'idle':>10}{'peak':>10}{'after':>10}")
    print(f"{'parent RSS (MB)':24}{rss0:>10.1f}{watch.peak_rss:>10.1f}{rss1:>10.1f}   growth {rss1 - rss0:+.1f} MB (target ≤ 50)")
    print(f"{'parent fds':24}{fds0:>10}{watch.peak_fds:>10}{fds1:>10}")
    print(f"/health worst latency: {watch.worst_health * 1000:.0f} ms (target < 1000 ms), failures: {watch.health_failures}")
    print(f"iris after the mix: {final}")
    print("answers:")
    for code, n in sorted(codes.items()):
        print(f"  {n:4}  {code}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
