"""The sandbox's warm-up for the engine: a tiny workflow the template runs once, before it forks.

Without it, every job child would pay every first call itself: sample loading, the first fit and
predict, scorers, the first figure drawn and its text laid out, the model file. The template
runs :func:`run` once after its imports, with every thread pool capped at one thread (a process
that forks must start no thread: sandbox/warmup.py checks), so every job child forked from it
starts with those costs paid and no request pays for readiness work. What it leaves behind is the
same for every job (caches, loaded modules); a job's results do not depend on it (every
estimator is seeded).
"""

from __future__ import annotations

import tempfile
from typing import Any

__all__ = ["WORKFLOW", "run"]


def _node(nid: str, ntype: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"id": nid, "type": ntype, "config": config, "position": None}


def _edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"xy-edge__{source}-{target}", "source": source, "target": target,
            "source_handle": None, "target_handle": None}


WORKFLOW: dict[str, Any] = {
    "nodes": [
        _node("dataset-1", "dataset", {"dataset_id": "iris", "is_sample": True, "target_column": "target",
                                       "problem_type": "classification"}),
        _node("split-2", "split", {"test_size": 0.2, "random_seed": 0}),
        _node("model-3", "model", {"algorithm": "random_forest",
                                   "hyperparameters": {"n_estimators": 4, "random_state": 0}}),
        _node("evaluate-4", "evaluate", {"selected_metrics": ["accuracy", "precision", "recall", "f1", "roc_auc"]}),
        _node("visualize-5", "visualize", {"selected_plots": ["confusion_matrix"]}),
    ],
    "edges": [
        _edge("dataset-1", "split-2"),
        _edge("split-2", "model-3"),
        _edge("model-3", "evaluate-4"),
        _edge("model-3", "visualize-5"),
    ],
}
"""A small model on a bundled sample, scored and drawn once: most first-call costs (the first fit,
scorers, the first figure's fonts and text) for a small fraction of a job's time."""


def run() -> None:
    """Run :data:`WORKFLOW` once in this process, in the temp dir the sandbox gives its warm-up."""
    from executor.limits import EngineLimits
    from executor.runner import run_workflow
    from sandbox import JobContext

    run_workflow(WORKFLOW, limits=EngineLimits(), ctx=JobContext.local(threads=1, tmpdir=tempfile.gettempdir()))
