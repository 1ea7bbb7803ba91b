"""Every metric key and alias against scikit-learn computed independently on the same split."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn import metrics as skm

from executor.metrics import METRICS, compute_metrics, default_metrics, metric_names
from tests.executor.evalkit import make_evaluation

W = "weighted"


def ovr_weighted_auc(y, score):
    classes = np.unique(y)
    return np.average([skm.roc_auc_score(y == c, score[:, c]) for c in classes],
                      weights=[np.mean(y == c) for c in classes])


def expected_classification(ev):
    y, p, s = ev.y_test, ev.y_pred, ev.y_score
    k = len(ev.class_names)
    out = {
        "accuracy": skm.accuracy_score(y, p),
        "precision": skm.precision_score(y, p, average=W, zero_division=0),
        "recall": skm.recall_score(y, p, average=W, zero_division=0),
        "f1": skm.f1_score(y, p, average=W, zero_division=0),
        "balanced_accuracy": skm.balanced_accuracy_score(y, p),
        "matthews_corrcoef": skm.matthews_corrcoef(y, p),
    }
    if ev.score_kind == "proba":
        out["log_loss"] = skm.log_loss(y, s)
        out["roc_auc"] = skm.roc_auc_score(y, s[:, 1]) if k == 2 else skm.roc_auc_score(y, s, multi_class="ovr", average=W)
    else:
        out["roc_auc"] = skm.roc_auc_score(y, s) if k == 2 else ovr_weighted_auc(y, s)
    return out


CLASSIFICATION = [
    ("logistic_regression", "breast_cancer", None),
    ("random_forest", "iris", {"n_estimators": 20}),
    ("svm", "breast_cancer", {"probability": False}),
    ("svm", "wine", {"probability": False}),
    ("naive_bayes", "wine", None),
]


@pytest.mark.parametrize("algorithm, dataset, hp", CLASSIFICATION)
def test_classification_metrics_match_scikit_learn(algorithm, dataset, hp):
    ev = make_evaluation(algorithm, "classification", dataset, hp)
    got, warnings = compute_metrics(list(METRICS), ev)
    values = {m["key"]: m["value"] for m in got}
    expected = expected_classification(ev)
    assert values == pytest.approx(expected)
    if ev.score_kind != "proba":
        assert any("log_loss" in w and "probabilities" in w for w in warnings)


def test_regression_metrics_match_scikit_learn():
    ev = make_evaluation("linear_regression", "regression", "diabetes")
    got, _ = compute_metrics(["mse", "rmse", "mae", "r2", "mape", "explained_variance"], ev)
    y, p = ev.y_test, ev.y_pred
    nz = y != 0
    assert {m["key"]: m["value"] for m in got} == pytest.approx({
        "mse": skm.mean_squared_error(y, p), "rmse": np.sqrt(skm.mean_squared_error(y, p)),
        "mae": skm.mean_absolute_error(y, p), "r2": skm.r2_score(y, p),
        "mape": 100 * skm.mean_absolute_percentage_error(y[nz], p[nz]),
        "explained_variance": skm.explained_variance_score(y, p),
    })


def test_clustering_metrics_match_scikit_learn():
    ev = make_evaluation("kmeans", "clustering", "iris")
    got, _ = compute_metrics(["silhouette_score", "davies_bouldin_index", "calinski_harabasz_index", "inertia"], ev)
    X, labels = ev.transform(ev.X_test), ev.cluster_labels
    assert {m["key"]: m["value"] for m in got} == pytest.approx({
        "silhouette_score": skm.silhouette_score(X, labels), "davies_bouldin_index": skm.davies_bouldin_score(X, labels),
        "calinski_harabasz_index": skm.calinski_harabasz_score(X, labels), "inertia": ev.estimator.inertia_,
    })


@pytest.mark.parametrize("alias, key", [("f1_score", "f1"), ("auc", "roc_auc"), ("auc_roc", "roc_auc"), ("F1", "f1")])
def test_classification_aliases_report_the_canonical_key_once(alias, key):
    ev = make_evaluation("logistic_regression", "classification", "breast_cancer")
    got, _ = compute_metrics([alias, key], ev)
    assert [m["key"] for m in got] == [key]


def test_r2_score_alias_and_display_names():
    ev = make_evaluation("linear_regression", "regression", "diabetes")
    got, _ = compute_metrics(["r2_score", "mape"], ev)
    assert [(m["key"], m["name"]) for m in got] == [("r2", "R² Score"), ("mape", "Mean Absolute % Error")]


def test_display_names_follow_the_frontend():
    assert {k: s.name for k, s in METRICS.items() if k in ("f1", "roc_auc", "matthews_corrcoef", "rmse")} == {
        "f1": "F1 Score", "roc_auc": "ROC AUC", "matthews_corrcoef": "Matthews Correlation",
        "rmse": "Root Mean Squared Error"}


@pytest.mark.parametrize("key", ["confusion_matrix", "classification_report"])
def test_non_scalar_metric_keys_are_skipped_with_a_pointer_to_the_plot(key):
    ev = make_evaluation("logistic_regression", "classification", "breast_cancer")
    got, warnings = compute_metrics(["accuracy", key], ev)
    assert [m["key"] for m in got] == ["accuracy"]
    assert any(key in w and "'confusion_matrix' plot" in w for w in warnings)


def test_frontend_classification_defaults_on_a_regression_run_give_regression_defaults():
    ev = make_evaluation("random_forest", "regression", "diabetes", {"n_estimators": 10})
    got, warnings = compute_metrics(["accuracy", "f1", "confusion_matrix"], ev)
    assert [m["key"] for m in got] == default_metrics("regression")
    assert any("applies to classification, not regression" in w for w in warnings)
    assert any("defaults" in w for w in warnings)


def test_a_key_that_does_not_apply_is_skipped_with_a_warning_beside_ones_that_do():
    ev = make_evaluation("random_forest", "regression", "diabetes", {"n_estimators": 10})
    got, warnings = compute_metrics(["r2", "accuracy", "bogus"], ev)
    assert [m["key"] for m in got] == ["r2"]
    assert any("'accuracy' applies to classification" in w for w in warnings)
    assert any("unknown metric 'bogus'" in w for w in warnings)


def test_a_non_finite_value_is_omitted_with_a_warning():
    ev = make_evaluation("linear_regression", "regression", "diabetes")
    ev = dataclasses.replace(ev, y_pred=np.full_like(ev.y_pred, np.inf))
    got, warnings = compute_metrics(["mae", "r2"], ev)
    assert all(np.isfinite(m["value"]) for m in got)
    assert any("mae" in w for w in warnings)


def test_log_loss_without_probabilities_and_roc_auc_without_scores_are_skipped_with_warnings():
    ev = make_evaluation("logistic_regression", "classification", "breast_cancer")
    ev = dataclasses.replace(ev, y_score=None, score_kind=None)
    got, warnings = compute_metrics(["accuracy", "roc_auc", "log_loss"], ev)
    assert [m["key"] for m in got] == ["accuracy"]
    assert len([w for w in warnings if "roc_auc" in w or "log_loss" in w]) == 2


def test_metric_names_lists_every_contract_key_and_alias():
    contract = {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "balanced_accuracy", "matthews_corrcoef",
                "confusion_matrix", "mse", "rmse", "mae", "r2", "mape", "explained_variance", "silhouette_score",
                "davies_bouldin_index", "calinski_harabasz_index", "inertia", "f1_score", "r2_score", "auc", "auc_roc",
                "classification_report"}
    assert contract <= set(metric_names())
