"""Helpers for the engine tests: example workflows, a local run, small workflow builders."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from executor import EngineLimits, run_workflow
from sandbox import JobContext

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str) -> dict[str, Any]:
    """A workflow from ``examples/`` (a fresh copy)."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.json"))


def run(workflow: Any, *, threads: int = 1, fault_injection: bool = False, limits: EngineLimits | None = None,
        events: list[dict[str, Any]] | None = None, tmpdir: Path | None = None) -> dict[str, Any]:
    ctx = JobContext.local(threads=threads, fault_injection=fault_injection, tmpdir=tmpdir,
                           on_event=events.append if events is not None else None)
    return run_workflow(workflow, limits=limits or EngineLimits(), ctx=ctx)


def node(workflow: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in workflow["nodes"] if n["id"] == node_id)


def edge(a: str, b: str) -> dict[str, Any]:
    return {"id": f"xy-edge__{a}-{b}", "source": a, "target": b, "source_handle": None, "target_handle": None}


def inline_workflow(records: list[dict[str, Any]] | str, target: str | None, problem_type: str | None,
                    *, algorithm: str = "random_forest", ops: list[dict[str, Any]] | None = None,
                    split: dict[str, Any] | None = None, hyperparameters: dict[str, Any] | None = None,
                    metrics: list[str] | None = None, model_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """dataset(inline) → [preprocessing] → [split] → model → evaluate, wired with edges."""
    nodes = [{"id": "dataset-1", "type": "dataset",
              "config": {"dataset_id": "inline", "is_sample": False, "data": copy.deepcopy(records),
                         "target_column": target, "problem_type": problem_type}}]
    chain = ["dataset-1"]
    if ops is not None:
        nodes.append({"id": "preprocessing-2", "type": "preprocessing", "config": {"operations": ops}})
        chain.append("preprocessing-2")
    if split is not None:
        nodes.append({"id": "split-3", "type": "split", "config": split})
        chain.append("split-3")
    nodes.append({"id": "model-4", "type": "model",
                  "config": {"algorithm": algorithm, "hyperparameters": hyperparameters or {},
                             **(model_extra or {})}})
    chain.append("model-4")
    nodes.append({"id": "evaluate-5", "type": "evaluate", "config": {"selected_metrics": metrics or []}})
    chain.append("evaluate-5")
    return {"nodes": nodes, "edges": [edge(a, b) for a, b in zip(chain, chain[1:], strict=False)]}


def titanic_like(n: int = 120, seed: int = 0) -> list[dict[str, Any]]:
    """Mixed-type records with missing values and a string label."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        age = float(rng.integers(1, 80)) if rng.random() > 0.2 else None
        sex = "male" if rng.random() > 0.5 else "female"
        fare = float(np.round(rng.exponential(30), 2))
        survived = "yes" if (sex == "female") ^ (rng.random() < 0.2) else "no"
        rows.append({"Name": f"Person {i}", "Sex": sex, "Age": age, "Fare": fare,
                     "Embarked": rng.choice(["S", "C", "Q", None]), "Survived": survived})
    return rows
