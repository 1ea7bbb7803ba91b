"""The platform backend's exchange against ``python app.py`` with ``[cluster] engine = "ray"`` on a
real two-node Ray cluster: the same answers and codes as the local engine, cancellation across the
cluster, a node lost mid-job. The node-loss test kills a node and runs last."""

from __future__ import annotations

from typing import Any

import psutil
import pytest

from bench.ray_cluster import LocalCluster
from sandbox.linux import job_process_name
from tests.app.conftest import backend_call, example, fault
from tests.app.test_api import OpenRequest, wait_for
from tests.cluster.conftest import CLUSTER_TEST_SECONDS, NODES, RAY_JOB

pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.network_server, pytest.mark.timeout(CLUSTER_TEST_SECONDS)]


def job_processes(request_id: str) -> list[psutil.Process]:
    """Live (not zombie) processes of a job, by the name every process of it carries."""
    name = job_process_name(request_id)
    out = []
    for proc in psutil.process_iter(["name", "status"]):
        if proc.info["name"] == name and proc.info["status"] != psutil.STATUS_ZOMBIE:
            out.append(proc)
    return out


def new_record(server: Any, before: set[str], code: str) -> dict[str, Any] | None:
    return next((r for r in server.log_records() if r["requestId"] not in before and r["code"] == code), None)


def cluster_nodes(server: Any) -> list[dict[str, Any]]:
    return server.health()["cluster"]["nodes"]


def test_the_backend_exchange_returns_a_completed_iris_result_from_a_node(ray_server: Any) -> None:
    answer = backend_call(ray_server.url, example("iris_random_forest"))
    assert answer is not None
    assert answer["status"] == "completed", answer
    assert answer["results"]["algorithm"] == "random_forest"
    assert {m["key"] for m in answer["results"]["metrics"]} >= {"accuracy", "f1"}


@pytest.mark.parametrize(
    ("body", "code", "limit"),
    [
        (fault("allocate", mb=2000), "memory_exceeded", "memory_mb"),
        (fault("sleep", seconds=120), "timeout", "wall_clock_seconds"),
        (fault("segfault"), "crashed", None),
        (fault("fork_bomb", seconds=1), "process_limit_exceeded", "max_processes"),
    ],
    ids=["allocate", "sleep", "segfault", "fork_bomb"],
)
def test_a_fault_gets_the_same_code_as_on_the_local_engine(ray_server: Any, body: str, code: str,
                                                            limit: str | None) -> None:
    ray_server.wait_idle()
    before = {r["requestId"] for r in ray_server.log_records()}
    answer = backend_call(ray_server.url, body)
    assert answer is not None
    assert answer["status"] == "failed" and answer["errorCode"] == code, answer
    assert "usage" in answer["errorDetails"]
    assert (answer["errorDetails"].get("limit") or {}).get("name") == limit
    assert "Traceback" not in answer["error"]
    record = new_record(ray_server, before, code)
    assert record is not None
    wait_for(lambda: not job_processes(record["requestId"]))


def test_health_shows_the_engine_and_every_node_with_its_guards_and_capacity(ray_server: Any) -> None:
    ray_server.wait_idle()
    health = ray_server.health()
    assert health["engine"] == "ray"
    assert health["status"] == "ok", health.get("selfCheck")
    cluster = health["cluster"]
    assert cluster["capacity"] == NODES and health["jobs"]["maxConcurrent"] == NODES
    assert cluster["request"]["cpus"] == RAY_JOB["threads"] and cluster["request"]["memoryMb"] == RAY_JOB["memory_mb"]
    assert len(cluster["nodes"]) == NODES
    for node in cluster["nodes"]:
        assert node["state"] == "ready" and node["templateAlive"] is True
        assert node["niceness"] == 0  # Ray starts workers at 15; the actor (root here) resets it for its jobs
        assert node["selfCheck"]["ok"] is True and node["selfCheck"]["probes"] > 0
        assert node["slots"] == 1 and node["running"] == 0
    assert health["limits"]["cluster"]["engine"] == "ray"


def test_jobs_run_on_both_nodes_at_once_and_a_third_waits(ray_server: Any) -> None:
    """Ray places one 1-CPU job per 1-CPU node: two sleeps run, one on each node, the third waits."""
    ray_server.wait_idle()
    requests = [OpenRequest(ray_server.url, fault("sleep", seconds=60)) for _ in range(NODES)]
    try:
        wait_for(lambda: [n["running"] for n in cluster_nodes(ray_server)] == [1] * NODES, timeout=60)
        waiting = OpenRequest(ray_server.url, fault("sleep", seconds=0.1))
        wait_for(lambda: ray_server.health()["jobs"]["waiting"] == 1)
    finally:
        for request in requests:
            request.close()
    answer = waiting.result(timeout=60)
    waiting.close()
    assert answer is not None and answer["status"] == "completed", answer
    ray_server.wait_idle()


def test_a_running_job_holds_its_cpus_in_ray_while_it_runs(ray_server: Any, ray_cluster: LocalCluster) -> None:
    """Ray counts a running job's [job] threads CPUs as taken for as long as it runs: the run_job
    task never blocks its main thread in ray.get / ray.wait (Ray would hand its CPUs back)."""
    ray_server.wait_idle()
    total = float(NODES * ray_cluster.cpus)
    request = OpenRequest(ray_server.url, fault("sleep", seconds=60))
    try:
        wait_for(lambda: sum(n["running"] for n in cluster_nodes(ray_server)) == 1, timeout=60)
        # Ray's resource view lags the raylets by a moment: look until it shows the job, then again
        wait_for(lambda: ray_cluster.available_resources().get("CPU", 0.0) <= total - RAY_JOB["threads"], timeout=90)
        assert sum(n["running"] for n in cluster_nodes(ray_server)) == 1
        assert ray_cluster.available_resources().get("CPU", 0.0) <= total - RAY_JOB["threads"]
    finally:
        request.close()
    ray_server.wait_idle()


def test_a_client_that_disconnects_cancels_the_remote_job(ray_server: Any) -> None:
    ray_server.wait_idle()
    before = {r["requestId"] for r in ray_server.log_records()}
    request = OpenRequest(ray_server.url, fault("sleep", seconds=60))
    wait_for(lambda: sum(n["running"] for n in cluster_nodes(ray_server)) == 1, timeout=60)
    request.close()
    wait_for(lambda: new_record(ray_server, before, "cancelled") is not None, timeout=30)
    record = new_record(ray_server, before, "cancelled")
    assert record is not None and record["pids"], record
    for pid in record["pids"]:  # the node's runner and job child (this machine is every node)
        if psutil.pid_exists(pid):
            assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not job_processes(record["requestId"])
    ray_server.wait_idle()


def test_a_lost_node_answers_node_lost_and_the_next_request_runs_on_the_survivor(
    ray_server: Any, ray_cluster: LocalCluster
) -> None:
    """Both nodes run a job; the worker node's raylet is killed: its job is answered ``node_lost``
    and leaves no process; the head's job is cancelled; the next request completes on the head."""
    ray_server.wait_idle()
    before = {r["requestId"] for r in ray_server.log_records()}
    requests = [OpenRequest(ray_server.url, fault("sleep", seconds=60)) for _ in range(NODES)]
    try:
        wait_for(lambda: [n["running"] for n in cluster_nodes(ray_server)] == [1] * NODES, timeout=60)
        node_id, _, raylet = next(r for r in ray_cluster.raylets() if not r[1])
        raylet.kill()
        wait_for(lambda: any(r.answer is not None for r in requests), timeout=60)
    finally:
        for request in requests:
            request.close()
    answers = [r.answer for r in requests if r.answer is not None]
    assert [a["errorCode"] for a in answers] == ["node_lost"], answers
    assert node_id[:8] in answers[0]["error"] and "Traceback" not in answers[0]["error"]
    lost = new_record(ray_server, before, "node_lost")
    assert lost is not None
    wait_for(lambda: not job_processes(lost["requestId"]), timeout=30)
    ray_server.wait_idle(timeout=60)
    wait_for(lambda: {n["nodeId"]: n["state"] for n in cluster_nodes(ray_server)}[node_id[:8]] == "lost")
    assert ray_server.health()["cluster"]["capacity"] == NODES - 1
    after = backend_call(ray_server.url, example("iris_random_forest"))
    assert after is not None and after["status"] == "completed", after
