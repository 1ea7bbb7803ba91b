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
    "ALGORITHMS",
    "METRICS",
    "PLOTS",
    "PROBLEM_TYPES",
    "SAMPLES",
    "csv_columns",
    "examples",
    "quick_workflow",
]

EXAMPLES_DIR = REPO_ROOT / "examples"

PROBLEM_TYPES = ["classification", "regression", "clustering"]

SAMPLES: dict[str, dict[str, Any]] = {
    "iris": {"name": "Iris", "target": "target", "problem": "classification"},
    "breast_cancer": {"name": "Breast Cancer", "target": "target", "problem": "classification"},
    "wine": {"name": "Wine", "target": "target", "problem": "classification"},
    "digits": {"name": "Digits", "target": "target", "problem": "classification"},
    "diabetes": {"name": "Diabetes", "target": "target", "problem": "regression"},
    "california_housing": {"name": "California Housing", "target": "target", "problem": "regression"},
    "titanic": {"name": "Titanic", "target": "Survived", "problem": "classification"},
    "boston_housing": {"name": "Boston Housing", "target": "MEDV", "problem": "regression"},
    "air_passengers": {"name": "Air Passengers", "target": "Passengers", "problem": "regression"},
    "sms_spam": {"name": "SMS Spam", "target": "label", "problem": "classification"},
    "imdb_reviews": {"name": "IMDb Reviews", "target": "sentiment", "problem": "classification"},
    "credit_fraud": {"name": "Credit Card Fraud", "target": "Class", "problem": "classification"},
    "synthetic_imbalanced": {"name": "Synthetic Imbalanced", "target": "target", "problem": "classification"},
    "transactions_categorical": {"name": "Transactions (categorical)", "target": "is_fraud", "problem": "classification"},
}
"""Sample dataset id → display name, default target and default problem type (contract §7)."""

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

PLOTS: dict[str, list[str]] = {
    "classification": ["confusion_matrix", "roc_curve", "precision_recall_curve", "feature_importance",
                       "learning_curve", "coefficient_plot", "probability_calibration"],
    "regression": ["prediction_vs_actual", "residual_plot", "feature_importance", "learning_curve",
                   "coefficient_plot"],
    "clustering": ["confusion_matrix", "learning_curve"],
}
"""Plot keys per problem type; the first two are preselected (contract §5)."""


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


def quick_workflow(
    *,
    dataset_id: str | None,
    csv_text: str | None,
    target: str | None,
    problem_type: str,
    algorithm: str,
    metrics: list[str],
    plots: list[str],
    test_size: float = 0.2,
    seed: int = 42,
) -> dict[str, Any]:
    """The workflow the platform's canvas would send for the quick-train form."""
    dataset: dict[str, Any] = {"problem_type": problem_type, "target_column": target or None}
    if csv_text is not None:
        dataset.update(dataset_id="upload", dataset_name="Uploaded CSV", is_sample=False, data=csv_text)
    else:
        sample = SAMPLES.get(dataset_id or "", {})
        dataset.update(dataset_id=dataset_id, dataset_name=sample.get("name", dataset_id), is_sample=True)
    if problem_type == "clustering":
        dataset["target_column"] = None
    nodes: list[dict[str, Any]] = [{"id": "dataset-1", "type": "dataset", "config": dataset}]
    chain = ["dataset-1"]
    if problem_type != "clustering":
        split = {"test_size": test_size, "random_seed": seed, "shuffle": True, "stratify": problem_type == "classification"}
        nodes.append({"id": "split-2", "type": "split", "config": split})
        chain.append("split-2")
    nodes.append({"id": "model-3", "type": "model", "config": {"algorithm": algorithm, "hyperparameters": {}}})
    chain.append("model-3")
    if metrics:
        nodes.append({"id": "evaluate-4", "type": "evaluate", "config": {"selected_metrics": list(metrics)}})
        chain.append("evaluate-4")
    if plots:
        nodes.append({"id": "visualize-5", "type": "visualize", "config": {"selected_plots": list(plots)}})
        chain.append("visualize-5")
    edges = [{"id": f"xy-edge__{a}-{b}", "source": a, "target": b} for a, b in zip(chain, chain[1:], strict=False)]
    return {"nodes": nodes, "edges": edges}
