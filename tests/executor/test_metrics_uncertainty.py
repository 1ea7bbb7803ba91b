"""Bootstrap confidence intervals and the dummy-model baseline (issue 5)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score, r2_score

from executor.metrics import compute_metrics
from executor.uncertainty import baseline_metrics, confidence_intervals
from tests.executor.evalkit import make_evaluation

pytestmark = pytest.mark.slow  # bootstrap resampling of trained models

CASES = [
    ("logistic_regression", "classification", "breast_cancer", ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"]),
    ("random_forest", "classification", "iris", ["accuracy", "f1", "roc_auc", "matthews_corrcoef"]),
    ("linear_regression", "regression", "diabetes", ["mse", "rmse", "mae", "r2", "mape", "explained_variance"]),
    ("kmeans", "clustering", "iris", ["silhouette_score", "davies_bouldin_index", "calinski_harabasz_index"]),
]


@pytest.mark.parametrize("algorithm, problem_type, dataset, keys", CASES)
def test_intervals_contain_the_point_estimate(algorithm, problem_type, dataset, keys):
    ev = make_evaluation(algorithm, problem_type, dataset, {"n_estimators": 10} if algorithm == "random_forest" else None)
    metrics, _ = compute_metrics(keys, ev)
    with_ci, warnings = confidence_intervals(metrics, ev, n_resamples=60, max_rows=500)
    assert warnings == []
    for item in with_ci:
        lo, hi = item["confidenceInterval"]
        assert lo <= item["value"] <= hi and lo < hi and np.isfinite([lo, hi]).all()


def test_intervals_are_reproducible_and_respect_a_deadline():
    ev = make_evaluation("logistic_regression", "classification", "breast_cancer")
    metrics, _ = compute_metrics(["accuracy"], ev)
    first, _ = confidence_intervals(metrics, ev, n_resamples=30, max_rows=500)
    again, _ = confidence_intervals(metrics, ev, n_resamples=30, max_rows=500)
    assert first == again
    cut, warnings = confidence_intervals(metrics, ev, n_resamples=10_000, max_rows=500, deadline=time.monotonic())
    assert "confidenceInterval" not in cut[0] and any("0 of 10000" in w for w in warnings)


def test_inertia_gets_no_interval_but_a_warning():
    ev = make_evaluation("kmeans", "clustering", "iris")
    metrics, _ = compute_metrics(["inertia"], ev)
    out, warnings = confidence_intervals(metrics, ev, n_resamples=10, max_rows=500)
    assert "confidenceInterval" not in out[0] and "no bootstrap interval" in warnings[0]


def test_classification_baseline_is_the_most_frequent_class():
    ev = make_evaluation("logistic_regression", "classification", "breast_cancer")
    metrics, _ = compute_metrics(["accuracy", "roc_auc", "f1"], ev)
    baseline, _ = baseline_metrics(metrics, ev)
    expected = accuracy_score(ev.y_test, DummyClassifier().fit(ev.X_train, ev.y_train).predict(ev.X_test))
    values = {m["key"]: m["value"] for m in baseline["metrics"]}
    assert baseline["strategy"] == "most_frequent" and list(values) == ["accuracy", "roc_auc", "f1"]
    assert values["accuracy"] == pytest.approx(expected) and values["roc_auc"] == pytest.approx(0.5)
    assert {m["key"]: m["value"] for m in metrics}["accuracy"] > values["accuracy"]


def test_regression_baseline_is_the_training_mean():
    ev = make_evaluation("linear_regression", "regression", "diabetes")
    metrics, _ = compute_metrics(["r2", "mae"], ev)
    baseline, _ = baseline_metrics(metrics, ev)
    r2 = r2_score(ev.y_test, np.full(len(ev.y_test), ev.y_train.mean()))
    assert baseline["strategy"] == "mean"
    assert {m["key"]: m["value"] for m in baseline["metrics"]}["r2"] == pytest.approx(r2)


def test_clustering_has_no_baseline_and_says_so():
    ev = make_evaluation("kmeans", "clustering", "iris")
    baseline, warnings = baseline_metrics([], ev)
    assert baseline is None and "no dummy baseline" in warnings[0]
