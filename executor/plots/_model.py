"""Plots of the model itself: learning curve, feature importance (model or permutation), coefficients."""

from __future__ import annotations

import warnings

import numpy as np
from joblib import parallel_config
from matplotlib.figure import Figure
from sklearn.base import clone
from sklearn.inspection import permutation_importance
from sklearn.model_selection import KFold, StratifiedKFold, learning_curve

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

__all__ = ["coefficient_plot", "feature_importance", "learning_curve_plot"]

TOP_FEATURES = 20
"""Bars shown in importance and coefficient plots (readability, not a resource limit)."""
CURVE_FOLDS = 3
"""Folds of the learning curve: few refits, still a spread."""
CURVE_SIZES = (0.25, 0.5, 0.75, 1.0)
"""Training-set fractions of the learning curve."""
CLASS_GROUPS_UP_TO = 6
"""Classes up to which coefficients are drawn as one bar per class; more use mean |coef|."""
PERMUTATION_REPEATS = 3
"""Shuffles per feature for permutation importance."""


def _cv(ev: Evaluation, y: np.ndarray) -> KFold | StratifiedKFold:
    if ev.problem_type == "classification" and len(y):
        counts = np.bincount(y.astype(int))
        if counts[counts > 0].min() >= CURVE_FOLDS:
            return StratifiedKFold(CURVE_FOLDS, shuffle=True, random_state=ev.seed)
    return KFold(CURVE_FOLDS, shuffle=True, random_state=ev.seed)


def learning_curve_plot(ev: Evaluation, ctx: PlotContext) -> Figure:
    if ev.y_train is None:
        raise PlotUnavailable("there is no training target")
    rows = sample_rows(len(ev.X_train), ctx.max_rows, ctx.seed)
    X, y = take(ev.X_train, rows), np.asarray(ev.y_train)[rows]
    scoring = "accuracy" if ev.problem_type == "classification" else "r2"
    # Refits run in threads of this process: the sandbox child must never spawn loky processes.
    with parallel_config(backend="threading", n_jobs=ctx.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sizes, train, valid = learning_curve(
            clone(ev.refit if ev.refit is not None else ev.model), X, y, train_sizes=np.array(CURVE_SIZES), cv=_cv(ev, y), scoring=scoring,
            n_jobs=ctx.threads, error_score=np.nan, shuffle=True, random_state=ctx.seed,
        )
    if np.isnan(valid).all():
        raise PlotUnavailable("every refit of the model failed on the subsampled training rows")
    fig = new_figure()
    ax = fig.add_subplot()
    for label, values in (("training", train), ("validation", valid)):
        mean, std = np.nanmean(values, axis=1), np.nanstd(values, axis=1)
        ax.plot(sizes, mean, marker="o", label=f"{label} score")
        ax.fill_between(sizes, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("Training rows")
    ax.set_ylabel("Accuracy" if scoring == "accuracy" else "R²")
    sub = f", {len(rows)} of {len(ev.X_train)} rows" if len(rows) < len(ev.X_train) else ""
    ax.set_title(f"Learning Curve · {ev.algorithm_name} ({CURVE_FOLDS}-fold{sub})")
    ax.legend(loc="best")
    return fig


def _importances(ev: Evaluation, ctx: PlotContext) -> tuple[np.ndarray, list[str], str]:
    est = inner_estimator(ev.estimator)
    model_imp = getattr(est, "feature_importances_", None)
    if model_imp is not None and len(model_imp) == len(ev.feature_names):
        return np.asarray(model_imp, dtype=float), list(ev.feature_names), "model importance"
    if ev.y_test is None or ev.problem_type == "clustering":
        raise PlotUnavailable(f"{ev.algorithm_name} has no feature importances and no target to permute against")
    rows = sample_rows(len(ev.X_test), ctx.max_rows, ctx.seed)
    X, y = take(ev.X_test, rows), np.asarray(ev.y_test)[rows]
    scoring = "accuracy" if ev.problem_type == "classification" else "r2"
    with parallel_config(backend="threading", n_jobs=ctx.threads):
        result = permutation_importance(ev.model, X, y, scoring=scoring, n_repeats=PERMUTATION_REPEATS,
                                        random_state=ctx.seed, n_jobs=ctx.threads)
    names = [str(c) for c in getattr(X, "columns", range(X.shape[1]))]
    return result.importances_mean, names, f"permutation importance on {len(rows)} test rows"


def feature_importance(ev: Evaluation, ctx: PlotContext) -> Figure:
    values, names, source = _importances(ev, ctx)
    order = np.argsort(np.abs(values))[::-1][:TOP_FEATURES][::-1]
    fig = new_figure((6.4, max(3.0, 0.28 * len(order) + 1.5)))
    ax = fig.add_subplot()
    ax.barh(np.arange(len(order)), values[order])
    ax.set_yticks(np.arange(len(order)), [short_label(names[i]) for i in order])
    ax.set_xlabel("Importance")
    shown = f"top {len(order)} of {len(names)}" if len(names) > len(order) else f"{len(names)} features"
    ax.set_title(f"Feature Importance · {ev.algorithm_name}\n({source}; {shown})", fontsize="medium")
    return fig


def coefficient_plot(ev: Evaluation, ctx: PlotContext) -> Figure:
    est = inner_estimator(ev.estimator)
    try:
        coef = getattr(est, "coef_", None)
    except AttributeError:  # e.g. SVC with a non-linear kernel raises from the property
        coef = None
    if coef is None:
        raise PlotUnavailable(f"{ev.algorithm_name} is not a linear model here (no coefficients);"
                              " see the feature_importance plot")
    coef = np.atleast_2d(dense(coef))
    names = list(ev.feature_names) if coef.shape[1] == len(ev.feature_names) else [f"x{i}" for i in range(coef.shape[1])]
    k = n_classes(ev) if ev.problem_type == "classification" else 1
    per_class = coef.shape[0] > 1 and coef.shape[0] == k and k <= CLASS_GROUPS_UP_TO
    strength = np.abs(coef).mean(axis=0)
    order = np.argsort(strength)[::-1][:TOP_FEATURES][::-1]
    fig = new_figure((6.4, max(3.0, 0.28 * len(order) * (2 if per_class else 1) + 1.5)))
    ax = fig.add_subplot()
    positions = np.arange(len(order))
    if coef.shape[0] == 1:
        values = coef[0, order]
        ax.barh(positions, values, color=["tab:blue" if v >= 0 else "tab:red" for v in values])
        label = "Coefficient" + (f" (class {class_labels(ev, 2)[1]})" if k == 2 else "")
    elif per_class:
        height = 0.8 / coef.shape[0]
        for c, name in enumerate(class_labels(ev, k)):
            ax.barh(positions + c * height - 0.4 + height / 2, coef[c, order], height, label=name)
        ax.legend(fontsize="small", title="class")
        label = "Coefficient per class"
    else:
        ax.barh(positions, strength[order])
        label = f"Mean |coefficient| over {coef.shape[0]} rows of coefficients"
    ax.set_yticks(positions, [short_label(names[i]) for i in order])
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_xlabel(label)
    ax.set_title(f"Coefficient Plot · {ev.algorithm_name}")
    return fig
