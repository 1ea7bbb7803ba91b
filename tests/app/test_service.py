"""Service pieces in-process: request checks, admission, envelopes, the UI catalog vs the engine."""

from __future__ import annotations

import asyncio
import json

import pytest

from sandbox import ErrorCode, Outcome, Usage
from sandbox.limits import JobLimits
from service import catalog
from service.admission import Admission, Busy
from service.codes import CODES
from service.config import RequestLimits
from service.render import render
from service.request import RequestError, decode_request, parse_request, summarize
from service.results import from_outcome

CAPS = RequestLimits(max_request_kb=4, max_nodes=3, max_depth=6)
WORKFLOW = {"nodes": [{"id": "d", "type": "dataset", "config": {"dataset_id": "iris"}}], "edges": []}


@pytest.mark.parametrize(
    "raw",
    [json.dumps(WORKFLOW), WORKFLOW, json.dumps(json.dumps(WORKFLOW)), {"workflow": WORKFLOW},
     json.dumps({"workflow": json.dumps(WORKFLOW)}).encode()],
    ids=["text", "object", "double-encoded", "wrapped", "wrapped-text-bytes"],
)
def test_every_accepted_shape_gives_the_same_workflow(raw: object) -> None:
    assert decode_request(raw, CAPS) == WORKFLOW
    parsed = parse_request(raw, CAPS)
    assert json.loads(parsed.body) == WORKFLOW  # the parent keeps compact bytes, not objects
    assert parsed.summary["types"] == ["dataset"]


@pytest.mark.parametrize(
    ("raw", "limit"),
    [
        ("x" * 5000, "max_request_kb"),
        (json.dumps({"nodes": [{"id": str(i), "type": "model"} for i in range(4)]}), "max_nodes"),
        (json.dumps({"nodes": [{"a": [[[[[[1]]]]]]}]}), "max_depth"),
        ("[" * 100_000 + "]" * 100_000, "max_request_kb"),
        ("[" * 1000 + "]" * 1000, "max_depth"),
        ('{"nodes": [' + ",".join(["0"] * 1000) + "]}", "max_json_values"),
        ('{"nodes": [{}], "x": [' + ",".join(["{}"] * 600) + "]}", "max_json_values"),
        ('{"nodes": [{"id": "' + "y" * 3000 + '"}]}', "max_string_kb"),
        (json.dumps(json.dumps({"nodes": [[[[[[[1]]]]]]]})), "max_depth"),  # caps apply inside a double encoding
    ],
)
def test_over_cap_requests_name_their_limit(raw: str, limit: str) -> None:
    caps = RequestLimits(max_request_kb=4, max_nodes=3, max_depth=6, max_json_values=500, max_string_kb=2)
    with pytest.raises(RequestError) as info:
        parse_request(raw, caps)
    assert info.value.limit is not None and info.value.limit["name"] == limit
    assert limit in str(info.value)


@pytest.mark.parametrize(
    "raw",
    ["{'nodes': __import__('os').getpid()}", str(WORKFLOW), "{1:[" + "0," * 1000 + "]}"],
    ids=["attack", "python-repr", "literal-eval-bomb"],
)
def test_only_json_is_read_never_a_python_literal(raw: str) -> None:
    with pytest.raises(RequestError, match="not valid JSON|JSON values"):
        parse_request(raw, RequestLimits())


def test_summary_names_types_algorithms_and_datasets() -> None:
    wf = {"nodes": [{"id": "d", "type": "dataset", "config": {"dataset_id": "iris"}},
                    {"id": "m", "type": "model", "config": {"algorithm": "svm"}}]}
    assert summarize(wf) == {"nodes": 2, "types": ["dataset", "model"], "algorithms": ["svm"], "datasets": ["iris"]}


def test_admission_grants_queues_then_refuses_and_hands_slots_in_order() -> None:
    async def scenario() -> list[str]:
        adm = Admission(1, 1)
        assert await adm.acquire(1) is True
        waiter = asyncio.create_task(adm.acquire(5))
        await asyncio.sleep(0.01)
        assert adm.waiting == 1
        with pytest.raises(Busy):
            await adm.acquire(5)
        adm.release()
        assert await waiter is True
        assert adm.running == 1
        expired = asyncio.create_task(adm.acquire(0.05))
        assert await expired is False
        assert adm.waiting == 0
        adm.release()
        return [str(adm.running)]

    assert asyncio.run(scenario()) == ["0"]


def test_a_cancelled_waiter_keeps_no_slot() -> None:
    async def scenario() -> int:
        adm = Admission(1, 2)
        await adm.acquire(1)
        waiter = asyncio.create_task(adm.acquire(5))
        await asyncio.sleep(0.01)
        waiter.cancel()
        await asyncio.sleep(0.01)
        adm.release()
        return adm.running + adm.waiting

    assert asyncio.run(scenario()) == 0


@pytest.mark.parametrize(("slots", "new", "granted", "running_after"), [
    # (slots, all taken; resized to; waiters (of 3) granted at once; running then)
    (1, 3, 2, 3),   # two new slots: the two oldest waiters take them, the third keeps waiting
    (1, 8, 3, 4),   # more slots than waiters: every waiter runs, the rest stay in the pool
    (2, 1, 0, 2),   # fewer: nobody is stopped, nobody new starts
    (2, 2, 0, 2),
])
def test_admission_resize_hands_new_slots_to_the_oldest_waiters(slots: int, new: int, granted: int,
                                                                running_after: int) -> None:
    async def scenario() -> tuple[list[bool], int, int]:
        adm = Admission(slots, 3)
        for _ in range(slots):
            assert await adm.acquire(1) is True
        waiters = [asyncio.create_task(adm.acquire(5)) for _ in range(3)]
        await asyncio.sleep(0.01)
        adm.resize(new)
        await asyncio.sleep(0.01)
        done = [w.done() for w in waiters]
        running = adm.running
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        return done, running, adm.max_running

    done, running, max_running = asyncio.run(scenario())
    assert done == [True] * granted + [False] * (3 - granted)
    assert (running, max_running) == (running_after, new)


def test_a_sandbox_failure_becomes_a_self_contained_coded_envelope() -> None:
    out = Outcome(ok=False, job_id="j1", code=ErrorCode.MEMORY_EXCEEDED.value, message="the job used 700 MB",
                  usage=Usage(peak_memory_mb=700, limit_hit="memory_mb"), log_tail="MemoryError")
    env = from_outcome(out, JobLimits(memory_mb=640))
    assert env["status"] == "failed" and env["errorCode"] == "memory_exceeded"
    assert "memory_mb = 640 MB" in env["error"]
    assert env["errorDetails"]["limit"] == {"name": "memory_mb", "value": 640, "unit": "MB"}
    assert env["errorDetails"]["logTail"] == "MemoryError"
    assert env["errorDetails"]["usage"]["peak_memory_mb"] == 700


def test_an_engine_failure_keeps_its_envelope_and_gains_usage() -> None:
    value = {"status": "failed", "error": "[m] bad", "errorCode": "invalid_workflow", "errorDetails": {"nodeId": "m"}}
    env = from_outcome(Outcome(ok=True, job_id="j", value=value), JobLimits())
    assert env["errorCode"] == "invalid_workflow" and env["errorDetails"]["nodeId"] == "m"
    assert "usage" in env["errorDetails"]


def test_every_sandbox_code_is_documented() -> None:
    assert {c.value for c in ErrorCode} <= set(CODES)
    assert {"invalid_request", "busy", "deadline_exceeded", "invalid_workflow", "dataset_error"} <= set(CODES)


def test_a_failure_renders_as_a_readable_panel() -> None:
    text = json.dumps({"status": "failed", "error": "boom", "errorCode": "crashed",
                       "errorDetails": {"usage": {"signal": "SIGSEGV"}, "logTail": "tail", "nodeId": "model-3"}})
    view = render(text, None)
    assert not view.ok
    assert "crashed" in view.summary and "boom" in view.summary.lower()
    assert "model-3" in view.details and "tail" in view.details and "SIGSEGV" in view.details  # ids and usage: details


def test_the_ui_catalog_matches_the_engine_registries() -> None:
    from executor.algorithms import ALGORITHMS
    from executor.metrics import metric_names
    from executor.plots import plot_names

    assert set(catalog.ALGORITHMS) == set(ALGORITHMS)
    for slug, (name, types) in catalog.ALGORITHMS.items():
        assert name == ALGORITHMS[slug].name
        assert set(types) == set(ALGORITHMS[slug].problem_types)
    assert {m for ms in catalog.METRICS.values() for m in ms} <= set(metric_names())
    assert {p for ps in catalog.PLOTS.values() for p in ps} <= set(plot_names())


def test_quick_train_builds_a_connected_workflow_for_each_problem_type() -> None:
    for problem in catalog.PROBLEM_TYPES:
        algo = next(s for s, (_, types) in catalog.ALGORITHMS.items() if problem in types)
        wf = catalog.quick_workflow(dataset_id="iris", csv_text=None, target="target", problem_type=problem,
                                    algorithm=algo, metrics=catalog.METRICS[problem][:2], plots=catalog.PLOTS[problem][:1])
        ids = [n["id"] for n in wf["nodes"]]
        assert [(e["source"], e["target"]) for e in wf["edges"]] == list(zip(ids, ids[1:], strict=False))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"nodes": [{"id": "d", "config": {"rows": 123456789012345678901234567890}}]}, "cannot be passed on"),
        ({"nodes": [{"id": "\ud800"}]}, "cannot be passed on"),
        ('{"nodes": [{"id": "\ud800", "type": "dataset"}]}', "unpaired UTF-16 surrogate"),  # as Gradio hands it on
        ('{"nodes": [{"id": "\\ud800", "type": "dataset"}]}', "not valid JSON"),  # the escape in the text
    ],
    ids=["big-int-object", "lone-surrogate-object", "lone-surrogate-str", "lone-surrogate-escape"],
)
def test_values_the_child_cannot_receive_are_an_invalid_request(raw: object, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        parse_request(raw, CAPS)


def test_a_guard_failing_its_self_check_makes_health_degraded() -> None:
    from service.config import Settings
    from service.status import health_report
    from service.worker import Worker

    class _LiveSandbox:  # health only reads the sandbox's status
        def status(self) -> dict:
            return {"template": {"alive": True}, "layers": [], "container": {}, "calibrated": {}}

    worker = Worker(Settings(), self_check=False)
    worker.sandbox = _LiveSandbox()  # type: ignore[assignment]
    worker.self_check = [{"name": "memory", "expected": "memory_exceeded", "got": None, "ok": False, "detail": "no"}]
    health = health_report(worker)
    assert health["status"] == "degraded"
    assert health["selfCheck"] == {"ok": False, "failing": ["memory"], "probes": worker.self_check}
    worker.self_check = [{**worker.self_check[0], "ok": True, "got": "memory_exceeded"}]
    assert health_report(worker)["status"] == "ok"


@pytest.mark.parametrize(
    ("warm_up", "target", "expected"),
    [
        (True, "executor.entry:run", "executor.warmup:run"),
        (False, "executor.entry:run", ""),
        (True, "sandbox.faults:target", ""),  # the engine's warm-up is for the engine only
    ],
)
def test_queue_warm_up_switches_the_engine_warm_up(warm_up: bool, target: str, expected: str) -> None:
    from service.config import QueueLimits, Settings
    from service.worker import ENGINE_TARGET, Worker

    assert ENGINE_TARGET == "executor.entry:run"
    worker = Worker(Settings(queue=QueueLimits(warm_up=warm_up)), target=target, self_check=False)
    assert worker.warmup == expected
