"""The returned model loads and predicts where only joblib, scikit-learn, XGBoost, numpy and pandas exist.

Each workflow is trained by the engine; its model file (``model_base64`` decoded, exactly what the
platform writes to a ``.joblib`` file) is loaded in a separate ``python -I`` interpreter (isolated:
no cwd, no PYTHONPATH, no user site) started in a temp dir outside the repository, where no module
of this project can be imported, and predicts on the raw test columns. Its predictions must equal
the ones the worker scored. Together the workflows cover every preprocessing op family (learned
ops of the three vocabularies, the default encodings of numbers, booleans, strings, text and
dates) and every algorithm.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from executor import EngineLimits
from executor.results import encode_model
from executor.validate import validate_workflow
from executor.workbench import Workbench
from sandbox import JobContext
from tests.executor import enginekit as kit

pytestmark = pytest.mark.slow  # trains and exports models, then loads them in a fresh interpreter

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # trains 14 models, spawns an interpreter
PROJECT_MODULES = ("executor", "sandbox", "service", "tests", "app", "bench")


def mixed_records(n: int = 240, seed: int = 3) -> list[dict[str, Any]]:
    """Numbers with gaps and zeros, a boolean, low- and high-cardinality strings, free text and dates."""
    rng = np.random.default_rng(seed)
    words = ["red", "green", "blue", "fast", "slow", "cheap", "costly", "new", "old", "big", "small", "fine"]
    rows = []
    for _ in range(n):
        x1 = float(np.round(rng.normal(10, 3), 3))
        x2 = float(np.round(rng.exponential(2), 3)) if rng.random() > 0.1 else None
        x3 = int(rng.integers(0, 5))  # zeros: ratios and reciprocals meet them
        colour = str(rng.choice(["red", "green", "blue"])) if rng.random() > 0.05 else None
        code = f"C{int(rng.integers(0, 40)):02d}"  # > 20 values: ordinal by default
        text = " ".join(rng.choice(words, size=int(rng.integers(4, 9))))
        day = f"2021-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 28)):02d}"
        flag = bool(rng.random() > 0.5)
        score = x1 + (x2 or 0) * 2 + (3 if colour == "red" else 0) + rng.normal(0, 1)
        rows.append({"x1": x1, "x2": x2, "x3": x3, "colour": colour, "code": code, "note": text, "day": day,
                     "flag": flag, "label": "high" if score > 13 else "low", "score": float(np.round(score, 3))})
    return rows


def _workflow(target: str, problem: str, algorithm: str, ops: list[dict[str, Any]] | None = None,
              hyper: dict[str, Any] | None = None, drop: str | None = None) -> dict[str, Any]:
    ops = list(ops or [])
    if drop is not None:  # the other label column is not a feature
        ops.insert(0, {"type": "drop_columns", "params": {"columns": [drop]}})
    return kit.inline_workflow(mixed_records(), target, problem, algorithm=algorithm, ops=ops,
                               split={"test_size": 0.25, "random_seed": 7, "shuffle": True},
                               hyperparameters=hyper)


def _op(kind: str, **params: Any) -> dict[str, Any]:
    return {"type": kind, "params": params}


OPS_FRONTEND = [
    _op("remove_duplicates", keep="first"),
    _op("fill_missing", strategy="median", columns="all_numeric"),
    _op("fill_missing", strategy="mode", columns="all_categorical"),
    _op("remove_outliers_iqr", threshold=1.5, action="clip"),
    _op("scale_standard", columns="all_numeric", withMean=True, withStd=True),
    _op("encode_onehot", columns=["colour"], dropFirst=True, handleUnknown="ignore"),
    _op("encode_label", columns=["code"]),
]
OPS_BACKEND = [
    _op("fill_missing_constant", fill_value="0"),
    _op("outlier_clip", lower_percentile=5, upper_percentile=95),
    _op("outlier_zscore", z_threshold=4),
    _op("minmax_scaler", feature_range_min=0, feature_range_max=2),
    _op("robust_scaler"),
    _op("maxabs_scaler"),
    _op("onehot_encoder", columns=["colour", "code"], drop_first=False),
]
OPS_FEATURES = [
    _op("log_transform", logType="log1p", columns=["x2"], handleNegative="skip", suffix="_log"),
    _op("power_transform", power="cube", columns=["x1"]),
    _op("power_transform", power="sqrt", columns=["x3"], handleNegative="absolute"),
    _op("exponential_transform", columns=["x3"], handleLarge="clip"),
    _op("reciprocal_transform", columns=["x3"], handleZero="nan", addConstant=0),
    _op("ratio", ratios=[{"numerator": "x1", "denominator": "x3"}]),
    _op("difference", differences=[{"col1": "x1", "col2": "x2"}], includeAbsolute=True),
    _op("sum", columns=["x1", "x2", "x3"], featureName="total", includeAverage=True),
    _op("interaction", degree=2, columns=["x1", "x3"]),
    _op("polynomial", degree=2, columns=["x2"], includeBias=True),
    _op("binning_width", column="x1", bins=4, encoding="onehot", keepOriginal=True),
    _op("binning_frequency", column="x2", bins=3, encoding="ordinal"),
    _op("binning_quantile", column="x3", quantiles="0.3,0.6", encoding="ordinal", keepOriginal=False),
]

C, R = "classification", "regression"
CASES: dict[str, dict[str, Any]] = {
    # every op family, with the default encodings of the columns the ops leave alone
    "frontend_ops-random_forest": _workflow("label", C, "random_forest", OPS_FRONTEND, drop="score"),
    "backend_ops-logistic_regression": _workflow("label", C, "logistic_regression", OPS_BACKEND, drop="score"),
    "feature_ops-xgboost": _workflow("score", R, "xgboost", OPS_FEATURES, {"n_estimators": 20}, drop="label"),
    # every algorithm on the raw mixed columns (defaults: median, 0/1, one-hot, ordinal, TF-IDF, dates)
    "linear_regression": _workflow("score", R, "linear_regression", drop="label"),
    "decision_tree": _workflow("label", C, "decision_tree", drop="score"),
    "random_forest_regression": _workflow("score", R, "random_forest", hyper={"n_estimators": 10}, drop="label"),
    "xgboost_classification": _workflow("label", C, "xgboost", hyper={"n_estimators": 10}, drop="score"),
    "knn": _workflow("label", C, "knn", [_op("scale_standard")], drop="score"),
    "naive_bayes_gaussian": _workflow("label", C, "naive_bayes", drop="score"),
    "naive_bayes_multinomial": _workflow("label", C, "naive_bayes", [_op("scale_minmax")],
                                         {"variant": "multinomial"}, drop="score"),
    "svm_probability": _workflow("label", C, "svm", [_op("scale_standard")], {"probability": True}, drop="score"),
    "svm_regression": _workflow("score", R, "svm", [_op("scale_robust")], drop="label"),
    "neural_network": _workflow("label", C, "neural_network", [_op("scale_standard")],
                                {"hidden_layer_sizes": "(16,)", "max_iter": 50, "early_stopping": False},
                                drop="score"),
    "kmeans": _workflow("label", "clustering", "kmeans", [_op("scale_standard")], {"n_clusters": 3}, drop="score"),
}

FROM_THE_RESULT = ("frontend_ops-random_forest", "feature_ops-xgboost", "kmeans")
"""Cases whose model file is taken from ``results.model_base64`` of a whole run (the others are
encoded from the same training by the same function)."""

_LOADER = r"""
import importlib.util, json, sys
import joblib, numpy as np, pandas as pd
for name in %(project)r:
    assert importlib.util.find_spec(name) is None, f"{name} is importable: the check would prove nothing"
out = {}
for case in json.load(open("cases.json")):
    model = joblib.load(case + ".joblib")
    X = pd.read_pickle(case + ".rows.pkl")
    np.save(case + ".pred.npy", model.predict(X))
    shuffled = X[X.columns[::-1]].assign(not_a_feature=0)  # columns in another order, one extra
    np.save(case + ".pred-shuffled.npy", model.predict(shuffled))
    if hasattr(model, "predict_proba"):
        np.save(case + ".proba.npy", model.predict_proba(X))
    out[case] = sorted(m for m in sys.modules if m.split(".")[0] in %(project)r)
print(json.dumps(out))
"""


def _train(workflow: dict[str, Any]) -> Any:
    plan = validate_workflow(workflow)
    bench = Workbench(plan, EngineLimits(), JobContext.local(), [])
    for nid in plan.graph.of_type("dataset"):
        bench.load(nid, plan.configs[nid])
    return bench.train(plan.graph.of_type("model")[0]).evaluation


LIBRARIES = {"builtins", "copyreg", "operator", "numpy", "pandas", "sklearn", "xgboost"}
"""Top-level modules a model file may name: the ones the platform's user has (pyarrow, which pandas
can use to store strings, is not among them)."""


class _Recorder(pickle.Unpickler):
    """Unpickles and records every (module, name) the pickle refers to."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.names: set[tuple[str, str]] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.names.add((module, name))
        return super().find_class(module, name)


def _pickled_modules(data: bytes) -> set[str]:
    """Top-level modules of every class and function the pickle refers to."""
    recorder = _Recorder(data)
    recorder.load()
    return {module.split(".")[0] for module, _ in recorder.names}


@pytest.fixture(scope="module")
def isolated_predictions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Train every case, write its model file and raw test rows, predict in one isolated interpreter."""
    work = tmp_path_factory.mktemp("portable")
    assert REPO not in work.resolve().parents
    evaluations = {}
    for case, workflow in CASES.items():
        ev = _train(workflow)
        if case in FROM_THE_RESULT:  # the file exactly as the platform gets it, from a whole run
            out = kit.run(workflow)
            assert out["status"] == "completed", out.get("error")
            b64, size = out["results"]["model_base64"], len(base64.b64decode(out["results"]["model_base64"]))
        else:
            b64, size, note = encode_model(ev.model, max_mb=8)
            assert b64 is not None, note
        raw = base64.b64decode(b64)
        (work / f"{case}.joblib").write_bytes(raw)
        ev.X_test.to_pickle(work / f"{case}.rows.pkl")
        evaluations[case] = (ev, raw, size)
    (work / "cases.json").write_text(json.dumps(list(CASES)))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    done = subprocess.run([sys.executable, "-I", "-c", _LOADER % {"project": PROJECT_MODULES}], cwd=work, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    return {"work": work, "evaluations": evaluations, "loaded": loaded}


@pytest.mark.parametrize("case", list(CASES))
def test_the_model_file_predicts_as_the_worker_did_without_the_project(case: str,
                                                                       isolated_predictions: dict[str, Any]) -> None:
    work = isolated_predictions["work"]
    ev, raw, _ = isolated_predictions["evaluations"][case]
    assert isolated_predictions["loaded"][case] == []  # no module of this project was imported
    predicted = np.load(work / f"{case}.pred.npy", allow_pickle=False)
    if ev.problem_type == "regression":
        np.testing.assert_allclose(predicted, ev.y_pred, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(predicted, ev.y_pred)
    np.testing.assert_array_equal(np.load(work / f"{case}.pred-shuffled.npy"), predicted)
    if ev.score_kind == "proba":
        np.testing.assert_allclose(np.load(work / f"{case}.proba.npy"), ev.y_score, rtol=1e-12, atol=1e-12)
    assert _pickled_modules(zlib.decompress(raw)) <= LIBRARIES


def test_the_cases_cover_every_op_family_and_algorithm() -> None:
    from executor.algorithms import algorithm_names
    from executor.preprocess import OP_TYPES

    ops = {op["type"] for wf in CASES.values() for n in wf["nodes"] if n["type"] == "preprocessing"
           for op in n["config"]["operations"]}
    algorithms = {n["config"]["algorithm"] for wf in CASES.values() for n in wf["nodes"] if n["type"] == "model"}
    assert algorithms == set(algorithm_names())
    families = {"fill_missing", "scale_", "_scaler", "onehot", "label", "outlier", "log_", "power_", "exponential",
                "reciprocal", "ratio", "difference", "sum", "polynomial", "interaction", "binning_", "duplicates",
                "drop_columns"}
    assert all(any(f in op for op in ops) for f in families)
    assert {op for op in OP_TYPES if op.startswith("binning_")} <= ops


def test_the_result_says_how_to_use_the_model_file() -> None:
    out = kit.run(CASES["frontend_ops-random_forest"])
    assert out["status"] == "completed", out.get("error")
    usage = out["results"]["modelUsage"]
    names = [c["name"] for c in usage["columns"]]
    assert names == ["x1", "x2", "x3", "colour", "code", "note", "day", "flag"]  # raw columns, no label
    assert {c["name"]: c["dtype"] for c in usage["columns"]}["flag"] == "bool"
    assert len(usage["snippet"].splitlines()) == 2 and "joblib.load" in usage["snippet"]
    assert usage["classes"] == ["high", "low"] and usage["probabilities"] is True
    assert set(usage["libraries"]) >= {"scikit-learn", "numpy", "pandas", "joblib"}
