"""Preprocessing: every op of the three vocabularies runs with its params honoured, the target untouched."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from executor.errors import ExecutionError
from executor.preprocess import OP_TYPES, apply_filters, build_steps, plan_operations
from executor.schema import Operation
from tests.executor import enginekit as kit


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "a": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0, 100.0, 2.0, 3.0],
        "b": [2.0, 1.0, 3.0, 4.0, 0.5, 6.0, 7.0, 8.0, 1.0, 3.0],
        "c": ["x", "y", "x", None, "y", "z", "x", "y", "y", "x"],
        "t": [0, 1, 0, 1, 0, 1, 0, 1, 1, 0],
    })


def _apply(op_type: str, params: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(frame after filters, features after the learned steps fitted on it)."""
    planned, problems = plan_operations("pre-1", [Operation(type=op_type, params=params)])
    assert problems == []
    frame, _ = apply_filters(_frame(), planned, "t")
    X = frame.drop(columns="t")
    prep = Pipeline(build_steps(planned, "t", max_columns=2000)[:-1] or [("noop", "passthrough")])
    return frame, prep.fit(X).transform(X)


# (op type, params, check(frame_after_filters, features))
CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("fill_missing", {"strategy": "median", "columns": "all_numeric"}, lambda f, X: X["a"].iloc[2] == 4.0),
    ("fill_missing", {"strategy": "mode", "columns": "all_categorical"}, lambda f, X: X["c"].iloc[3] in "xy"),
    ("fill_missing", {"strategy": "constant", "columns": "all_numeric", "constantValue": -1},
     lambda f, X: X["a"].iloc[2] == -1),
    ("fill_missing_mean", {}, lambda f, X: abs(X["a"].iloc[2] - 130 / 9) < 1e-9),
    ("fill_missing_median", {}, lambda f, X: X["a"].iloc[2] == 4.0),
    ("fill_missing_mode", {}, lambda f, X: X["a"].iloc[2] == 2.0 and X["c"].isna().sum() == 0),
    ("fill_missing_constant", {"fill_value": "0"}, lambda f, X: X["a"].iloc[2] == 0.0 and X["c"].iloc[3] == "0"),
    ("scale_standard", {"withMean": True, "withStd": True}, lambda f, X: abs(X["b"].mean()) < 1e-9),
    ("scale_standard", {"withMean": False, "withStd": True}, lambda f, X: X["b"].min() > 0),
    ("standard_scaler", {}, lambda f, X: abs(X["b"].std(ddof=0) - 1) < 1e-9),
    ("scale_minmax", {"rangeMin": -1, "rangeMax": 1}, lambda f, X: (X["b"].min(), X["b"].max()) == (-1, 1)),
    ("minmax_scaler", {"feature_range_min": 0, "feature_range_max": 10}, lambda f, X: X["b"].max() == 10),
    ("scale_robust", {}, lambda f, X: X["b"].median() == 0),
    ("robust_scaler", {}, lambda f, X: X["b"].median() == 0),
    ("maxabs_scaler", {}, lambda f, X: X["b"].abs().max() == 1),
    ("encode_onehot", {"dropFirst": True, "handleUnknown": "ignore"}, lambda f, X: sum(c.startswith("c_") for c in X) == 3),
    ("onehot_encoder", {"drop_first": False}, lambda f, X: {"c_x", "c_y", "c_z"} <= set(X)),
    ("encode_label", {}, lambda f, X: X["c"].dtype.kind == "f"),
    ("label_encoder", {"columns": ["c"]}, lambda f, X: set(X["c"]) <= {0, 1, 2, 3}),
    ("remove_duplicates", {"keep": "last"}, lambda f, X: len(f) == 9 and 8 in f.index and 1 not in f.index),
    ("remove_outliers_iqr", {"threshold": 1.5, "action": "remove"}, lambda f, X: 100.0 not in set(f["a"])),
    ("remove_outliers_iqr", {"threshold": 1.5, "action": "clip"}, lambda f, X: len(f) == 10 and X["a"].max() < 100),
    ("remove_outliers_zscore", {"threshold": 2, "action": "remove"}, lambda f, X: len(f) == 9),
    ("outlier_iqr", {"iqr_multiplier": 1.5}, lambda f, X: len(f) == 9),
    ("outlier_zscore", {"z_threshold": 2}, lambda f, X: len(f) == 9),
    ("outlier_clip", {"lower_percentile": 10, "upper_percentile": 90}, lambda f, X: X["a"].max() < 100),
    ("drop_columns", {"columns": ["b", "t"]}, lambda f, X: list(f.columns) == ["a", "c", "t"]),
    ("drop_columns", {"columns": []}, lambda f, X: f.shape[1] == 4),
    ("drop_missing_rows", {"threshold": 0}, lambda f, X: len(f) == 8),
    ("drop_missing_columns", {"threshold": 5}, lambda f, X: list(f.columns) == ["b", "t"]),
    ("log_transform", {"logType": "log1p", "columns": ["b"], "handleNegative": "skip", "suffix": "_log"},
     lambda f, X: np.allclose(X["b_log"], np.log1p(X["b"]))),
    ("log_transform", {"logType": "natural", "columns": []}, lambda f, X: "b_log" in X),
    ("power_transform", {"power": "square", "columns": ["b"]}, lambda f, X: np.allclose(X["b_pow2"], X["b"] ** 2)),
    ("power_transform", {"power": "sqrt", "columns": ["b"]}, lambda f, X: np.allclose(X["b_pow0.5"], X["b"] ** .5)),
    ("exponential_transform", {"columns": ["b"], "handleLarge": "clip"}, lambda f, X: "b_exp" in X),
    ("reciprocal_transform", {"columns": ["b"], "handleZero": "nan", "addConstant": 1},
     lambda f, X: np.allclose(X["b_recip"], 1 / (X["b"] + 1))),
    ("polynomial", {"degree": 2, "columns": ["a", "b"]}, lambda f, X: {"poly_a^2", "poly_a b", "poly_b^2"} <= set(X)),
    ("interaction", {"degree": 2, "columns": ["a", "b"]}, lambda f, X: "poly_a b" in X and "poly_a^2" not in X),
    ("ratio", {"ratios": [{"numerator": "a", "denominator": "b"}]}, lambda f, X: "a_div_b" in X),
    ("difference", {"differences": [{"col1": "a", "col2": "b"}], "includeAbsolute": True},
     lambda f, X: "abs_a_minus_b" in X),
    ("sum", {"columns": ["a", "b"], "featureName": "ab", "includeAverage": True}, lambda f, X: "ab_avg" in X),
    ("binning_width", {"column": "b", "bins": 3, "encoding": "ordinal"}, lambda f, X: set(X["b_bin"]) <= {0, 1, 2}),
    ("binning_frequency", {"column": "b", "bins": 2, "encoding": "onehot", "keepOriginal": False},
     lambda f, X: "b" not in X and "b_bin_1" in X),
    ("binning_quantile", {"column": "b", "quantiles": "0.5"}, lambda f, X: set(X["b_bin"]) == {0, 1}),
]


@pytest.mark.parametrize("op_type, params, check", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_op_honours_its_params(op_type: str, params: dict[str, Any], check: Any) -> None:
    frame, X = _apply(op_type, params)
    assert "t" not in X.columns
    assert check(frame, X)


def test_every_op_type_is_covered_by_the_table() -> None:
    assert {c[0] for c in CASES} == set(OP_TYPES)


def test_the_target_is_never_transformed() -> None:
    planned, _ = plan_operations("pre-1", [Operation(type="scale_standard", params={"columns": ["a", "t"]})])
    frame, _ = apply_filters(_frame(), planned, "t")
    assert list(frame["t"]) == list(_frame()["t"])


@pytest.mark.parametrize("op_type, params, fragment", [
    ("scale_standard", {"columns": ["nope"]}, "'nope' not found"),
    ("encode_onehot", {"columns": ["c"], "handleUnknown": "error", "dropFirst": False}, "unknown categor"),
])
def test_a_failing_op_is_an_execution_error_naming_op_and_node(op_type: str, params: dict, fragment: str) -> None:
    planned, _ = plan_operations("pre-1", [Operation(type=op_type, params=params)])
    steps = build_steps(planned, "t", max_columns=2000)
    X = _frame().drop(columns="t")
    with pytest.raises(ExecutionError, match=fragment) as info:
        Pipeline(steps).fit(X.iloc[:4]).transform(X)
    assert info.value.node_id == "pre-1" and op_type in str(info.value)


def test_feature_explosion_is_refused_by_max_columns() -> None:
    planned, _ = plan_operations("pre-1", [Operation(type="polynomial", params={"degree": 3})])
    with pytest.raises(ExecutionError, match="max_columns"):
        Pipeline(build_steps(planned, "t", max_columns=5)).fit(_frame().drop(columns="t"))


def test_strings_and_missing_values_get_stated_defaults() -> None:
    wf = kit.inline_workflow(kit.titanic_like(), "Survived", "classification")
    out = kit.run(wf)
    assert out["status"] == "completed", out.get("error")
    warnings = " ".join(out["results"]["warnings"])
    assert "median" in warnings and "one-hot" in warnings and "ordinal-encoded" in warnings
    assert out["results"]["dataset"]["classes"] == ["no", "yes"]


@pytest.mark.parametrize("algorithm", ["xgboost", "logistic_regression", "naive_bayes"])
def test_string_labels_train_with_every_classifier(algorithm: str) -> None:
    out = kit.run(kit.inline_workflow(kit.titanic_like(), "Survived", "classification", algorithm=algorithm,
                                      metrics=["accuracy", "roc_auc"]))
    assert out["status"] == "completed", out.get("error")
    assert {m["key"] for m in out["results"]["metrics"]} == {"accuracy", "roc_auc"}
