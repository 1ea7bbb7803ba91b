"""What the UI offers: sample datasets, algorithms, metrics, plots, examples, and the quick-train workflow.

The platform's vocabulary (contract §3–§5, §7) is listed here rather than imported from
``executor`` so the parent process never loads scikit-learn (its memory budget is Gradio plus the
template's control); ``tests/app/test_catalog.py`` checks these lists against the engine's registries.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from service.config import REPO_ROOT

__all__ = [
    "DATASET_NODE",
    "ALGORITHMS",
    "METRICS",
    "METRIC_NAMES",
    "PLOTS",
    "PLOT_NAMES",
    "PROBLEM_TYPES",
    "SAMPLES",
    "csv_columns",
    "examples",
    "metric_choices",
    "plot_choices",
    "plot_name",
    "quick_workflow",
    "sample_choices",
]

EXAMPLES_DIR = REPO_ROOT / "examples"

PROBLEM_TYPES = ["classification", "regression", "clustering"]

SAMPLES: dict[str, dict[str, Any]] = {
    "iris": {"name": "Iris", "target": "target", "problem": "classification", "origin": "bundled"},
    "breast_cancer": {"name": "Breast Cancer", "target": "target", "problem": "classification", "origin": "bundled"},
    "wine": {"name": "Wine", "target": "target", "problem": "classification", "origin": "bundled"},
    "digits": {"name": "Digits", "target": "target", "problem": "classification", "origin": "bundled"},
    "diabetes": {"name": "Diabetes", "target": "target", "problem": "regression", "origin": "bundled"},
    "california_housing": {"name": "California Housing", "target": "target", "problem": "regression",
                           "origin": "download"},
    "titanic": {"name": "Titanic", "target": "Survived", "problem": "classification", "origin": "download"},
    "boston_housing": {"name": "Boston Housing", "target": "MEDV", "problem": "regression", "origin": "bundled"},
    "air_passengers": {"name": "Air Passengers", "target": "Passengers", "problem": "regression", "origin": "bundled"},
    "sms_spam": {"name": "SMS Spam", "target": "label", "problem": "classification", "origin": "download"},
    "imdb_reviews": {"name": "IMDb Reviews", "target": "sentiment", "problem": "classification", "origin": "download"},
    "credit_fraud": {"name": "Credit Card Fraud", "target": "Class", "problem": "classification", "origin": "download"},
    "synthetic_imbalanced": {"name": "Synthetic Imbalanced", "target": "target", "problem": "classification",
                             "origin": "generated"},
    "transactions_categorical": {"name": "Transactions (categorical)", "target": "is_fraud",
                                 "problem": "classification", "origin": "generated"},
}
"""Sample dataset id → display name, default target, default problem type and how the engine gets it
(``bundled`` with a package, ``generated``, or ``download``: fetched from the internet on first use,
see docs/datasets.md) (contract §7)."""

ALGORITHMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "logistic_regression": ("Logistic Regression", ("classification",)),
    "linear_regression": ("Linear Regression", ("regression",)),
    "decision_tree": ("Decision Tree", ("classification", "regression")),
    "random_forest": ("Random Forest", ("classification", "regression")),
    "xgboost": ("XGBoost", ("classification", "regression")),
    "knn": ("K-Nearest Neighbors", ("classification", "regression")),
    "naive_bayes": ("Naive Bayes", ("classification",)),
    "svm": ("Support Vector Machine", ("classification", "regression")),
    "neural_network": ("Neural Network", ("classification", "regression")),
    "kmeans": ("K-Means Clustering", ("clustering",)),
}
"""Algorithm slug → (display name, problem types) (contract §3)."""

METRICS: dict[str, list[str]] = {
    "classification": ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "balanced_accuracy",
                       "matthews_corrcoef"],
    "regression": ["rmse", "mse", "mae", "r2", "mape", "explained_variance"],
    "clustering": ["silhouette_score", "davies_bouldin_index", "calinski_harabasz_index", "inertia"],
}
"""Metric keys per problem type; the first four (or all, if fewer) are preselected (contract §4)."""

METRIC_NAMES: dict[str, str] = {
    "accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "f1": "F1 Score", "roc_auc": "ROC AUC",
    "log_loss": "Log Loss", "balanced_accuracy": "Balanced Accuracy", "matthews_corrcoef": "Matthews Correlation",
    "rmse": "Root Mean Squared Error", "mse": "Mean Squared Error", "mae": "Mean Absolute Error", "r2": "R² Score",
    "mape": "Mean Absolute % Error", "explained_variance": "Explained Variance", "silhouette_score": "Silhouette Score",
    "davies_bouldin_index": "Davies-Bouldin Index", "calinski_harabasz_index": "Calinski-Harabasz Index",
    "inertia": "Inertia",
}
"""Metric key → the platform's display name (contract §4)."""

PLOTS: dict[str, list[str]] = {
    "classification": ["confusion_matrix", "roc_curve", "precision_recall_curve", "feature_importance",
                       "learning_curve", "coefficient_plot", "probability_calibration"],
    "regression": ["prediction_vs_actual", "residual_plot", "feature_importance", "learning_curve",
                   "coefficient_plot"],
    "clustering": ["confusion_matrix", "learning_curve"],
}
"""Plot keys per problem type; the first two are preselected (contract §5)."""

PLOT_NAMES: dict[str, str] = {
    "confusion_matrix": "Confusion Matrix", "roc_curve": "ROC Curve", "precision_recall_curve": "Precision-Recall Curve",
    "feature_importance": "Feature Importance", "learning_curve": "Learning Curve",
    "coefficient_plot": "Coefficient Plot", "probability_calibration": "Probability Calibration",
    "prediction_vs_actual": "Prediction vs Actual", "residual_plot": "Residual Plot",
}
"""Plot key → the platform's display name (contract §5); K-Means names two differently (:data:`CLUSTER_PLOT_NAMES`)."""

CLUSTER_PLOT_NAMES = {"confusion_matrix": "Cluster Scatter Plot", "learning_curve": "Elbow Plot"}


def plot_name(key: str, problem_type: str) -> str:
    """How the platform names plot ``key`` for ``problem_type``."""
    if problem_type == "clustering" and key in CLUSTER_PLOT_NAMES:
        return CLUSTER_PLOT_NAMES[key]
    return PLOT_NAMES.get(key, key.replace("_", " ").capitalize())


def metric_choices(problem_type: str) -> list[tuple[str, str]]:
    """(display name, key) for the metrics of ``problem_type``."""
    return [(METRIC_NAMES.get(k, k), k) for k in METRICS.get(problem_type, [])]


def plot_choices(problem_type: str) -> list[tuple[str, str]]:
    """(display name, key) for the plots of ``problem_type``."""
    return [(plot_name(k, problem_type), k) for k in PLOTS.get(problem_type, [])]


def sample_choices() -> list[tuple[str, str]]:
    """(label, id) for the sample picker; samples fetched on first use say so."""
    return [(v["name"] + (" · downloaded on first use" if v["origin"] == "download" else ""), k)
            for k, v in SAMPLES.items()]


def examples() -> dict[str, str]:
    """Example workflows from ``examples/*.json``: label → pretty JSON text."""
    out: dict[str, str] = {}
    for path in sorted(Path(EXAMPLES_DIR).glob("*.json")):
        try:
            out[path.stem.replace("_", " ")] = json.dumps(json.loads(path.read_text()), indent=1)
        except (OSError, ValueError):
            continue
    return out


def csv_columns(text: str) -> list[str]:
    """The header of a CSV text (empty when there is none)."""
    try:
        return next(csv.reader(io.StringIO(text[:65536])), [])
    except csv.Error:
        return []


DATASET_NODE = "dataset-1"
"""The quick-train workflow's dataset node: the key of its upload in ``Worker.submit(files=)``."""


def quick_workflow(
    *,
    dataset_id: str | None,
    csv_text: str | None,
    uploaded: bool = False,
    target: str | None,
    problem_type: str,
    algorithm: str,
    metrics: list[str],
    plots: list[str],
    test_size: float = 0.2,
    seed: int = 42,
    drop_columns: list[str] | None = None,
    confidence_intervals: bool = False,
    cv_folds: int = 0,
    dataset_name: str | None = None,
) -> dict[str, Any]:
    """The workflow the platform's canvas would send for the quick-train form.

    ``drop_columns`` adds a preprocessing node that leaves those columns out of the features;
    ``confidence_intervals`` sets the evaluate node's ``showConfidenceIntervals``; ``cv_folds`` ≥ 2
    trains with k-fold cross-validation. ``uploaded``: the data is a file passed to the job by
    reference for :data:`DATASET_NODE` (the page's upload): the node names no data; ``csv_text``
    (inline CSV) is for callers that send the text itself.
    """
    dataset: dict[str, Any] = {"problem_type": problem_type, "target_column": target or None}
    if uploaded:
        dataset.update(dataset_id="upload", dataset_name=dataset_name or "Uploaded CSV", is_sample=False)
    elif csv_text is not None:
        dataset.update(dataset_id="upload", dataset_name=dataset_name or "Uploaded CSV", is_sample=False, data=csv_text)
    else:
        sample = SAMPLES.get(dataset_id or "", {})
        dataset.update(dataset_id=dataset_id, dataset_name=sample.get("name", dataset_id), is_sample=True)
    if problem_type == "clustering":
        dataset["target_column"] = None
    nodes: list[dict[str, Any]] = [{"id": DATASET_NODE, "type": "dataset", "config": dataset}]
    chain = [DATASET_NODE]
    dropped = [c for c in drop_columns or [] if c and c != dataset["target_column"]]
    if dropped:
        op = {"type": "drop_columns", "params": {"columns": dropped}}
        nodes.append({"id": "preprocessing-2", "type": "preprocessing", "config": {"operations": [op]}})
        chain.append("preprocessing-2")
    if problem_type != "clustering":
        split = {"test_size": test_size, "random_seed": seed, "shuffle": True, "stratify": problem_type == "classification"}
        nodes.append({"id": "split-3", "type": "split", "config": split})
        chain.append("split-3")
    model: dict[str, Any] = {"algorithm": algorithm, "hyperparameters": {}}
    if cv_folds and cv_folds >= 2:
        model.update(useCrossValidation=True, cvFolds=int(cv_folds))
    nodes.append({"id": "model-4", "type": "model", "config": model})
    chain.append("model-4")
    if metrics:
        evaluate: dict[str, Any] = {"selected_metrics": list(metrics)}
        if confidence_intervals:
            evaluate["showConfidenceIntervals"] = True
        nodes.append({"id": "evaluate-5", "type": "evaluate", "config": evaluate})
        chain.append("evaluate-5")
    if plots:
        nodes.append({"id": "visualize-6", "type": "visualize", "config": {"selected_plots": list(plots)}})
        chain.append("visualize-6")
    edges = [{"id": f"xy-edge__{a}-{b}", "source": a, "target": b} for a, b in zip(chain, chain[1:], strict=False)]
    return {"nodes": nodes, "edges": edges}
