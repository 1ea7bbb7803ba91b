"""Scoring one trained model: holdout or cross-validation fold means, intervals and a baseline when asked."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from executor.errors import ExecutionError, WorkflowError
from executor.limits import EngineLimits
from executor.metrics import compute_metrics
from executor.schema import EvaluateConfig
from executor.training import Trained

__all__ = ["BOOTSTRAP_RESAMPLES", "score_model"]

BOOTSTRAP_RESAMPLES = 200
"""Bootstrap resamples behind ``confidenceInterval`` (a precision setting, bounded by a deadline)."""


def _cv_metrics(trained: Trained, requested: list[str], max_rows: int) -> tuple[list[dict[str, Any]], list[str]]:
    per_fold = [compute_metrics(requested, ev, max_rows=max_rows) for ev in trained.folds]
    notes = list(per_fold[0][1])
    values: dict[str, list[float]] = {}
    names: dict[str, str] = {}
    for metrics, _ in per_fold:
        for m in metrics:
            values.setdefault(m["key"], []).append(float(m["value"]))
            names.setdefault(m["key"], m["name"])
    out = []
    for key, vals in values.items():
        arr = np.asarray(vals, dtype=float)
        if len(arr) < len(trained.folds):
            notes.append(f"metric {key!r} could be computed on {len(arr)} of {len(trained.folds)} folds only")
        out.append({"key": key, "name": names[key], "value": float(arr.mean()), "std": float(arr.std(ddof=0)),
                    "folds": int(len(arr)), "foldValues": [float(v) for v in arr]})
    notes.append(f"metrics are means over {len(trained.folds)} cross-validation folds (std = spread across folds);"
                 " plots show the model trained on the training split")
    return out, notes


def score_model(trained: Trained, requested: list[str], cfg: EvaluateConfig | None, *, limits: EngineLimits,
                remaining_seconds: float | None = None) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    """(metrics, warnings, extra result fields such as ``baseline``) for one evaluate node."""
    max_rows = limits.output.max_explain_rows
    extra: dict[str, Any] = {}
    try:
        if trained.folds:
            metrics, notes = _cv_metrics(trained, requested, max_rows)
        else:
            metrics, notes = compute_metrics(requested, trained.evaluation, max_rows=max_rows)
        if cfg is not None and cfg.show_confidence_intervals:
            from executor.uncertainty import confidence_intervals

            deadline = None
            if remaining_seconds is not None:
                deadline = time.monotonic() + limits.search.budget_fraction * remaining_seconds
            metrics, ci_notes = confidence_intervals(metrics, trained.evaluation, n_resamples=BOOTSTRAP_RESAMPLES,
                                                     max_rows=max_rows, deadline=deadline)
            notes += ci_notes
        if cfg is not None and cfg.compare_with_baseline:
            from executor.uncertainty import baseline_metrics

            baseline, b_notes = baseline_metrics(metrics, trained.evaluation, max_rows=max_rows)
            notes += b_notes
            if baseline is not None:
                extra["baseline"] = baseline
    except (WorkflowError, MemoryError, OSError):
        raise
    except Exception as exc:
        raise ExecutionError(f"scoring failed: {type(exc).__name__}: {exc}", node_id=trained.node_id,
                             label=trained.spec.name) from exc
    return metrics, notes, extra
