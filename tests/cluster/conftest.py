"""A real Ray cluster on this machine (two nodes) and ``python app.py`` serving from it.

``ray_cluster``: ``ray start --head`` plus one ``ray start --address`` node, 1 CPU and 1.5 GB of
Ray memory each, in a temp dir of their own; every process of it is ended at the end of the
session (bench/ray_cluster.py), never another Ray on the machine. ``ray_server``: the
app with ``[cluster] engine = "ray"`` on it, fault injection on, ready once both nodes' sandboxes
have passed their self-check. Both are skipped when ray is not installed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psutil
import pytest

from bench.loopback import Server, start_server, stop_server
from bench.ray_cluster import LocalCluster
from tests.servers import shipped_limits

NODES = 2
RAY_JOB = {"wall_clock_seconds": 45, "cpu_seconds": 30, "memory_mb": 400, "threads": 1}
"""One CPU and 400 MB a job: each 1-CPU node holds one job. 45 s of wall clock: an iris job or a
fork bomb's stop took over 15 s under three CPU hogs; the sleeps that hold a node sleep longer."""
RAY_CLUSTER = {"sandbox_memory_mb": 512, "refresh_seconds": 1, "answer_grace_seconds": 15, "cancel_seconds": 15}
READY_SECONDS = 600
"""Both nodes' sandboxes (template, warm-up, self-check) start side by side on a busy machine (under
three CPU hogs and a full suite on 2 CPUs, past 300 s); a quiet machine takes well under a minute."""

START_SECONDS = READY_SECONDS + 120
"""How long the app may take to serve: it waits for a ready node first ([cluster] node_ready_seconds)."""

CLUSTER_TEST_SECONDS = 1500
"""pytest-timeout for a cluster test: its setup starts a cluster, an app and every node's sandbox."""


def ray_limits(address: str, **cluster: object) -> str:
    return shipped_limits(
        job=RAY_JOB,
        queue={"request_deadline_seconds": 60},
        testing={"fault_injection": True},
        guards={"template_start_seconds": READY_SECONDS},
        cluster={"engine": "ray", "address": address, "node_ready_seconds": READY_SECONDS, **RAY_CLUSTER, **cluster},
    )


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[LocalCluster]:
    pytest.importorskip("ray")
    cluster = LocalCluster(nodes=NODES, cpus=1, memory_mb=1536).start()
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


def stop_cluster(cluster: LocalCluster) -> None:
    """Stop ``cluster`` and check that no process naming its dir is left (Ray's monitors run as
    ``python -u …/monitor.py``: the cluster's own scan once missed them)."""
    cluster.stop()
    root = str(cluster.root)
    left = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if proc.pid != os.getpid() and any(root in part for part in proc.info["cmdline"] or ()):
                left.append(" ".join(proc.info["cmdline"])[:200])
                proc.kill()
        except psutil.Error:
            continue
    assert not left, f"processes of the test cluster left after its stop: {left}"


@pytest.fixture(scope="session")
def ray_server(ray_cluster: LocalCluster) -> Iterator[Server]:
    server = start_server(ray_limits(ray_cluster.address), timeout=START_SECONDS)
    try:
        wait_nodes_ready(server, NODES)
        yield server
    finally:
        stop_server(server)


def wait_nodes_ready(server: Server, count: int, timeout: float = READY_SECONDS) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        health = server.health()
        nodes = (health.get("cluster") or {}).get("nodes") or []
        if sum(n["state"] == "ready" for n in nodes) >= count:
            return health
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} ready nodes expected: {nodes}")
        time.sleep(0.5)
