"""No hyperparameter or config value is ever evaluated as code.

Guard: ``eval`` (the engine parses values, never evaluates them). Each attack string, if it were
evaluated, creates a marker file; the tests assert the marker never appears and the answer is a
coded failure or a success that ran nothing. ``--sabotage=eval`` gives the engine the original
worker's habit (``hidden_layer_sizes``, ``batch_size`` and every constrained hyperparameter go
through ``eval`` first, and so does every string of the workflow), so every marker appears.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz.envelope import check_envelope
from tests.security.sabotage import apply_in_process

ATTACKS = {
    "contract": "__import__('pathlib').Path({m!r}).touch() or (7,)",
    "lambda": "(lambda: __import__('pathlib').Path({m!r}).touch())() or (100,)",
    "list": "[__import__('pathlib').Path({m!r}).touch() or 5][0]",
    "exec": 'exec("import pathlib; pathlib.Path({m!r}).touch()") or (7,)',
    "builtins": "__builtins__['__import__']('pathlib').Path({m!r}).touch() or (7,)"
    if isinstance(__builtins__, dict)
    else "__import__('builtins').__import__('pathlib').Path({m!r}).touch() or (7,)",
}
"""Python expressions (the original worker passed hidden_layer_sizes to eval)."""

SHELL = ["$(touch {m})", "`touch {m}`", "; touch {m}", "| touch {m}", "{{{{ touch {m} }}}}"]
"""Shell and template metacharacters: nothing should ever run them either."""


def _wf(hyper: dict[str, Any], algorithm: str = "neural_network") -> dict[str, Any]:
    return {
        "nodes": [
            {
                "id": "dataset-1",
                "type": "dataset",
                "config": {
                    "dataset_id": "iris",
                    "is_sample": True,
                    "target_column": "target",
                    "problem_type": "classification",
                },
            },
            {"id": "split-2", "type": "split", "config": {"test_size": 0.2, "random_seed": 1}},
            {"id": "model-3", "type": "model", "config": {"algorithm": algorithm, "hyperparameters": hyper}},
            {"id": "evaluate-4", "type": "evaluate", "config": {"selected_metrics": ["accuracy"]}},
        ],
        "edges": [
            {"id": "e1", "source": "dataset-1", "target": "split-2"},
            {"id": "e2", "source": "split-2", "target": "model-3"},
            {"id": "e3", "source": "model-3", "target": "evaluate-4"},
        ],
    }


def run_in_process(workflow: Any, sabotage: str | None, tmp_path: Path) -> dict[str, Any]:
    from executor.entry import run
    from sandbox import JobContext
    from service.config import Settings

    apply_in_process(sabotage)
    ctx = JobContext.local(tmpdir=tmp_path / "job")
    (tmp_path / "job").mkdir(exist_ok=True)
    payload = {
        "workflow": workflow,
        "limits": Settings().engine_limits(),
        "fault_injection": False,
        "request_id": "deny",
    }
    return run(payload, ctx)


def _markers(marker_dir: Path) -> list[str]:
    return sorted(p.name for p in marker_dir.iterdir())


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_deny_eval_hidden_layer_sizes_attack_runs_nothing(
    attack: str, marker_dir: Path, tmp_path: Path, sabotage: str | None
) -> None:
    marker = marker_dir / f"hls-{attack}"
    answer = run_in_process(
        _wf({"hidden_layer_sizes": ATTACKS[attack].format(m=str(marker)), "max_iter": 5}), sabotage, tmp_path
    )
    assert _markers(marker_dir) == [], f"the attack string was evaluated: {_markers(marker_dir)}"
    check_envelope(answer)
    assert answer["status"] == "failed" and answer["errorCode"] == "invalid_workflow", answer
    assert "hidden_layer_sizes" in answer["error"], answer["error"]


def test_deny_eval_batch_size_attack_runs_nothing(
    marker_dir: Path, tmp_path: Path, sabotage: str | None
) -> None:
    attack = "__import__('pathlib').Path({m!r}).touch() or 32".format(m=str(marker_dir / "batch"))
    answer = run_in_process(_wf({"batch_size": attack, "max_iter": 5}), sabotage, tmp_path)
    assert _markers(marker_dir) == [], f"the attack string was evaluated: {_markers(marker_dir)}"
    check_envelope(answer)


def _algorithm_params() -> dict[str, list[str]]:
    from executor.algorithms import algorithm_names, get_algorithm

    return {name: list(get_algorithm(name).parameter_names()) for name in algorithm_names()}


ALGORITHMS = [
    "decision_tree",
    "kmeans",
    "knn",
    "linear_regression",
    "logistic_regression",
    "naive_bayes",
    "neural_network",
    "random_forest",
    "svm",
    "xgboost",
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_deny_eval_every_hyperparameter_of_every_algorithm_runs_nothing(
    algorithm: str, marker_dir: Path, tmp_path: Path, sabotage: str | None
) -> None:
    """Every declared hyperparameter gets an attack string that would still be a valid value if evaluated."""
    names = _algorithm_params()[algorithm]
    hyper = {n: f"__import__('pathlib').Path({str(marker_dir / n)!r}).touch()" for n in names}
    answer = run_in_process(_wf(hyper, algorithm), sabotage, tmp_path)
    assert _markers(marker_dir) == [], f"hyperparameters evaluated as code: {_markers(marker_dir)}"
    check_envelope(answer)


def _every_string(workflow: Any, marker_dir: Path) -> tuple[Any, int]:
    """Replace every string value (not keys) of the workflow by an attack naming its own marker."""
    count = 0

    def walk(obj: Any, path: str) -> Any:
        nonlocal count
        if isinstance(obj, dict):
            return {k: walk(v, f"{path}.{k}") for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(obj)]
        if isinstance(obj, str):
            count += 1
            name = "m" + "".join(c if c.isalnum() else "_" for c in path)
            return f"__import__('pathlib').Path({str(marker_dir / name)!r}).touch()"
        return obj

    return walk(workflow, ""), count


def _full_workflow() -> dict[str, Any]:
    wf = _wf({"hidden_layer_sizes": "(8,)", "activation": "relu", "solver": "adam", "batch_size": "auto"})
    wf["nodes"].insert(
        1,
        {
            "id": "preprocessing-5",
            "type": "preprocessing",
            "config": {
                "operations": [
                    {"type": "fill_missing", "params": {"strategy": "mean", "columns": "all_numeric"}},
                    {"type": "scale_standard", "params": {"columns": "all_numeric"}},
                ]
            },
        },
    )
    wf["nodes"].append(
        {"id": "visualize-6", "type": "visualize", "config": {"selected_plots": ["confusion_matrix"]}}
    )
    wf["nodes"][0]["config"].update({"dataset_name": "Iris", "dataset_url": "http://example.invalid/x.csv"})
    wf["edges"] = [
        {"id": "e0", "source": "dataset-1", "target": "preprocessing-5"},
        {"id": "e1", "source": "preprocessing-5", "target": "split-2"},
        {"id": "e2", "source": "split-2", "target": "model-3"},
        {"id": "e3", "source": "model-3", "target": "evaluate-4"},
        {"id": "e4", "source": "model-3", "target": "visualize-6"},
    ]
    return wf


def test_deny_eval_every_string_in_the_workflow_runs_nothing(
    marker_dir: Path, tmp_path: Path, sabotage: str | None
) -> None:
    """Ids, dataset id/name/url, target, problem type, op types and params, metrics, plots, algorithm..."""
    workflow, count = _every_string(_full_workflow(), marker_dir)
    assert count > 25
    answer = run_in_process(workflow, sabotage, tmp_path)
    assert _markers(marker_dir) == [], f"workflow strings evaluated as code: {_markers(marker_dir)}"
    check_envelope(answer)
    assert answer["status"] == "failed", answer


@pytest.mark.parametrize("template", SHELL)
def test_shell_metacharacters_in_config_values_run_nothing(
    template: str, marker_dir: Path, tmp_path: Path
) -> None:
    """Not a sabotage-checked deny test: no product path runs a shell, so there is no guard to turn off."""
    value = template.format(m=str(marker_dir / "shell"))
    wf = _wf({"hidden_layer_sizes": value, "solver": value, "batch_size": value})
    wf["nodes"][0]["config"]["dataset_id"] = value
    answer = run_in_process(wf, None, tmp_path)
    assert _markers(marker_dir) == []
    check_envelope(answer)


@pytest.mark.slow  # starts a sandbox
def test_deny_eval_attack_through_the_sandbox_runs_nothing(marker_dir: Path, sabotage: str | None) -> None:
    """The same attack in a real sandbox child (the sabotage is applied inside the child)."""
    from sandbox import GuardLimits, JobLimits, Sandbox
    from service.config import Settings

    marker = marker_dir / "sandboxed"
    wf = _wf({"hidden_layer_sizes": ATTACKS["contract"].format(m=str(marker)), "max_iter": 5})
    payload = {
        "workflow": wf,
        "limits": Settings().engine_limits(),
        "fault_injection": False,
        "request_id": "deny",
        "sabotage": sabotage,
    }
    limits = JobLimits(wall_clock_seconds=60, cpu_seconds=60, memory_mb=512, threads=1)
    # Confinement (guard `confine`, with deny tests of its own) would refuse the marker's write and
    # hide an evaluation: off here, so this test proves the eval guard alone (the HTTP test's server
    # turns it off under --sabotage=eval: tests/servers.py).
    with Sandbox(limits, GuardLimits(landlock_fs="off"), preload=["numpy", "pandas", "sklearn"]) as sb:
        outcome = sb.run("tests.security.targets:engine", payload)
    assert _markers(marker_dir) == [], "the attack string was evaluated inside the sandbox child"
    assert outcome.ok, outcome.to_dict()
    check_envelope(outcome.value)
    assert outcome.value["errorCode"] == "invalid_workflow", outcome.value


@pytest.mark.slow
@pytest.mark.network_server
def test_deny_eval_attack_over_http_runs_nothing(security_server: str, marker_dir: Path) -> None:
    from bench.loopback import call_predict

    marker = marker_dir / "http"
    wf = _wf({"hidden_layer_sizes": ATTACKS["contract"].format(m=str(marker)), "max_iter": 5})
    answer = call_predict(security_server, json.dumps(wf), timeout=120)
    assert _markers(marker_dir) == [], "the attack string was evaluated by the server's job"
    assert answer is not None
    check_envelope(answer)
    assert answer["errorCode"] == "invalid_workflow", answer
