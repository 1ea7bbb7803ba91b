"""Engine depth benchmark: the largest sample, random forest, 5-fold CV and every plot, in the sandbox.

Run: ``python bench/bench_depth.py [--json out.json]``. The workflow runs through the real sandbox
under the default limits of limits.toml (wall clock, CPU, memory); the target is that it finishes
inside them. california_housing (20,640 rows) is used when it is in the download cache (a Space
fetches it on first use); offline (this machine reaches no dataset host) a synthetic frame of the
same shape (20,640 × 8 features + target, the same column names) is sent inline instead, and the
output says which one ran.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import Sandbox  # noqa: E402
from service.config import load_settings  # noqa: E402

PLOTS = [
    "feature_importance",
    "learning_curve",
    "residual_plot",
    "prediction_vs_actual",
    "partial_dependence",
    "shap_summary",
    "residual_distribution",
]
COLUMNS = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"]


def california_offline() -> bool:
    """Whether california_housing loads without the network (already in the download cache)."""
    try:
        from executor.datasets import DatasetRequest, load_dataset
        from executor.limits import EngineLimits
        from sandbox.context import JobContext

        load_dataset(DatasetRequest(dataset_id="california_housing"), limits=EngineLimits(), ctx=JobContext.local())
        return True
    except Exception:
        return False


def synthetic_csv(rows: int = 20_640, seed: int = 0) -> str:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, len(COLUMNS)))
    y = 2.0 + X[:, 0] * 0.8 - 0.3 * X[:, 6] * X[:, 7] + 0.2 * np.sin(3 * X[:, 1]) + rng.normal(scale=0.4, size=rows)
    frame = pd.DataFrame(X, columns=COLUMNS)
    frame["target"] = y
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.5f")
    return buffer.getvalue()


def workflow(dataset: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "dataset-1", "type": "dataset",
             "config": {"target_column": "target", "problem_type": "regression", **dataset}},
            {"id": "split-2", "type": "split", "config": {"test_size": 0.2, "random_seed": 42}},
            {"id": "model-3", "type": "model", "config": {
                "algorithm": "random_forest", "hyperparameters": {"n_estimators": 100, "max_depth": 10},
                "useCrossValidation": True, "cvFolds": 5}},
            {"id": "evaluate-4", "type": "evaluate", "config": {
                "selected_metrics": ["rmse", "mae", "r2", "mse"], "showConfidenceIntervals": True,
                "compareWithBaseline": True}},
            {"id": "visualize-5", "type": "visualize", "config": {"selected_plots": PLOTS}},
        ],
        "edges": [
            {"id": "e1", "source": "dataset-1", "target": "split-2"},
            {"id": "e2", "source": "split-2", "target": "model-3"},
            {"id": "e3", "source": "model-3", "target": "evaluate-4"},
            {"id": "e4", "source": "model-3", "target": "visualize-5"},
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json")
    args = parser.parse_args()
    settings = load_settings()
    real = california_offline()
    dataset = {"dataset_id": "california_housing"} if real else {"data": synthetic_csv(), "dataset_name": "california-shaped"}
    payload = {"workflow": workflow(dataset), "limits": settings.engine_limits(), "fault_injection": False,
               "request_id": "bench-depth"}
    preload = ["executor.preload"]
    with Sandbox(settings.job, settings.guards, preload=preload, extra_env={"MPLBACKEND": "Agg"}) as sb:
        started = time.perf_counter()
        outcome = sb.run("executor.entry:run", payload)
        elapsed = time.perf_counter() - started
    value = outcome.value if isinstance(outcome.value, dict) else {}
    results = value.get("results", {})
    figures = {
        "dataset": "california_housing" if real else "synthetic, california-shaped (offline)",
        "sandbox_code": outcome.code,
        "status": value.get("status"),
        "error": value.get("error"),
        "seconds": round(elapsed, 2),
        "wall_limit_s": settings.job.wall_clock_seconds,
        "cpu_seconds": round(outcome.usage.cpu_seconds, 2),
        "cpu_limit_s": settings.job.cpu_seconds,
        "peak_memory_mb": round(outcome.usage.peak_memory_mb, 1),
        "memory_limit_mb": settings.job.memory_mb,
        "training_mode": results.get("trainingMode"),
        "metrics": {m["key"]: round(m["value"], 4) for m in results.get("metrics", [])},
        "plots": [p["key"] for p in results.get("plots", [])],
        "warnings": results.get("warnings", []),
    }
    print(f"Largest sample, random forest (100 trees, depth 10), 5-fold CV, {len(PLOTS)} plots, CI + baseline")
    print(f"  dataset:      {figures['dataset']}")
    print(f"  outcome:      {figures['status'] or figures['sandbox_code']}  {figures['error'] or ''}")
    print(f"  wall time:    {figures['seconds']} s of {figures['wall_limit_s']} s allowed "
          f"({figures['seconds'] / figures['wall_limit_s']:.0%})")
    print(f"  CPU time:     {figures['cpu_seconds']} s of {figures['cpu_limit_s']} s allowed")
    print(f"  peak memory:  {figures['peak_memory_mb']} MB of {figures['memory_limit_mb']} MB allowed "
          f"({figures['peak_memory_mb'] / figures['memory_limit_mb']:.0%})")
    print(f"  mode:         {figures['training_mode']}; metrics {figures['metrics']}")
    print(f"  plots:        {figures['plots']}")
    for warning in figures["warnings"]:
        print(f"  warning:      {warning}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if figures["status"] == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
