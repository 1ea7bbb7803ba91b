"""The cluster engine's pure parts, no cluster: capacity arithmetic, the Ray error map, refusals,
the outcome's wire form, and a clear start-up error without the ray package."""

from __future__ import annotations

import sys

import pytest

from sandbox import LimitDetail, Outcome, Usage
from sandbox.limits import JobLimits
from service.cluster import ClusterStartError, JobRequest, classify, jobs_per_node
from service.cluster.errors import start_cause
from service.cluster.wire import outcome_from_wire, outcome_to_wire
from service.codes import CLUSTER_CODES, CODES
from service.config import ClusterSettings, Settings

GB = 1 << 30
MB = 1 << 20


@pytest.mark.parametrize(
    ("resources", "threads", "memory_mb", "reserve_mb", "jobs"),
    [
        ({"CPU": 2, "memory": 2 * GB}, 1, 640, 512, 2),  # memory: (2048 - 512) // 640 = 2
        ({"CPU": 2, "memory": 2 * GB}, 2, 640, 512, 1),  # CPU: 2 // 2
        ({"CPU": 8, "memory": 2 * GB}, 1, 640, 512, 2),  # memory decides
        ({"CPU": 1, "memory": 1 * GB}, 1, 640, 512, 0),  # 640 MB does not fit beside 512
        ({"CPU": 4, "memory": 1 * GB}, 1, 0, 512, 4),  # memory_mb = 0: CPUs only
        ({"CPU": 0, "memory": 8 * GB}, 1, 640, 512, 0),  # a head with no CPUs runs no job
        ({}, 1, 640, 0, 0),
    ],
    ids=["two-by-memory", "one-by-cpu", "memory-decides", "no-fit", "no-memory-limit", "cpu-less-head", "empty"],
)
def test_a_node_holds_as_many_jobs_as_its_cpus_and_memory_allow(resources: dict, threads: int, memory_mb: int,
                                                                reserve_mb: int, jobs: int) -> None:
    settings = Settings(job=JobLimits(threads=threads, memory_mb=memory_mb),
                        cluster=ClusterSettings(sandbox_memory_mb=reserve_mb))
    request = JobRequest.of(settings)
    assert (request.cpus, request.memory_bytes) == (threads, memory_mb * MB)
    assert jobs_per_node(resources, request) == jobs


class NodeDiedError(Exception):
    pass


class ActorDiedError(Exception):
    pass


class TaskCancelledError(Exception):
    pass


class RaySystemError(Exception):
    pass


class RayTaskError(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__("Traceback (most recent call last): ...")
        self.cause = cause


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (NodeDiedError("Task failed because the node... Traceback"), "node_lost"),
        (ActorDiedError("The actor died unexpectedly"), "node_lost"),
        (RayTaskError(ActorDiedError("x")), "node_lost"),
        (TaskCancelledError("x"), "cancelled"),
        (RaySystemError("GCS down"), "cluster_unavailable"),
        (KeyError("who knows"), "internal_error"),
    ],
    ids=["node-died", "actor-died", "wrapped", "cancelled", "system", "other"],
)
def test_a_ray_error_becomes_a_code_and_a_sentence_without_its_text(exc: BaseException, code: str) -> None:
    got, sentence = classify(exc, "abcd1234")
    assert got == code
    assert "Traceback" not in sentence and str(exc) not in sentence
    assert got in CODES


RAY_CREATION_TEXT = (
    "The actor died because of an error raised in its creation task, \x1b[36mray::sandbox-4d:NodeSandbox.__init__()"
    "\x1b[39m (pid=6483, ip=192.0.2.2)\n  File \"/work/main/sandbox/template.py\", line 77, in _start_locked\n"
    "    raise TemplateError(\nsandbox.errors.TemplateError: the template did not become ready within 120.0 s "
    "(exit code -9)"
)


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (ActorDiedError(RAY_CREATION_TEXT),
         "TemplateError: the template did not become ready within 120.0 s (exit code -9)"),
        (ActorDiedError("The actor died unexpectedly before finishing this task."), "ActorDiedError"),
        (ActorDiedError(""), "ActorDiedError"),
        (ActorDiedError("x\nValueError: " + "v" * 5000), "ValueError: " + "v" * 200),
    ],
    ids=["template-timeout", "no-cause", "empty", "long-cause"],
)
def test_a_sandbox_that_cannot_start_is_named_by_its_cause_without_the_traceback(exc: BaseException,
                                                                                 cause: str) -> None:
    assert start_cause(exc) == cause


def test_every_cluster_code_is_documented_in_the_table_and_the_readme() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for code in CLUSTER_CODES:
        assert CODES[code].source == "cluster"
        assert f"| `{code}` |" in readme


def test_an_outcome_crosses_the_wire_as_plain_data_unchanged() -> None:
    done = Outcome(True, "j1", {"status": "completed", "results": {"a": 1}})
    failed = Outcome(False, "j2", code="timeout", message="ran out", usage=Usage(wall_seconds=1.5, limit_hit="wall_clock_seconds"),
                     log_tail="tail", pids=(3, 4), limit=LimitDetail("wall_clock_seconds", 15, "s"))
    for out in (done, failed):
        wire = outcome_to_wire(out)
        assert {type(v).__name__ for v in wire.values()} <= {"bool", "str", "dict", "list", "bytes", "NoneType"}
        back = outcome_from_wire(wire)
        assert back.to_dict() == out.to_dict() and back.result == out.result and back.limit == out.limit


def test_the_ray_engine_without_ray_installed_stops_start_up_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.worker import Worker

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    monkeypatch.delitem(sys.modules, "service.cluster.ray_engine", raising=False)
    worker = Worker(Settings(cluster=ClusterSettings(engine="ray")), self_check=False)
    with pytest.raises(ClusterStartError, match="requirements-ray.txt"):
        worker.start()
    assert worker.sandbox is None


@pytest.mark.parametrize(
    ("states", "code"),
    [
        ([("failed", 0)], "cluster_no_fit"),
        ([("failed", 0), ("failed", 0)], "cluster_no_fit"),
        ([("starting", 1)], "cluster_unavailable"),
        ([("lost", 1)], "cluster_unavailable"),
        ([], "cluster_unavailable"),
        ([("ready", 1), ("lost", 1)], None),
    ],
    ids=["one-too-small", "all-too-small", "starting", "lost", "no-node", "one-ready"],
)
def test_a_cluster_that_cannot_run_a_job_refuses_with_its_code(states: list[tuple[str, int]], code: str | None) -> None:
    pytest.importorskip("ray")
    from service.cluster.node import NodeSetup
    from service.cluster.ray_engine import NodeEntry, RayCluster

    settings = Settings(job=JobLimits(threads=1), cluster=ClusterSettings(engine="ray"))
    cluster = RayCluster(NodeSetup(settings), target="executor.entry:run", on_capacity=lambda n: None)
    for i, (state, slots) in enumerate(states):
        cluster._nodes[f"node{i}"] = NodeEntry(f"node{i}", "10.0.0.1", {"CPU": 1}, slots, state=state)
    refused = cluster.refusal()
    assert (refused[0] if refused else None) == code
    if refused:
        assert refused[1].endswith(".") and refused[1][0].isupper()
