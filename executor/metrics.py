"""Metric registry: every key and alias of the contract's §4, computed from an :class:`Evaluation`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from executor.algorithms import inner_estimator
from executor.echo import listing, shown
from executor.evaluation import Evaluation

__all__ = [
    "ALIASES",
    "METRICS",
    "MetricSpec",
    "canonical_metric",
    "compute_metrics",
    "default_metrics",
    "metric_names",
]

AVERAGE = "weighted"
"""Averaging of precision, recall and F1 for binary and multiclass alike (and of one-vs-rest ROC AUC)."""


class MetricUnavailable(Exception):
    """A metric that cannot be computed for this run (the message says why)."""


@dataclass(frozen=True)
class MetricSpec:
    """One scalar metric: FE display name, problem type and how to compute it."""

    key: str
    name: str
    problem_type: str
    fn: Callable[[Evaluation, int | None], float]


def _cls(ev: Evaluation) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(ev.y_test), np.asarray(ev.y_pred)


def _n_classes(ev: Evaluation) -> int:
    if ev.class_names:
        return len(ev.class_names)
    return int(max(np.max(ev.y_test), np.max(ev.y_pred))) + 1


def _prf(fn: Callable[..., float]) -> Callable[[Evaluation, int | None], float]:
    return lambda ev, _: fn(*_cls(ev), average=AVERAGE, zero_division=0)


def roc_auc(y_true: np.ndarray, score: np.ndarray, n_classes: int) -> float:
    """ROC AUC from probabilities or decision values; multiclass is one-vs-rest, prevalence-weighted."""
    score = np.asarray(score, dtype=float)
    if n_classes <= 2:
        column = score[:, -1] if score.ndim == 2 else score
        return float(skm.roc_auc_score(y_true, column))
    present = np.unique(y_true)
    if present.size < 2:
        raise MetricUnavailable("the test rows hold only one class")
    # Per-class binary AUCs of each score column, weighted by prevalence: the same as scikit-learn's
    # ovr/weighted for probabilities, and also valid for decision values (which need not sum to 1).
    aucs = [skm.roc_auc_score(y_true == c, score[:, c]) for c in present]
    weights = [np.mean(y_true == c) for c in present]
    return float(np.average(aucs, weights=weights))


def _roc_auc(ev: Evaluation, _: int | None) -> float:
    if ev.y_score is None:
        raise MetricUnavailable(f"{ev.algorithm_name} gives neither probabilities nor decision scores")
    return roc_auc(np.asarray(ev.y_test), ev.y_score, _n_classes(ev))


def _log_loss(ev: Evaluation, _: int | None) -> float:
    if ev.score_kind != "proba" or ev.y_score is None:
        raise MetricUnavailable(f"it needs probabilities and {ev.algorithm_name} gives none here")
    proba = np.asarray(ev.y_score, dtype=float)
    return float(skm.log_loss(ev.y_test, proba, labels=list(range(proba.shape[1]))))


def _reg(fn: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[Evaluation, int | None], float]:
    return lambda ev, _: float(fn(np.asarray(ev.y_test, dtype=float), np.asarray(ev.y_pred, dtype=float)))


def mape_percent(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error in percent, over the rows whose true value is not zero."""
    keep = y_true != 0
    if not keep.any():
        raise MetricUnavailable("every true value is 0, so no percentage error exists")
    return float(100.0 * np.mean(np.abs((y_true[keep] - y_pred[keep]) / y_true[keep])))


def _mape(ev: Evaluation, _: int | None) -> float:
    return mape_percent(np.asarray(ev.y_test, dtype=float), np.asarray(ev.y_pred, dtype=float))


def take_rows(X: Any, rows: np.ndarray) -> Any:
    """Rows ``rows`` of a DataFrame, an array or a sparse matrix."""
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def cluster_space(ev: Evaluation, max_rows: int | None) -> tuple[Any, np.ndarray]:
    """The estimator's view of the scored rows and their cluster labels (subsampled to ``max_rows``)."""
    if ev.cluster_labels is None:
        raise MetricUnavailable("no cluster labels were produced")
    X = ev.transform(ev.X_test)
    labels = np.asarray(ev.cluster_labels)
    if max_rows and labels.shape[0] > max_rows:
        rows = np.sort(np.random.default_rng(ev.seed).choice(labels.shape[0], size=max_rows, replace=False))
        X, labels = take_rows(X, rows), labels[rows]
    found = np.unique(labels).size
    if not 2 <= found < labels.shape[0]:
        raise MetricUnavailable(f"it needs between 2 and n-1 clusters among the scored rows (found {found})")
    return X, labels


def _cluster(fn: Callable[..., float]) -> Callable[[Evaluation, int | None], float]:
    return lambda ev, max_rows: float(fn(*cluster_space(ev, max_rows)))


def _inertia(ev: Evaluation, _: int | None) -> float:
    value = getattr(inner_estimator(ev.estimator), "inertia_", None)
    if value is None:
        raise MetricUnavailable(f"{ev.algorithm_name} has no inertia")
    return float(value)


METRICS: dict[str, MetricSpec] = {
    spec.key: spec
    for spec in [
        MetricSpec("accuracy", "Accuracy", "classification", lambda ev, _: skm.accuracy_score(*_cls(ev))),
        MetricSpec("precision", "Precision", "classification", _prf(skm.precision_score)),
        MetricSpec("recall", "Recall", "classification", _prf(skm.recall_score)),
        MetricSpec("f1", "F1 Score", "classification", _prf(skm.f1_score)),
        MetricSpec("roc_auc", "ROC AUC", "classification", _roc_auc),
        MetricSpec("log_loss", "Log Loss", "classification", _log_loss),
        MetricSpec("balanced_accuracy", "Balanced Accuracy", "classification",
                   lambda ev, _: skm.balanced_accuracy_score(*_cls(ev))),
        MetricSpec("matthews_corrcoef", "Matthews Correlation", "classification",
                   lambda ev, _: skm.matthews_corrcoef(*_cls(ev))),
        MetricSpec("mse", "Mean Squared Error", "regression", _reg(skm.mean_squared_error)),
        MetricSpec("rmse", "Root Mean Squared Error", "regression", _reg(skm.root_mean_squared_error)),
        MetricSpec("mae", "Mean Absolute Error", "regression", _reg(skm.mean_absolute_error)),
        MetricSpec("r2", "R² Score", "regression", _reg(skm.r2_score)),
        MetricSpec("mape", "Mean Absolute % Error", "regression", _mape),
        MetricSpec("explained_variance", "Explained Variance", "regression", _reg(skm.explained_variance_score)),
        MetricSpec("silhouette_score", "Silhouette Score", "clustering", _cluster(skm.silhouette_score)),
        MetricSpec("davies_bouldin_index", "Davies-Bouldin Index", "clustering", _cluster(skm.davies_bouldin_score)),
        MetricSpec("calinski_harabasz_index", "Calinski-Harabasz Index", "clustering",
                   _cluster(skm.calinski_harabasz_score)),
        MetricSpec("inertia", "Inertia", "clustering", _inertia),
    ]
}
"""Scalar metrics by canonical key, in the contract's order."""

ALIASES: dict[str, str] = {
    "f1_score": "f1",
    "r2_score": "r2",
    "auc": "roc_auc",
    "auc_roc": "roc_auc",
    "roc_auc_score": "roc_auc",
    "silhouette": "silhouette_score",
    "davies_bouldin": "davies_bouldin_index",
    "calinski_harabasz": "calinski_harabasz_index",
}
"""Backend and dashboard spellings of the same metrics."""

NOT_SCALAR = {"confusion_matrix": "classification", "classification_report": "classification"}
"""Keys the UI offers as metrics that are not single numbers."""

_DEFAULTS = {
    "classification": ["accuracy", "precision", "recall", "f1"],
    "regression": ["rmse", "mae", "r2"],
    "clustering": ["silhouette_score", "inertia"],
}


def metric_names() -> list[str]:
    """Every accepted metric key: canonical keys, aliases and the non-scalar keys, sorted."""
    return sorted({*METRICS, *ALIASES, *NOT_SCALAR})


def default_metrics(problem_type: str) -> list[str]:
    """The metrics reported when none of the requested ones applies."""
    return list(_DEFAULTS.get(problem_type, []))


def canonical_metric(key: str) -> str:
    """The canonical key of ``key`` (aliases resolved, case and spaces folded)."""
    text = str(key).strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(text, text)


def compute_metrics(
    requested: list[str], ev: Evaluation, *, max_rows: int | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """``[{"key", "name", "value"}]`` for the requested keys that apply, and warnings for the rest.

    Keys are canonicalised and de-duplicated in request order (a key repeated is looked at once).
    A value that is not finite is omitted with a warning. When no requested key is a scalar metric
    of ``ev.problem_type``, the problem type's defaults are computed instead (with a warning).
    ``max_rows`` subsamples the rows of the O(n²) clustering scores. Unknown keys get one warning
    for all of them, naming the valid keys once.
    """
    warnings: list[str] = []
    keys: list[str] = []
    seen: set[str] = set()
    unknown: list[Any] = []
    for raw in requested or []:
        key = canonical_metric(raw)
        if key in seen:
            continue
        seen.add(key)
        if key in NOT_SCALAR:
            warnings.append(f"metric {shown(raw)} is not a single number and is not listed among the metrics;"
                            " request the 'confusion_matrix' plot to see it")
        elif key not in METRICS:
            unknown.append(raw)
        elif METRICS[key].problem_type != ev.problem_type:
            warnings.append(f"metric {shown(raw)} applies to {METRICS[key].problem_type}, not {ev.problem_type};"
                            " it was skipped")
        else:
            keys.append(key)
    if unknown:
        named = (f"unknown metric {shown(unknown[0])} was" if len(unknown) == 1
                 else f"unknown metrics {listing(unknown, quote=True)} were")
        warnings.append(f"{named} skipped (valid: {listing(metric_names())})")
    if not keys:
        keys = default_metrics(ev.problem_type)
        if keys:
            warnings.append(f"none of the requested metrics applies to {ev.problem_type}; the defaults"
                            f" ({', '.join(keys)}) are reported instead")
    return _evaluate(keys, ev, max_rows, warnings)


def _evaluate(
    keys: list[str], ev: Evaluation, max_rows: int | None, warnings: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    out: list[dict[str, Any]] = []
    for key in keys:
        spec = METRICS[key]
        value = metric_value(key, ev, max_rows=max_rows, warnings=warnings)
        if value is not None:
            out.append({"key": key, "name": spec.name, "value": value})
    return out, warnings


def metric_value(key: str, ev: Evaluation, *, max_rows: int | None = None,
                 warnings: list[str] | None = None) -> float | None:
    """One metric as a finite float, or None with the reason appended to ``warnings``."""
    spec = METRICS[key]
    sink = warnings if warnings is not None else []
    try:
        value = float(spec.fn(ev, max_rows))
    except MetricUnavailable as exc:
        sink.append(f"metric {key!r} was skipped: {exc}")
        return None
    except (ValueError, TypeError, IndexError) as exc:
        sink.append(f"metric {key!r} could not be computed: {exc}")
        return None
    if not math.isfinite(value):
        sink.append(f"metric {key!r} was omitted because its value is not finite ({value})")
        return None
    return value
