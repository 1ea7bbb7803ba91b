"""Explanation plots: SHAP summary and waterfall (TreeSHAP, exact linear SHAP), partial dependence, calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import parallel_config
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.inspection import PartialDependenceDisplay

from executor.algorithms import inner_estimator
from executor.evaluation import Evaluation
from executor.plots._figure import (
    PlotContext,
    PlotUnavailable,
    class_labels,
    dense,
    n_classes,
    new_figure,
    sample_rows,
    short_label,
    take,
)

__all__ = ["calibration", "partial_dependence", "shap_summary", "shap_waterfall", "shap_values"]

TOP_FEATURES = 12
"""Features shown in SHAP and partial-dependence plots (readability)."""
PDP_FEATURES = 4
PDP_GRID = 20
"""Grid points per partial-dependence curve: its cost is rows × this many predictions per feature."""
CALIBRATION_BINS = 10
_LEGEND_UP_TO = 10


SHAP_TREE_WORK = 1e8
"""Policy bound on TreeSHAP for scikit-learn trees (shap.TreeExplainer), in leaf × depth units: a row
costs the sum over the trees of their leaves × depth, and at most this much is spent (~5 s here on
one CPU); so a 100-tree forest of depth 10 explains ~200 test rows, a small one every row."""
SHAP_TREE_MIN_ROWS = 30
"""Rows a scikit-learn tree model's SHAP plots always explain, however costly its trees (a beeswarm
of fewer says little)."""
_LINEAR = ("logistic_regression", "linear_regression", "svm")


def shap_values(ev: Evaluation, ctx: PlotContext) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], str]:
    """(contributions (n, f), base values (n,), feature values (n, f), names, scale) on ≤ max_rows test rows.

    Decision trees and random forests: shap's TreeExplainer (exact path-dependent TreeSHAP), on as
    many rows as :data:`SHAP_TREE_WORK` allows. XGBoost: its own TreeSHAP (``pred_contribs``, what
    shap's TreeExplainer calls for XGBoost). Linear models: exact SHAP under feature independence,
    ``coef · (x − mean of training rows)`` (what shap's LinearExplainer computes with an independent
    masker). Binary classification: contributions toward the positive class; multiclass: toward each
    row's predicted class. shap is imported here, on first use only (~2 s, ~90 MB with numba).
    """
    cache_key = f"shap_values:{ctx.max_rows}:{ctx.seed}"
    if cache_key not in ev.extras:  # summary and waterfall share one computation
        ev.extras[cache_key] = _shap_values(ev, ctx)
    return ev.extras[cache_key]


def _sklearn_trees(est: object) -> list[object] | None:
    """The fitted scikit-learn trees of a tree or forest, else None."""
    if hasattr(est, "tree_"):
        return [est]
    trees = getattr(est, "estimators_", None)
    if isinstance(trees, list) and trees and all(hasattr(t, "tree_") for t in trees):
        return trees
    return None


def _tree_rows(trees: list[object], n: int, ctx: PlotContext) -> int:
    """Rows TreeSHAP may explain within :data:`SHAP_TREE_WORK` (at least :data:`SHAP_TREE_MIN_ROWS`)."""
    per_row = sum(int(t.tree_.n_leaves) * max(1, int(t.tree_.max_depth)) for t in trees)  # type: ignore[attr-defined]
    affordable = int(SHAP_TREE_WORK // max(1, per_row))
    return min(n, ctx.max_rows, max(SHAP_TREE_MIN_ROWS, affordable))


def _toward(values: np.ndarray, base: np.ndarray, predicted: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-class contributions (n, f, k) → the positive class (k = 2) or each row's predicted class."""
    n, _, k = values.shape
    chosen = np.ones(n, dtype=int) if k == 2 or predicted is None else predicted
    return values[np.arange(n), :, chosen], base[chosen]


def _shap_values(ev: Evaluation, ctx: PlotContext) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], str]:
    est = inner_estimator(ev.estimator)
    trees = _sklearn_trees(est) if ev.problem_type != "clustering" else None
    coef = getattr(est, "coef_", None) if ev.problem_type != "clustering" and trees is None else None
    xgb = hasattr(est, "get_booster")
    if not (trees or xgb or (coef is not None and ev.algorithm in _LINEAR)):
        raise PlotUnavailable(f"SHAP values are computed for tree models (decision tree, random forest, XGBoost)"
                              f" and linear models; {ev.algorithm_name} is neither")
    limit = _tree_rows(trees, len(ev.X_test), ctx) if trees else ctx.max_rows
    rows = sample_rows(len(ev.X_test), limit, ctx.seed)
    X = ev.transform(take(ev.X_test, rows))
    values = dense(X)
    names = list(ev.feature_names) if len(ev.feature_names) == values.shape[1] else [f"x{i}" for i in range(values.shape[1])]
    predicted = np.asarray(ev.y_pred)[rows].astype(int) if ev.problem_type == "classification" else None
    if trees:
        import shap  # not at import time: it pulls numba in (~2 s, ~90 MB), so only a SHAP plot pays it

        explainer = shap.TreeExplainer(est)
        contribs = np.asarray(explainer.shap_values(values, check_additivity=False), dtype=float)
        base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
        if contribs.ndim == 3:  # classification: (n, features, classes)
            contribs, base = _toward(contribs, base, predicted)
        else:
            base = np.full(len(rows), float(base[0]))
        scale = "probability" if ev.problem_type == "classification" else "prediction"
        return contribs, base, values, names, scale
    if xgb:
        import xgboost

        booster = est.get_booster()
        matrix = xgboost.DMatrix(values, feature_names=booster.feature_names)
        contribs = np.asarray(booster.predict(matrix, pred_contribs=True, validate_features=False))
        if contribs.ndim == 3:  # multiclass: (n, classes, features + 1)
            contribs = contribs[np.arange(len(rows)), predicted]
        scale = "margin (log-odds)" if ev.problem_type == "classification" else "prediction"
        return contribs[:, :-1], contribs[:, -1], values, names, scale
    coef = np.atleast_2d(dense(coef))
    intercept = np.atleast_1d(np.asarray(getattr(est, "intercept_", 0.0), dtype=float))
    mean = dense(ev.transform(take(ev.X_train, sample_rows(len(ev.X_train), ctx.max_rows, ctx.seed)))).mean(axis=0)
    if coef.shape[0] > 1 and predicted is not None and coef.shape[0] == n_classes(ev):
        weights = coef[predicted]
        base = intercept[predicted] + weights @ mean
    else:
        weights = np.broadcast_to(coef[0], values.shape)
        base = np.full(len(rows), float(intercept[0] + coef[0] @ mean))
    scale = "decision function (log-odds)" if ev.problem_type == "classification" else "prediction"
    return weights * (values - mean), base, values, names, scale


def _rows_label(ev: Evaluation, n: int) -> str:
    return f"{n} rows" if n >= len(ev.X_test) else f"{n} of {len(ev.X_test)} test rows"


def shap_summary(ev: Evaluation, ctx: PlotContext) -> Figure:
    contribs, _, values, names, scale = shap_values(ev, ctx)
    order = np.argsort(np.abs(contribs).mean(axis=0))[::-1][:TOP_FEATURES][::-1]
    fig = new_figure((6.4, max(3.5, 0.35 * len(order) + 1.5)))
    ax = fig.add_subplot()
    rng = np.random.default_rng(ctx.seed)
    for pos, j in enumerate(order):
        col = values[:, j]
        span = np.ptp(col)
        colour = (col - col.min()) / span if span > 0 else np.full_like(col, 0.5)
        points = ax.scatter(contribs[:, j], pos + rng.uniform(-0.3, 0.3, len(col)), c=colour, cmap="coolwarm",
                            s=8, alpha=0.7, vmin=0, vmax=1)
    ax.set_yticks(np.arange(len(order)), [short_label(names[j]) for j in order])
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_xlabel(f"SHAP value (impact on the {scale})")
    fig.colorbar(points, ax=ax, label="feature value (low → high)", ticks=[])
    ax.set_title(f"SHAP Summary · {ev.algorithm_name} ({_rows_label(ev, len(values))})")
    return fig


def shap_waterfall(ev: Evaluation, ctx: PlotContext) -> Figure:
    contribs, base, _, names, scale = shap_values(ev, ctx)
    row, start = contribs[0], float(base[0])
    order = list(np.argsort(np.abs(row))[::-1])
    shown, rest = order[: TOP_FEATURES - 1], order[TOP_FEATURES - 1:]
    labels = [names[j] for j in shown] + ([f"{len(rest)} other features"] if rest else [])
    deltas = [float(row[j]) for j in shown] + ([float(row[rest].sum())] if rest else [])
    fig = new_figure((6.4, max(3.5, 0.35 * len(labels) + 1.5)))
    ax = fig.add_subplot()
    level = start
    # Bottom-up from the base value, the largest contribution on top.
    for pos, delta in enumerate(deltas[::-1]):
        left = level if delta >= 0 else level + delta
        ax.barh(pos, abs(delta), left=left, color="tab:red" if delta >= 0 else "tab:blue")
        level += delta
    ax.set_yticks(np.arange(len(labels)), [short_label(label) for label in labels[::-1]])
    ax.axvline(start, color="grey", linestyle="--", linewidth=1, label=f"base value {start:.3g}")
    ax.axvline(start + sum(deltas), color="black", linewidth=1, label=f"this row {start + sum(deltas):.3g}")
    ax.set_xlabel(f"{scale}")
    ax.legend(loc="best", fontsize="small")
    ax.set_title(f"SHAP Waterfall · {ev.algorithm_name} (first test row)")
    return fig


def partial_dependence(ev: Evaluation, ctx: PlotContext) -> Figure:
    if ev.problem_type == "clustering":
        raise PlotUnavailable("partial dependence needs a supervised model")
    rows = sample_rows(len(ev.X_test), ctx.max_rows, ctx.seed)
    X = take(ev.X_test, rows)
    # scikit-learn refuses integer columns (its grid would be rounded); the pipeline takes floats
    X = X.astype({c: "float64" for c in X.columns if pd.api.types.is_integer_dtype(X[c])
                  and not pd.api.types.is_bool_dtype(X[c])})
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
               and X[c].nunique() > 1]  # pandas dtypes (str, Int64) are not numpy dtypes
    if not numeric:
        raise PlotUnavailable("there is no varying numeric input column")
    importances = getattr(inner_estimator(ev.estimator), "feature_importances_", None)
    if importances is not None and len(importances) == len(ev.feature_names):
        rank = dict(zip(ev.feature_names, importances, strict=True))
        numeric.sort(key=lambda c: -rank.get(str(c), 0.0))
    features = numeric[:PDP_FEATURES]
    kwargs = {}
    title = ""
    if ev.problem_type == "classification" and n_classes(ev) > 2:
        target = int(np.bincount(np.asarray(ev.y_test, dtype=int)).argmax())
        kwargs["target"] = target
        title = f" (class {class_labels(ev, n_classes(ev))[target]})"
    cols = min(2, len(features))
    fig = new_figure((6.4, 3.0 * ((len(features) + cols - 1) // cols) + 0.6))
    axes = fig.subplots((len(features) + cols - 1) // cols, cols, squeeze=False)
    for extra in axes.ravel()[len(features):]:
        extra.set_visible(False)
    with parallel_config(backend="threading", n_jobs=ctx.threads):
        PartialDependenceDisplay.from_estimator(ev.model, X, features, ax=axes.ravel()[: len(features)],
                                                grid_resolution=PDP_GRID, n_jobs=ctx.threads, **kwargs)
    for ax in axes.ravel()[: len(features)]:
        ax.set_xlabel(short_label(ax.get_xlabel()))
    fig.suptitle(f"Partial Dependence · {ev.algorithm_name}{title}")
    return fig


def calibration(ev: Evaluation, ctx: PlotContext) -> Figure:
    if ev.score_kind != "proba" or ev.y_score is None:
        raise PlotUnavailable(f"it needs probabilities and {ev.algorithm_name} gives none here")
    proba = np.asarray(ev.y_score, dtype=float)
    y = np.asarray(ev.y_test, dtype=int)
    k = n_classes(ev)
    labels = class_labels(ev, k)
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    pairs = [(1, proba[:, -1])] if k <= 2 else [(c, proba[:, c]) for c in range(k)]
    for c, column in pairs:
        truth = y == c
        if truth.all() or not truth.any():
            continue
        frac, mean = calibration_curve(truth, column, n_bins=CALIBRATION_BINS, strategy="uniform")
        ax.plot(mean, frac, marker="o", label=labels[c] if k > 2 else f"class {labels[c]}")
    ax.set_xlabel("Mean predicted probability")
    ax.set_ylabel("Fraction of positives")
    ax.set_title(f"Probability Calibration · {ev.algorithm_name}" + (" (one-vs-rest)" if k > 2 else ""))
    if len(pairs) <= _LEGEND_UP_TO:
        ax.legend(loc="upper left", fontsize="small")
    return fig
