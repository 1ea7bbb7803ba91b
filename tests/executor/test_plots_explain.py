"""Explanation plots (issue 5): SHAP summary/waterfall, partial dependence, calibration; exact linear SHAP."""

from __future__ import annotations

import numpy as np
import pytest

from executor.plots import render_plots
from executor.plots._explain import shap_values
from executor.plots._figure import PlotContext
from tests.executor.evalkit import make_evaluation
from tests.executor.test_plots import decode_png

pytestmark = pytest.mark.slow  # SHAP and partial-dependence plots of several trained models

DPI, MAX_ROWS = 60, 150

EVALS = {
    "xgb_multi": ("xgboost", "classification", "iris", {"n_estimators": 15}),
    "xgb_binary": ("xgboost", "classification", "breast_cancer", {"n_estimators": 15}),
    "xgb_reg": ("xgboost", "regression", "diabetes", {"n_estimators": 15}),
    "lr_multi": ("logistic_regression", "classification", "iris", None),
    "linreg": ("linear_regression", "regression", "diabetes", None),
    "rf_class": ("random_forest", "classification", "wine", {"n_estimators": 10}),
    "knn_class": ("knn", "classification", "iris", None),
}


@pytest.fixture(scope="module")
def evals():
    return {name: make_evaluation(*args, threads=2) for name, args in EVALS.items()}


@pytest.mark.parametrize("ev_name, key, name", [
    (ev, "shap_summary", "SHAP Summary") for ev in ("xgb_multi", "xgb_binary", "xgb_reg", "lr_multi", "linreg",
                                                    "rf_class")
] + [
    (ev, "shap_waterfall", "SHAP Waterfall") for ev in ("xgb_multi", "xgb_reg", "lr_multi", "linreg", "rf_class")
] + [
    (ev, "partial_dependence", "Partial Dependence") for ev in ("xgb_multi", "xgb_binary", "xgb_reg", "rf_class")
] + [
    (ev, "probability_calibration", "Probability Calibration") for ev in ("xgb_binary", "lr_multi", "rf_class")
])
def test_each_explanation_plot_is_a_png(evals, ev_name, key, name):
    plots, warnings = render_plots([key], evals[ev_name], dpi=DPI, max_rows=MAX_ROWS)
    assert warnings == [] and [(p["key"], p["name"]) for p in plots] == [(key, name)]
    assert min(decode_png(plots[0]["url"]).size) > 100


@pytest.mark.parametrize("ev_name, key, fragment", [
    ("knn_class", "shap_summary", "tree models (decision tree, random forest, XGBoost) and linear models"),
    ("knn_class", "shap_waterfall", "K-Nearest Neighbors is neither"),
    ("xgb_reg", "probability_calibration", "applies to classification"),
])
def test_explanations_that_do_not_apply_are_warnings(evals, ev_name, key, fragment):
    plots, warnings = render_plots([key], evals[ev_name], dpi=DPI, max_rows=MAX_ROWS)
    assert plots == [] and fragment in warnings[0]


@pytest.mark.parametrize("ev_name", ["xgb_binary", "xgb_reg", "linreg"])
def test_shap_values_add_up_to_the_models_output(evals, ev_name):
    ev = evals[ev_name]
    ctx = PlotContext(dpi=DPI, max_rows=10_000, threads=1, seed=ev.seed)
    contribs, base, values, _, _ = shap_values(ev, ctx)
    est = ev.estimator
    if ev.problem_type == "classification":
        output = est.predict(values, output_margin=True)
    else:
        import pandas as pd

        output = est.predict(pd.DataFrame(values, columns=ev.feature_names) if ev_name == "linreg" else values)
    np.testing.assert_allclose(contribs.sum(axis=1) + base, output, rtol=1e-4, atol=1e-3)


def test_explanations_are_bounded_by_max_rows(evals):
    ctx = PlotContext(dpi=DPI, max_rows=20, threads=1, seed=0)
    contribs, *_ = shap_values(evals["xgb_reg"], ctx)
    assert contribs.shape[0] == 20


def test_partial_dependence_draws_over_string_and_integer_columns():
    from tests.executor import enginekit as kit

    records = [{**r, "Children": i % 4} for i, r in enumerate(kit.titanic_like())]  # str + int columns
    wf = kit.inline_workflow(records, "Survived", "classification", hyperparameters={"n_estimators": 10})
    model = next(n["id"] for n in wf["nodes"] if n["type"] == "model")
    wf["nodes"].append({"id": "visualize-9", "type": "visualize", "config": {"selected_plots": ["partial_dependence"]}})
    wf["edges"].append(kit.edge(model, "visualize-9"))
    out = kit.run(wf)
    assert out["status"] == "completed", out.get("error")
    assert [p["key"] for p in out["results"]["plots"]] == ["partial_dependence"]
    assert not [w for w in out["results"]["warnings"] if "partial" in w.lower()]
