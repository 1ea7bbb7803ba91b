"""A real Ray cluster on this machine for tests/cluster and bench/bench_ray.py: ``ray start --head`` plus more nodes.

Each node is its own raylet (``ray start --address``), as on separate machines; all of them use
one temp dir of their own and free ports, so two runs on one machine never meet. :meth:`stop`
ends exactly the processes of this cluster (every process whose command line names its temp dir,
and their descendants), never other Ray processes on the machine (``ray stop`` would).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.loopback import free_port

__all__ = ["LocalCluster"]

_MB = 1 << 20
_RAY = f"{os.sep}ray{os.sep}"
"""In the path of every Ray program (raylet, gcs_server, the Python ones under site-packages/ray)."""


def _program(cmd: list[str]) -> tuple[str, str]:
    """The executable and the script it runs (``python -u …/ray/_private/log_monitor.py``: the
    first argument that is not an option), which for Ray's own programs lie under ``…/ray/``."""
    return cmd[0], next((part for part in cmd[1:] if not part.startswith("-")), "")


def _ray_cli() -> list[str]:
    return [sys.executable, "-m", "ray.scripts.scripts"]


_REGISTER_SECONDS = 300
"""How long a worker process of the test cluster may take to register with its raylet."""


@dataclass
class LocalCluster:
    """``nodes`` nodes of ``cpus`` CPUs and ``memory_mb`` of Ray memory each (the first is the head)."""

    nodes: int = 2
    cpus: int = 1
    memory_mb: int = 1536
    object_store_mb: int = 80
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rc-", dir="/tmp")))
    address: str = ""

    def env(self) -> dict[str, str]:
        # A raylet kills a worker process (an actor's, a task's) that has not registered within
        # worker_register_timeout_seconds (Ray's default: 60 s) and starts another: on a machine
        # loaded past its CPUs the Python start-up alone can take that long, and no sandbox actor
        # would ever come up. The test cluster gives them as long as a server start may take.
        return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_IMPORT_WARNING": "1",
                "RAY_worker_register_timeout_seconds": str(_REGISTER_SECONDS)}

    def _common(self) -> list[str]:
        return [f"--num-cpus={self.cpus}", f"--memory={self.memory_mb * _MB}",
                f"--object-store-memory={self.object_store_mb * _MB}", "--node-ip-address=127.0.0.1",
                "--disable-usage-stats", f"--dashboard-agent-listen-port={free_port()}",
                f"--metrics-export-port={free_port()}", "--min-worker-port=0", "--max-worker-port=0"]

    def start(self) -> LocalCluster:
        try:
            self.start_head(free_port())
            for _ in range(self.nodes - 1):
                self.add_node()
        except BaseException:
            self.stop()
            raise
        return self

    def start_head(self, port: int) -> None:
        """``ray start --head`` on ``port`` (again, after :meth:`kill_all`: the same address)."""
        before = len(self.raylets())
        self._start_node(["start", "--head", f"--port={port}", f"--temp-dir={self.root}", "--include-dashboard=false",
                          f"--dashboard-port={free_port()}", *self._common()], before + 1)
        self.address = f"127.0.0.1:{port}"

    def kill_all(self) -> int:
        """SIGKILL every process of this cluster at once (the head's GCS and raylet included), as a
        machine that dies would; the temp dir stays. Returns how many were killed."""
        procs = self.processes()
        for proc in procs:
            try:
                proc.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=10)
        return len(procs)

    def available_resources(self) -> dict[str, float]:
        """``ray.available_resources()`` of the cluster, asked from a driver process of its own (never
        this process: a test process that became a Ray driver would die with the cluster's head)."""
        code = ("import json, logging, sys, ray; ray.init(address=sys.argv[1], log_to_driver=False, "
                "logging_level=logging.ERROR); print(json.dumps(ray.available_resources()))")
        out = subprocess.run([sys.executable, "-c", code, self.address], env=self.env(), capture_output=True, text=True,
                             timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"ray.available_resources() failed:\n{out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def add_node(self) -> None:
        self._start_node(["start", f"--address={self.address}", *self._common()], len(self.raylets()) + 1)

    def _start_node(self, args: list[str], raylets: int) -> None:
        try:
            self._run(args)
        except RuntimeError as exc:
            # `ray start` gives a node 30 s (hard-coded) to register with the GCS; on a busy machine
            # its raylet may register later: keep it if its raylet runs (the app's readiness wait
            # then says whether it registered), as the same node would on a server
            if "timed out during startup" not in str(exc) or not self._wait_raylets(raylets, 120):
                raise

    def _wait_raylets(self, count: int, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if len(self.raylets()) >= count:
                return True
            time.sleep(1)
        return False

    def _run(self, args: list[str]) -> None:
        out = subprocess.run([*_ray_cli(), *args], env=self.env(), capture_output=True, text=True, timeout=180)
        if out.returncode != 0:
            raise RuntimeError(f"ray {' '.join(args[:2])} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")

    def processes(self) -> list[psutil.Process]:
        """Every live process of this cluster (raylets, GCS, agents, workers, actors)."""
        root = str(self.root)
        mine = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
        found: dict[int, psutil.Process] = {}
        for proc in psutil.process_iter(["cmdline"]):
            try:
                cmd = proc.info["cmdline"] or ()
                # Ray's own programs only (a shell or script naming the dir is not the cluster's)
                if proc.pid not in mine and any(root in part for part in cmd) and any(_RAY in part for part in _program(cmd)):
                    found[proc.pid] = proc
                    for child in proc.children(recursive=True):
                        found[child.pid] = child
            except psutil.Error:
                continue
        return list(found.values())

    def raylets(self) -> list[tuple[str, bool, psutil.Process]]:
        """Every live raylet of this cluster: (its node id, whether it is the head's, its process)."""
        out = []
        for proc in self.processes():
            try:
                cmd = proc.cmdline()
            except psutil.Error:
                continue
            if cmd and cmd[0].endswith("raylet"):
                node = next((part.split("=", 1)[1] for part in cmd if part.startswith("--node_id=")), "")
                out.append((node, "--head" in cmd, proc))
        return out

    def stop(self) -> None:
        """SIGTERM then SIGKILL every process of this cluster; remove its temp dir."""
        for _ in range(3):
            procs = self.processes()
            if not procs:
                break
            for proc in procs:
                try:
                    proc.terminate()
                except psutil.Error:
                    pass
            _, alive = psutil.wait_procs(procs, timeout=5)
            for proc in alive:
                try:
                    proc.kill()
                except psutil.Error:
                    pass
            psutil.wait_procs(alive, timeout=5)
            time.sleep(0.2)
        shutil.rmtree(self.root, ignore_errors=True)
