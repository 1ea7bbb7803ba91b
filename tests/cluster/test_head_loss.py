"""The cluster's head (its GCS and raylet) dies while the app serves: the app stays up and answers
every request with coded JSON (``cluster_unavailable``), then serves again once a head is back on
the same address. The app's Ray driver runs in a child process (service/cluster/driver.py): Ray
ends that process when its head or raylet is gone, never the app.

A cluster of its own (one node, the head), so the shared two-node cluster of test_ray_engine.py
is never touched."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from bench.loopback import Server, start_server, stop_server
from bench.ray_cluster import LocalCluster
from tests.app.conftest import backend_call, example, fault
from tests.app.test_api import OpenRequest, wait_for
from tests.cluster.conftest import (
    CLUSTER_TEST_SECONDS,
    READY_SECONDS,
    START_SECONDS,
    ray_limits,
    stop_cluster,
    wait_nodes_ready,
)

pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.network_server, pytest.mark.timeout(CLUSTER_TEST_SECONDS)]

RESTART_SECONDS = 2


@pytest.fixture(scope="module")
def head_cluster() -> Iterator[LocalCluster]:
    cluster = LocalCluster(nodes=1, cpus=1, memory_mb=1536).start()
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture(scope="module")
def head_server(head_cluster: LocalCluster) -> Iterator[Server]:
    server = start_server(ray_limits(head_cluster.address, restart_seconds=RESTART_SECONDS, gcs_timeout_seconds=3),
                          timeout=START_SECONDS)
    try:
        wait_nodes_ready(server, 1)
        yield server
    finally:
        stop_server(server)


def driver(server: Server) -> dict[str, Any]:
    return server.health()["cluster"]["driver"]


def test_a_dead_head_answers_cluster_unavailable_and_the_app_keeps_serving(
    head_server: Server, head_cluster: LocalCluster
) -> None:
    head_server.wait_idle()
    running = OpenRequest(head_server.url, fault("sleep", seconds=60))
    try:
        wait_for(lambda: sum(n["running"] for n in head_server.health()["cluster"]["nodes"]) == 1, timeout=60)
        port = int(head_cluster.address.rsplit(":", 1)[1])
        assert head_cluster.kill_all() > 0
        answer = running.result(timeout=120)  # answered by the app, whichever part saw the loss first
    finally:
        running.close()
    assert answer is not None and answer["status"] == "failed", answer
    assert answer["errorCode"] in ("cluster_unavailable", "node_lost"), answer
    assert "Traceback" not in answer["error"]

    # New requests, while the cluster is gone: one coded JSON answer each, and the app lives on
    wait_for(lambda: driver(head_server)["alive"] is False, timeout=120)
    for _ in range(3):
        refused = backend_call(head_server.url, example("iris_random_forest"))
        assert refused is not None and refused["status"] == "failed", refused
        assert refused["errorCode"] == "cluster_unavailable", refused
        assert "Traceback" not in refused["error"]
    assert head_server.proc.poll() is None
    health = head_server.health()
    assert health["cluster"]["reachable"] is False and health["status"] == "down"

    # A head back on the same address: the app's next driver process serves on it
    head_cluster.start_head(port)
    wait_nodes_ready(head_server, 1, timeout=READY_SECONDS)
    assert driver(head_server)["restarts"] >= 1
    deadline = time.monotonic() + 120
    while True:  # the first request may still meet the refusal of a state a moment old
        after = backend_call(head_server.url, example("iris_random_forest"))
        if after is not None and after.get("status") == "completed" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert after is not None and after["status"] == "completed", after
    assert head_server.proc.poll() is None
