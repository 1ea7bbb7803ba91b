"""Real workloads that exhaust a limit the way users do, without any fault node.

Each one runs the real engine (``executor.entry:run``) in the real sandbox under small test limits,
ends with the code of the limit it hits, and the same sandbox then runs a good iris workflow.

Data: only scikit-learn's bundled samples (digits is the largest, 1797 rows x 64 features) and frames
synthesised inline here. california_housing needs a download (not available offline), so the
"too large for the time limit" case uses a synthetic 15,000-row frame sent as inline CSV.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from sandbox import GuardLimits, JobLimits, Outcome, Sandbox
from service.config import Settings
from tests.fuzz.envelope import check_envelope

WORKLOAD_LIMITS = JobLimits(
    wall_clock_seconds=120,  # generous: no control run (a good iris, a small CSV) is ever stopped by the clock
    cpu_seconds=60,  # above TIME_LIMIT_SECONDS: a long fit is stopped by the clock, with code `timeout`
    memory_mb=300,
    max_processes=32,
    max_file_size_mb=16,
    max_result_mb=16,
    threads=1,
)
PRELOAD = ["executor.preload"]
TIME_LIMIT_SECONDS = 3.0
"""The wall clock of the runs meant to hit it (minutes of work each); every other run has 120 s."""


def engine_limits(**data: int) -> dict[str, Any]:
    limits = Settings().engine_limits()
    limits["data"] = {**limits["data"], **data}
    return limits


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(
        WORKLOAD_LIMITS, GuardLimits(kill_grace_seconds=0.2), preload=PRELOAD, extra_env={"MPLBACKEND": "Agg"}
    ) as sandbox:
        yield sandbox


def workflow(
    dataset: dict[str, Any],
    algorithm: str,
    hyper: dict[str, Any],
    problem: str = "classification",
    metrics: tuple[str, ...] = ("accuracy",),
) -> dict[str, Any]:
    ds = {
        "dataset_name": "workload",
        "is_sample": "dataset_id" in dataset,
        "target_column": "target",
        "problem_type": problem,
        **dataset,
    }
    return {
        "nodes": [
            {"id": "dataset-1", "type": "dataset", "config": ds, "position": None},
            {
                "id": "split-2",
                "type": "split",
                "config": {"test_size": 0.2, "random_seed": 0, "shuffle": True},
                "position": None,
            },
            {
                "id": "model-3",
                "type": "model",
                "config": {"algorithm": algorithm, "hyperparameters": hyper},
                "position": None,
            },
            {
                "id": "evaluate-4",
                "type": "evaluate",
                "config": {"selected_metrics": list(metrics)},
                "position": None,
            },
        ],
        "edges": [
            {
                "id": "e1",
                "source": "dataset-1",
                "target": "split-2",
                "source_handle": None,
                "target_handle": None,
            },
            {
                "id": "e2",
                "source": "split-2",
                "target": "model-3",
                "source_handle": None,
                "target_handle": None,
            },
            {
                "id": "e3",
                "source": "model-3",
                "target": "evaluate-4",
                "source_handle": None,
                "target_handle": None,
            },
        ],
    }


GOOD_IRIS = workflow({"dataset_id": "iris"}, "random_forest", {"n_estimators": 20, "random_state": 0})


def run(sb: Sandbox, wf: dict[str, Any], *, wall_clock_seconds: float | None = None, **data: int) -> Outcome:
    payload = {
        "workflow": wf,
        "limits": engine_limits(**data),
        "fault_injection": False,
        "request_id": "workload",
    }
    return sb.run("executor.entry:run", payload, wall_clock_seconds=wall_clock_seconds)


def code_of(outcome: Outcome) -> str:
    if not outcome.ok:
        return str(outcome.code)
    return check_envelope(outcome.value)


def assert_still_serving(sb: Sandbox) -> None:
    outcome = run(sb, GOOD_IRIS)
    assert code_of(outcome) == "completed", outcome.to_dict() | {"value": outcome.value}


def synthetic_csv(
    rows: int, cols: int, *, seed: int = 0, decimals: int = 6, noisy_labels: bool = True
) -> str:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, cols))
    y = rng.integers(0, 2, rows) if noisy_labels else (X[:, 0] > 0).astype(int)
    buf = io.StringIO()
    buf.write(",".join(f"f{i}" for i in range(cols)) + ",target\n")
    fmt = f"%.{decimals}f"
    for row, label in zip(X, y, strict=True):
        buf.write(",".join(fmt % v for v in row) + f",{label}\n")
    return buf.getvalue()


def test_mlp_with_huge_hidden_layers_ends_with_memory_exceeded(sb: Sandbox) -> None:
    """Three 4096-wide layers: ~400 MB of weights and Adam moments, over a 300 MB job."""
    wf = workflow(
        {"dataset_id": "digits"},
        "neural_network",
        {"hidden_layer_sizes": "(4096, 4096, 4096)", "max_iter": 200, "early_stopping": False},
    )
    outcome = run(sb, wf)
    assert code_of(outcome) == "memory_exceeded", outcome.to_dict() | {"value": outcome.value}
    assert outcome.usage.limit_hit == "memory_mb"
    assert_still_serving(sb)


def test_random_forest_of_thousands_of_unbounded_trees_ends_with_timeout(sb: Sandbox) -> None:
    """5000 trees with no depth limit on digits (the largest bundled sample), 1 thread, TIME_LIMIT_SECONDS (3 s)."""
    wf = workflow(
        {"dataset_id": "digits"},
        "random_forest",
        {
            "n_estimators": 5000,
            "max_depth": None,
            "min_samples_split": 2,
            "min_samples_leaf": 1,
            "max_features": "auto",
            "bootstrap": False,
        },
    )
    outcome = run(sb, wf, wall_clock_seconds=TIME_LIMIT_SECONDS)
    assert code_of(outcome) in ("timeout", "memory_exceeded"), outcome.to_dict() | {"value": outcome.value}
    assert_still_serving(sb)


def test_svm_on_a_dataset_too_large_for_the_time_limit_ends_with_timeout(sb: Sandbox) -> None:
    """SVC with probability=True (an internal 5-fold CV) on 15,000 noisy rows: minutes of work, 3 s allowed."""
    csv = synthetic_csv(15_000, 20)
    wf = workflow({"data": csv}, "svm", {"kernel": "rbf", "C": 100, "probability": True})
    outcome = run(sb, wf, wall_clock_seconds=TIME_LIMIT_SECONDS, max_dataset_mb=20)
    # libsvm's kernel cache (200 MB) under probability=True's internal CV may hit the memory limit first
    assert code_of(outcome) in ("timeout", "memory_exceeded"), outcome.to_dict() | {"value": outcome.value}
    assert outcome.usage.limit_hit in ("wall_clock_seconds", "memory_mb")
    assert_still_serving(sb)


def test_inline_csv_just_over_max_dataset_mb_ends_with_dataset_error(sb: Sandbox) -> None:
    csv = synthetic_csv(11_500, 10, decimals=8, noisy_labels=False)  # ~1.2 MB of text, ~1 MB as floats
    size_mb = len(csv.encode()) / (1 << 20)
    assert 1.0 < size_mb < 1.4, size_mb
    outcome = run(sb, workflow({"data": csv}, "logistic_regression", {"max_iter": 100}), max_dataset_mb=1)
    assert code_of(outcome) == "dataset_error", outcome.to_dict() | {"value": outcome.value}
    assert "max_dataset_mb" in outcome.value["error"] or "MB" in outcome.value["error"], outcome.value[
        "error"
    ]
    assert_still_serving(sb)


def test_the_same_inline_csv_under_a_larger_cap_trains(sb: Sandbox) -> None:
    """The control: the CSV above is refused only because of the cap, not because it is unreadable."""
    csv = synthetic_csv(11_500, 10, decimals=8, noisy_labels=False)
    outcome = run(sb, workflow({"data": csv}, "logistic_regression", {"max_iter": 100}), max_dataset_mb=5)
    assert code_of(outcome) == "completed", outcome.to_dict() | {"value": outcome.value}
