"""One-hot encoding past the feature limit groups infrequent categories (scikit-learn's) instead of failing."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder

from executor.datasets.generated import transactions_categorical
from executor.preprocess.steps import ONEHOT_GROUP_CAP, ONEHOT_GROUP_MIN_COUNT
from tests.executor import enginekit as kit

CATEGORICAL = ["transaction_id", "merchant_id", "category", "city", "state"]


def _workflow(params: dict) -> dict:
    nodes = [
        {"id": "dataset-1", "type": "dataset", "config": {"dataset_id": "transactions_categorical", "is_sample": True,
                                                          "target_column": "is_fraud",
                                                          "problem_type": "classification"}},
        {"id": "preprocessing-2", "type": "preprocessing", "config": {"operations": [
            {"type": "encode_onehot", "params": params}]}},
        {"id": "split-3", "type": "split", "config": {"test_size": 0.2, "random_seed": 42, "stratify": False}},
        {"id": "model-4", "type": "model", "config": {"algorithm": "decision_tree",
                                                      "hyperparameters": {"max_depth": 5}}},
        {"id": "evaluate-5", "type": "evaluate", "config": {"selected_metrics": ["accuracy"]}},
    ]
    ids = [n["id"] for n in nodes]
    return {"nodes": nodes, "edges": [kit.edge(a, b) for a, b in zip(ids, ids[1:], strict=False)]}


def _reference_grouped() -> dict[str, int]:
    frame = transactions_categorical()
    train, _ = train_test_split(np.arange(len(frame)), test_size=0.2, random_state=42, shuffle=True)
    encoder = OneHotEncoder(max_categories=ONEHOT_GROUP_CAP, min_frequency=ONEHOT_GROUP_MIN_COUNT,
                            handle_unknown="infrequent_if_exist", drop="first")
    encoder.fit(frame.iloc[train][CATEGORICAL].astype(str))
    return {c: len(g) for c, g in zip(CATEGORICAL, encoder.infrequent_categories_, strict=True)
            if g is not None and len(g)}


@pytest.mark.slow
def test_the_frontend_defaults_on_transactions_group_rare_categories_instead_of_failing() -> None:
    out = kit.run(_workflow({"columns": "all_categorical", "dropFirst": True, "handleUnknown": "error"}))
    assert out["status"] == "completed", out.get("error")
    res = out["results"]
    note = next(w for w in res["warnings"] if "infrequent" in w)
    expected = _reference_grouped()
    assert int(re.search(r"so (\d+) infrequent", note).group(1)) == sum(expected.values())
    for column, count in expected.items():
        assert f"{column} {count}" in note
    assert res["featuresCount"] <= 2000
    assert "10124 features" in note  # what one column per category would have made


def test_within_the_limit_every_category_gets_its_column() -> None:
    records = [{"c": f"v{i % 30}", "x": float(i), "y": i % 2} for i in range(120)]
    out = kit.run(kit.inline_workflow(records, "y", "classification", algorithm="decision_tree",
                                      ops=[{"type": "encode_onehot", "params": {"dropFirst": False,
                                                                                "handleUnknown": "ignore"}}]))
    assert out["status"] == "completed", out.get("error")
    assert not [w for w in out["results"]["warnings"] if "infrequent" in w]
    assert out["results"]["featuresCount"] == 31  # 30 categories seen in training rows + x
