"""SHAP plots for every model the frontend offers them for, checked against the shap package.

Random forests and decision trees use shap's TreeExplainer; XGBoost its own TreeSHAP and linear
models the exact linear formula, both equal to what shap's explainers give. shap is imported on
first use only: never by the warm template (``executor.preload``) or an engine module's import.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from executor.plots import _explain as explain
from executor.plots import render_plots
from executor.plots._explain import SHAP_TREE_MIN_ROWS, shap_values
from executor.plots._figure import PlotContext
from tests.executor import enginekit as kit
from tests.executor.evalkit import make_evaluation

shap = pytest.importorskip("shap")
REPO = Path(__file__).resolve().parents[2]

EVALS = {
    "rf_multi": ("random_forest", "classification", "wine", {"n_estimators": 15, "max_depth": 4}),
    "rf_binary": ("random_forest", "classification", "breast_cancer", {"n_estimators": 10}),
    "rf_reg": ("random_forest", "regression", "diabetes", {"n_estimators": 10}),
    "dt_multi": ("decision_tree", "classification", "iris", None),
    "dt_reg": ("decision_tree", "regression", "diabetes", {"max_depth": 4}),
    "xgb_multi": ("xgboost", "classification", "iris", {"n_estimators": 15}),
    "xgb_binary": ("xgboost", "classification", "breast_cancer", {"n_estimators": 15}),
    "xgb_reg": ("xgboost", "regression", "diabetes", {"n_estimators": 15}),
    "lr_multi": ("logistic_regression", "classification", "iris", None),
    "linreg": ("linear_regression", "regression", "diabetes", None),
}


@pytest.fixture(scope="module")
def evals():
    return {name: make_evaluation(*args) for name, args in EVALS.items()}


def _ctx(ev, max_rows: int = 10_000) -> PlotContext:
    return PlotContext(dpi=60, max_rows=max_rows, threads=1, seed=ev.seed)


def _class_of_each_row(ev, reference: np.ndarray, rows: int) -> np.ndarray:
    """shap's per-class values (n, f, k) → the class the engine explains: positive or predicted."""
    if reference.ndim == 2:
        return reference
    chosen = np.ones(rows, dtype=int) if reference.shape[2] == 2 else np.asarray(ev.y_pred[:rows], dtype=int)
    return reference[np.arange(rows), :, chosen]


@pytest.mark.parametrize("name", ["rf_multi", "rf_binary", "rf_reg", "dt_multi", "dt_reg", "xgb_multi", "xgb_binary",
                                  "xgb_reg"])
def test_tree_shap_values_equal_shaps_tree_explainer(evals, name):
    ev = evals[name]
    contribs, base, values, _, _ = shap_values(ev, _ctx(ev))
    assert contribs.shape == values.shape and len(values) == len(ev.X_test)  # every test row (small models)
    explainer = shap.TreeExplainer(ev.estimator)
    reference = _class_of_each_row(ev, np.asarray(explainer.shap_values(values, check_additivity=False)),
                                   len(values))
    np.testing.assert_allclose(contribs, reference, rtol=1e-4, atol=1e-5)
    # and they add up to the model's output (probability for scikit-learn trees, margin for XGBoost)
    frame = pd.DataFrame(values, columns=ev.feature_names)
    if ev.problem_type == "regression":
        output = ev.estimator.predict(frame)
    elif name.startswith("xgb"):
        margin = ev.estimator.predict(frame, output_margin=True)
        output = margin if margin.ndim == 1 else margin[np.arange(len(values)), ev.y_pred.astype(int)]
    else:
        proba = ev.estimator.predict_proba(frame)
        output = proba[:, 1] if proba.shape[1] == 2 else proba[np.arange(len(values)), ev.y_pred.astype(int)]
    np.testing.assert_allclose(contribs.sum(axis=1) + base, output, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["lr_multi", "linreg"])
def test_linear_shap_values_equal_shaps_linear_explainer(evals, name):
    ev = evals[name]
    contribs, _, values, _, _ = shap_values(ev, _ctx(ev))
    background = np.asarray(ev.transform(ev.X_train), dtype=float)
    explainer = shap.LinearExplainer(ev.estimator, shap.maskers.Independent(background, max_samples=len(background)))
    reference = _class_of_each_row(ev, np.asarray(explainer.shap_values(values)), len(values))
    np.testing.assert_allclose(contribs, reference, rtol=1e-6, atol=1e-8)


@pytest.mark.slow
@pytest.mark.parametrize("algorithm, hyper", [("random_forest", {"n_estimators": 20}), ("decision_tree", {}),
                                              ("xgboost", {"n_estimators": 20}), ("logistic_regression", {}),
                                              ("linear_regression", {})])
def test_the_frontends_shap_plots_are_drawn_for_every_model_it_offers_them_for(algorithm, hyper):
    wf = kit.example("iris_random_forest") if algorithm != "linear_regression" else kit.example(
        "linear_regression_regression")
    model = next(n for n in wf["nodes"] if n["type"] == "model")
    model["config"]["algorithm"], model["config"]["hyperparameters"] = algorithm, hyper
    next(n for n in wf["nodes"] if n["type"] == "visualize")["config"]["selected_plots"] = ["shap_summary",
                                                                                             "shap_waterfall"]
    out = kit.run(wf)
    assert out["status"] == "completed", out.get("error")
    assert [p["key"] for p in out["results"]["plots"]] == ["shap_summary", "shap_waterfall"]
    assert not [w for w in out["results"]["warnings"] if "SHAP" in w or "shap" in w]


def test_a_costly_forest_explains_fewer_rows_and_says_so(evals, monkeypatch):
    ev = evals["rf_reg"]
    trees = ev.estimator.estimators_
    per_row = sum(t.tree_.n_leaves * t.tree_.max_depth for t in trees)
    monkeypatch.setattr(explain, "SHAP_TREE_WORK", per_row * 40)  # this forest: 40 rows' worth of work
    ctx = PlotContext(dpi=60, max_rows=10_000, threads=1, seed=ev.seed + 1)  # not the cached computation
    contribs, *_ = shap_values(ev, ctx)
    assert len(contribs) == 40 < len(ev.X_test)
    plots, warnings = render_plots(["shap_summary"], ev, dpi=60, max_rows=9_999)
    assert warnings == [] and len(plots) == 1
    monkeypatch.setattr(explain, "SHAP_TREE_WORK", 1)
    assert len(shap_values(ev, PlotContext(dpi=60, max_rows=10_000, threads=1, seed=ev.seed + 2))[0]) == SHAP_TREE_MIN_ROWS


@pytest.mark.slow
def test_shap_is_not_imported_by_the_warm_template_or_any_engine_module():
    code = ("import sys, pkgutil, importlib, executor, executor.preload\n"
            "for m in pkgutil.walk_packages(executor.__path__, 'executor.'):\n"
            "    if m.name != 'executor.__main__': importlib.import_module(m.name)\n"
            "assert 'shap' not in sys.modules and 'numba' not in sys.modules, 'shap imported'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
