"""Bootstrap confidence intervals for metrics, and the dummy-model baseline beside them."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor

from executor.evaluation import Evaluation
from executor.metrics import METRICS, compute_metrics, metric_value, take_rows

__all__ = ["baseline_metrics", "confidence_intervals"]

MODEL_LEVEL = {"inertia"}
"""Metrics of the fitted model, not of the scored rows: resampling rows does not change them."""


def _resample(ev: Evaluation, rows: np.ndarray) -> Evaluation:
    def pick(values: Any) -> Any:
        return None if values is None else np.asarray(values)[rows]

    if ev.problem_type == "clustering":
        return dataclasses.replace(ev, X_test=take_rows(ev.X_test, rows), cluster_labels=pick(ev.cluster_labels))
    return dataclasses.replace(ev, y_test=pick(ev.y_test), y_pred=pick(ev.y_pred), y_score=pick(ev.y_score))


def confidence_intervals(
    metrics: list[dict[str, Any]],
    ev: Evaluation,
    *,
    n_resamples: int,
    max_rows: int,
    level: float = 0.95,
    deadline: float | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Copies of ``metrics`` with ``confidenceInterval: [lo, hi]`` from a percentile bootstrap.

    The scored rows (at most ``max_rows`` of them, drawn once) are resampled with replacement
    ``n_resamples`` times, seeded by ``ev.seed``. ``deadline`` (a ``time.monotonic()`` value) stops
    resampling early; the intervals then use the resamples done, with a warning. Each interval is
    widened if needed to contain the point estimate. Model-level metrics (inertia) get none.
    """
    warnings: list[str] = []
    n_total = len(ev.cluster_labels if ev.problem_type == "clustering" else ev.y_test)
    rng = np.random.default_rng(ev.seed)
    base_rows = np.arange(n_total) if n_total <= max_rows else np.sort(rng.choice(n_total, max_rows, replace=False))
    keys = [m["key"] for m in metrics if m["key"] in METRICS and m["key"] not in MODEL_LEVEL]
    samples: dict[str, list[float]] = {k: [] for k in keys}
    done = 0
    for _ in range(max(0, n_resamples)):
        if deadline is not None and time.monotonic() >= deadline:
            warnings.append(f"confidence intervals use {done} of {n_resamples} bootstrap resamples (time budget)")
            break
        boot = _resample(ev, rng.choice(base_rows, size=len(base_rows), replace=True))
        for key in keys:
            value = metric_value(key, boot, max_rows=max_rows, warnings=[])
            if value is not None:
                samples[key].append(value)
        done += 1
    alpha = (1.0 - level) / 2.0
    out: list[dict[str, Any]] = []
    for metric in metrics:
        item = dict(metric)
        values = samples.get(metric["key"])
        if metric["key"] in MODEL_LEVEL:
            warnings.append(f"metric {metric['key']!r} belongs to the fitted model; it has no bootstrap interval")
        elif not values or len(values) < max(2, done // 2):
            warnings.append(f"metric {metric['key']!r}: too few valid bootstrap resamples for an interval")
        else:
            lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
            item["confidenceInterval"] = [float(min(lo, metric["value"])), float(max(hi, metric["value"]))]
        out.append(item)
    return out, warnings


def baseline_metrics(
    metrics: list[dict[str, Any]], ev: Evaluation, *, max_rows: int | None = None
) -> tuple[dict[str, Any] | None, list[str]]:
    """A dummy model's metrics for the same keys: most frequent class, or the training mean.

    Returns ``({"name": ..., "strategy": ..., "metrics": [...]}, warnings)``, or ``(None, [warning])``
    for clustering, which has no dummy counterpart.
    """
    if ev.problem_type not in ("classification", "regression") or ev.y_train is None:
        return None, [f"no dummy baseline exists for {ev.problem_type}; compareWithBaseline was skipped"]
    if ev.problem_type == "classification":
        dummy: Any = DummyClassifier(strategy="most_frequent").fit(ev.X_train, ev.y_train)
        k = len(ev.class_names) if ev.class_names else int(np.max(ev.y_train)) + 1
        proba = np.zeros((len(ev.X_test), k))
        proba[:, np.asarray(dummy.classes_, dtype=int)] = dummy.predict_proba(ev.X_test)
        name, strategy = "Baseline (most frequent class)", "most_frequent"
        ev_b = dataclasses.replace(ev, y_pred=dummy.predict(ev.X_test), y_score=proba, score_kind="proba")
    else:
        dummy = DummyRegressor(strategy="mean").fit(ev.X_train, ev.y_train)
        name, strategy = "Baseline (training mean)", "mean"
        ev_b = dataclasses.replace(ev, y_pred=dummy.predict(ev.X_test), y_score=None, score_kind=None)
    ev_b = dataclasses.replace(ev_b, model=dummy, estimator=dummy, algorithm="dummy", algorithm_name=name)
    keys = [m["key"] for m in metrics] or None
    values, warnings = compute_metrics(keys or [], ev_b, max_rows=max_rows)
    return {"name": name, "strategy": strategy, "metrics": values}, [f"baseline: {w}" for w in warnings]
