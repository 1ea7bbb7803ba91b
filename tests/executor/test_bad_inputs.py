"""Bad inputs: each refused with its code and a message naming the node and the field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.executor import enginekit as kit

EVAL_ATTACK = "__import__('os').getpid() and (7,)"


def _cfg(node_id: str, **values: Any) -> Callable[[dict], None]:
    def mutate(wf: dict) -> None:
        kit.node(wf, node_id)["config"].update(values)
    return mutate


def _hp(**values: Any) -> Callable[[dict], None]:
    def mutate(wf: dict) -> None:
        kit.node(wf, "model-15")["config"]["hyperparameters"].update(values)
    return mutate


def _drop_nodes(kind: str) -> Callable[[dict], None]:
    def mutate(wf: dict) -> None:
        wf["nodes"] = [n for n in wf["nodes"] if n["type"] != kind]
        wf["edges"] = [e for e in wf["edges"] if kind not in e["source"] and kind not in e["target"]]
    return mutate


def _duplicate_id(wf: dict) -> None:
    wf["nodes"].append(copy.deepcopy(kit.node(wf, "evaluate-16")))


def _cycle(wf: dict) -> None:
    wf["edges"].append(kit.edge("model-15", "split-12"))


def _dangling_edge(wf: dict) -> None:
    wf["edges"].append(kit.edge("split-12", "model-99"))


def _fault(wf: dict) -> None:
    wf["nodes"].append({"id": "fault-1", "type": "fault", "config": {"kind": "sleep", "seconds": 0}})


def _bad_op(wf: dict) -> None:
    wf["nodes"].append({"id": "preprocessing-13", "type": "preprocessing",
                        "config": {"operations": [{"type": "fill_missing", "params": {"strategy": "average"}}]}})
    wf["edges"] = [e for e in wf["edges"] if e["target"] != "model-15"]
    wf["edges"] += [kit.edge("split-12", "preprocessing-13"), kit.edge("preprocessing-13", "model-15")]


CASES = [
    # (name, mutation, code, node, field fragment, message fragment)
    ("eval attack in hidden_layer_sizes", lambda wf: (_cfg("model-15", algorithm="neural_network")(wf),
                                                      _hp(hidden_layer_sizes=EVAL_ATTACK)(wf)),
     "invalid_workflow", "model-15", "hidden_layer_sizes", "hidden_layer_sizes"),
    ("unknown algorithm", _cfg("model-15", algorithm="gradient_magic"), "invalid_workflow", "model-15", "algorithm",
     "random_forest"),
    ("algorithm cannot do the problem type", _cfg("model-15", algorithm="linear_regression"), "invalid_workflow",
     "model-15", "algorithm", "cannot be used for classification"),
    ("negative n_estimators", _hp(n_estimators=-3), "invalid_workflow", "model-15", "n_estimators", ""),
    ("test_size out of range", _cfg("split-12", test_size=0), "invalid_workflow", "split-12", "test_size",
     "fraction"),
    ("seed is not a number", _cfg("split-12", random_seed="abc"), "invalid_workflow", "split-12", "random_seed", ""),
    ("missing target column", _cfg("dataset-11", target_column="pixel_0"), "dataset_error", "dataset-11",
     "target_column", "available: sepal length"),
    ("unknown sample dataset", _cfg("dataset-11", dataset_id="no-such-data"), "dataset_error", "dataset-11",
     "dataset_id", "no-such-data"),
    ("dataset without id, url or data", _cfg("dataset-11", dataset_id=None), "invalid_workflow", "dataset-11",
     "dataset_id", ""),
    ("no model node", _drop_nodes("model"), "invalid_workflow", None, "nodes", "no model node"),
    ("duplicate node ids", _duplicate_id, "invalid_workflow", "evaluate-16", "id", "duplicate node id"),
    ("cycle", _cycle, "invalid_workflow", "split-12", "edges", "cycle"),
    ("edge to a missing node", _dangling_edge, "invalid_workflow", None, "edges", "model-99"),
    ("fault node while faults are disabled", _fault, "invalid_workflow", "fault-1", "type", "fault_injection"),
    ("unknown preprocessing param value", _bad_op, "invalid_workflow", "preprocessing-13",
     "operations[0].params.strategy", "mean"),
    ("unknown node type", lambda wf: wf["nodes"].append({"id": "x-1", "type": "export", "config": {}}),
     "invalid_workflow", "x-1", "type", "Valid types"),
]


@pytest.mark.parametrize("name, mutate, code, node_id, field, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_code_node_and_field(name: str, mutate: Callable[[dict], Any], code: str,
                                                       node_id: str | None, field: str, fragment: str) -> None:
    wf = kit.example("iris_random_forest")
    mutate(wf)
    out = kit.run(wf)
    assert out["status"] == "failed"
    assert out["errorCode"] == code
    problems = out["errorDetails"]["problems"]
    assert any(p.get("nodeId") == node_id and field in (p.get("field") or "") for p in problems), problems
    if node_id:
        assert f"[{node_id}" in out["error"]
    assert fragment in out["error"]


def test_eval_attack_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from executor import EngineLimits, run_workflow
    from sandbox import JobContext

    events: list[dict] = []
    ctx = JobContext.local(on_event=events.append)
    calls: list[int] = []
    real = os.getpid
    monkeypatch.setattr(os, "getpid", lambda: calls.append(1) or real())
    wf = kit.example("iris_random_forest")
    _cfg("model-15", algorithm="neural_network")(wf)
    _hp(hidden_layer_sizes=EVAL_ATTACK)(wf)
    out = run_workflow(wf, limits=EngineLimits(), ctx=ctx)
    assert out["errorCode"] == "invalid_workflow"
    assert calls == [] and events == []  # no node started, nothing evaluated


def test_every_problem_is_reported_at_once() -> None:
    wf = kit.example("iris_random_forest")
    _cfg("split-12", test_size=7000)(wf)
    _hp(n_estimators="many")(wf)
    _cfg("evaluate-16", selected_metrics="accuracy")(wf)
    out = kit.run(wf)
    fields = sorted(p["field"] for p in out["errorDetails"]["problems"])
    assert out["errorCode"] == "invalid_workflow" and len(fields) == 3, fields
    assert "3 problems" in out["error"]


@pytest.mark.parametrize("payload, fragment", [
    ("{not json", "not valid JSON"),
    ([1, 2], "must be an object"),
    ({"nodes": []}, "no nodes"),
    ({"nodes": [{"type": "dataset"}]}, "nodes.0.id"),
])
def test_unreadable_payloads_are_invalid_workflow(payload: object, fragment: str) -> None:
    out = kit.run(payload)
    assert (out["status"], out["errorCode"]) == ("failed", "invalid_workflow")
    assert fragment in out["error"]
