"""Every plot renders as a PNG data URL of sensible size; keys, aliases and skips are reported."""

from __future__ import annotations

import base64
import dataclasses
import io

import pytest
from PIL import Image

from executor.plots import render_plots
from tests.executor.evalkit import make_evaluation

DPI, MAX_ROWS = 60, 200

EVALS = {
    "lr_binary": ("logistic_regression", "classification", "breast_cancer", None),
    "lr_multi": ("logistic_regression", "classification", "iris", None),
    "svm_decision": ("svm", "classification", "wine", {"probability": False, "kernel": "linear"}),
    "rf_class": ("random_forest", "classification", "wine", {"n_estimators": 15}),
    "knn_class": ("knn", "classification", "iris", None),
    "linreg": ("linear_regression", "regression", "diabetes", None),
    "xgb_reg": ("xgboost", "regression", "diabetes", {"n_estimators": 20}),
    "kmeans": ("kmeans", "clustering", "iris", None),
}

# (evaluation, requested key, canonical key returned, FE display name)
CASES = [
    ("lr_binary", "confusion_matrix", "confusion_matrix", "Confusion Matrix"),
    ("lr_binary", "roc_curve", "roc_curve", "ROC Curve"),
    ("lr_multi", "roc_curve", "roc_curve", "ROC Curve"),
    ("svm_decision", "roc_curve", "roc_curve", "ROC Curve"),
    ("lr_binary", "precision_recall_curve", "precision_recall_curve", "Precision-Recall Curve"),
    ("svm_decision", "precision_recall_curve", "precision_recall_curve", "Precision-Recall Curve"),
    ("lr_binary", "learning_curve", "learning_curve", "Learning Curve"),
    ("linreg", "learning_curve", "learning_curve", "Learning Curve"),
    ("rf_class", "feature_importance", "feature_importance", "Feature Importance"),
    ("knn_class", "feature_importance", "feature_importance", "Feature Importance"),
    ("xgb_reg", "feature_importance", "feature_importance", "Feature Importance"),
    ("lr_binary", "coefficient_plot", "coefficient_plot", "Coefficient Plot"),
    ("lr_multi", "coefficient_plot", "coefficient_plot", "Coefficient Plot"),
    ("svm_decision", "coefficient_plot", "coefficient_plot", "Coefficient Plot"),
    ("linreg", "coefficient_plot", "coefficient_plot", "Coefficient Plot"),
    ("linreg", "residual_plot", "residual_plot", "Residual Plot"),
    ("linreg", "residuals", "residual_plot", "Residual Plot"),
    ("xgb_reg", "prediction_vs_actual", "prediction_vs_actual", "Prediction vs Actual"),
    ("xgb_reg", "actual_vs_predicted", "prediction_vs_actual", "Prediction vs Actual"),
    ("rf_class", "class_distribution", "class_distribution", "Class Distribution"),
    ("linreg", "residual_distribution", "residual_distribution", "Residual Distribution"),
    ("kmeans", "confusion_matrix", "confusion_matrix", "Cluster Scatter Plot"),
    ("kmeans", "cluster_scatter", "confusion_matrix", "Cluster Scatter Plot"),
    ("kmeans", "learning_curve", "learning_curve", "Elbow Plot"),
    ("kmeans", "elbow_plot", "learning_curve", "Elbow Plot"),
    ("kmeans", "silhouette_plot", "silhouette_plot", "Silhouette Plot"),
    ("kmeans", "roc_curve", "silhouette_plot", "Silhouette Plot"),
]


@pytest.fixture(scope="module")
def evals():
    return {name: make_evaluation(*args, threads=2) for name, args in EVALS.items()}


def decode_png(url: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    raw = base64.b64decode(url[len(prefix):], validate=True)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image


@pytest.mark.parametrize("ev_name, requested, key, name", CASES)
def test_each_plot_is_a_png_data_url_with_the_frontend_name(evals, ev_name, requested, key, name):
    plots, warnings = render_plots([requested], evals[ev_name], dpi=DPI, max_rows=MAX_ROWS)
    assert warnings == []
    assert [(p["key"], p["name"]) for p in plots] == [(key, name)]
    image = decode_png(plots[0]["url"])
    assert image.format == "PNG" and min(image.size) > 100


def test_dpi_from_the_caller_sets_the_pixel_size(evals):
    small, _ = render_plots(["confusion_matrix"], evals["lr_binary"], dpi=40, max_rows=MAX_ROWS)
    large, _ = render_plots(["confusion_matrix"], evals["lr_binary"], dpi=80, max_rows=MAX_ROWS)
    assert decode_png(large[0]["url"]).size[0] == 2 * decode_png(small[0]["url"]).size[0]


@pytest.mark.parametrize("ev_name, requested, fragment", [
    ("rf_class", "coefficient_plot", "not a linear model"),
    ("linreg", "roc_curve", "applies to classification, not regression"),
    ("lr_binary", "residual_plot", "applies to regression, not classification"),
    ("kmeans", "feature_importance", "not clustering"),
    ("lr_binary", "nonsense_plot", "unknown plot 'nonsense_plot'"),
])
def test_a_plot_that_does_not_apply_is_a_warning_never_a_silent_drop(evals, ev_name, requested, fragment):
    plots, warnings = render_plots([requested], evals[ev_name], dpi=DPI, max_rows=MAX_ROWS)
    assert plots == [] and len(warnings) == 1 and fragment in warnings[0]


def test_roc_without_scores_is_skipped_with_the_reason(evals):
    ev = dataclasses.replace(evals["lr_binary"], y_score=None, score_kind=None)
    plots, warnings = render_plots(["roc_curve"], ev, dpi=DPI, max_rows=MAX_ROWS)
    assert plots == [] and "neither probabilities nor decision scores" in warnings[0]


def test_a_failing_plot_becomes_a_warning_naming_plot_and_reason(evals):
    def broken(_):
        raise RuntimeError("boom")

    ev = dataclasses.replace(evals["kmeans"], transform=broken)
    plots, warnings = render_plots(["confusion_matrix", "learning_curve"], ev, dpi=DPI, max_rows=MAX_ROWS)
    assert plots == []
    assert warnings == ["plot 'confusion_matrix' (Cluster Scatter Plot) failed: RuntimeError: boom",
                        "plot 'learning_curve' (Elbow Plot) failed: RuntimeError: boom"]


def test_keys_are_unique_when_aliases_repeat_a_plot(evals):
    plots, _ = render_plots(["residual_plot", "residuals", "prediction_vs_actual", "actual_vs_predicted"],
                            evals["linreg"], dpi=DPI, max_rows=MAX_ROWS)
    assert [p["key"] for p in plots] == ["residual_plot", "prediction_vs_actual"]


@pytest.mark.slow  # draws every plot of every evaluation
def test_no_pyplot_figures_are_left_open(evals):
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    render_plots(["confusion_matrix", "roc_curve", "learning_curve"], evals["lr_multi"], dpi=DPI, max_rows=MAX_ROWS)
    assert len(plt.get_fignums()) == before
