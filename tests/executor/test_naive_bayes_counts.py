"""Multinomial naive Bayes is fitted on the features as scikit-learn would: nothing inserted, negatives refused."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import MultinomialNB

from tests.executor import enginekit as kit


def _digits_workflow(ops: list[dict] | None = None, variant: str = "multinomial") -> dict:
    nodes = [
        {"id": "dataset-1", "type": "dataset", "config": {"dataset_id": "digits", "is_sample": True,
                                                          "target_column": "target",
                                                          "problem_type": "classification"}},
        {"id": "split-2", "type": "split", "config": {"test_size": 0.2, "random_seed": 42, "shuffle": True,
                                                      "stratify": False}},
        {"id": "model-3", "type": "model", "config": {"algorithm": "naive_bayes",
                                                      "hyperparameters": {"variant": variant, "alpha": 1,
                                                                          "fit_prior": True}}},
        {"id": "evaluate-4", "type": "evaluate", "config": {"selected_metrics": ["log_loss", "accuracy"]}},
    ]
    chain = ["dataset-1", "split-2", "model-3", "evaluate-4"]
    if ops is not None:
        nodes.insert(1, {"id": "preprocessing-5", "type": "preprocessing", "config": {"operations": ops}})
        chain.insert(1, "preprocessing-5")
    return {"nodes": nodes, "edges": [kit.edge(a, b) for a, b in zip(chain, chain[1:], strict=False)]}


def test_multinomial_naive_bayes_log_loss_on_digits_equals_scikit_learns_on_the_same_split() -> None:
    out = kit.run(_digits_workflow())
    assert out["status"] == "completed", out.get("error")
    metrics = {m["key"]: m["value"] for m in out["results"]["metrics"]}
    X, y = load_digits(return_X_y=True)
    train, test = train_test_split(np.arange(len(y)), test_size=0.2, random_state=42, shuffle=True)
    reference = MultinomialNB(alpha=1, fit_prior=True).fit(X[train], y[train])
    assert metrics["log_loss"] == pytest.approx(log_loss(y[test], reference.predict_proba(X[test])), rel=1e-9)
    assert metrics["log_loss"] > 2  # scikit-learn's 2.27, not the 0.33 of a model with a scaler put in front
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y[test], reference.predict(X[test])))
    assert not [w for w in out["results"]["warnings"] if "MinMax" in w or "rescaled" in w]


def test_negative_features_are_refused_with_a_coded_error_naming_the_columns() -> None:
    out = kit.run(_digits_workflow([{"type": "scale_standard", "params": {"columns": "all_numeric"}}]))
    assert out["status"] == "failed"
    assert out["errorCode"] == "execution_error"
    assert "non-negative" in out["error"] and "pixel_0_2" in out["error"] and "[model-3 · Naive Bayes]" in out["error"]
    details = out["errorDetails"]
    assert details["field"] == "hyperparameters.variant" and "pixel_0_2" in details["columns"]


def test_complement_naive_bayes_refuses_negative_features_too() -> None:
    records = [{"a": float(v), "b": float(v) * 2 - 1, "y": int(v > 0.5)} for v in np.linspace(0, 1, 40)]
    out = kit.run(kit.inline_workflow(records, "y", "classification", algorithm="naive_bayes",
                                      hyperparameters={"variant": "complement"}))
    assert out["status"] == "failed" and out["errorDetails"]["columns"] == ["b"]
