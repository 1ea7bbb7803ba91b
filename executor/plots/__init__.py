"""Plot registry: every key and alias of the contract's §5, rendered as PNG data URLs."""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure

from executor.echo import listing, shown
from executor.evaluation import Evaluation
from executor.plots import _clustering, _explain, _model, _supervised
from executor.plots._figure import PlotContext, PlotUnavailable, plot_style, to_data_url
from executor.progress import Progress
from sandbox.errors import limit_error

__all__ = ["ALIASES", "PLOTS", "canonical_plot", "plot_names", "render_plots"]

PlotFn = Callable[[Evaluation, PlotContext], Figure]

_C, _R, _K = "classification", "regression", "clustering"

PLOTS: dict[str, dict[str, tuple[str, PlotFn]]] = {
    "confusion_matrix": {_C: ("Confusion Matrix", _supervised.confusion_matrix),
                         _K: ("Cluster Scatter Plot", _clustering.cluster_scatter)},
    "roc_curve": {_C: ("ROC Curve", _supervised.roc)},
    "precision_recall_curve": {_C: ("Precision-Recall Curve", _supervised.precision_recall)},
    "learning_curve": {_C: ("Learning Curve", _model.learning_curve_plot),
                       _R: ("Learning Curve", _model.learning_curve_plot),
                       _K: ("Elbow Plot", _clustering.elbow)},
    "feature_importance": {_C: ("Feature Importance", _model.feature_importance),
                           _R: ("Feature Importance", _model.feature_importance)},
    "coefficient_plot": {_C: ("Coefficient Plot", _model.coefficient_plot),
                         _R: ("Coefficient Plot", _model.coefficient_plot)},
    "residual_plot": {_R: ("Residual Plot", _supervised.residual_plot)},
    "prediction_vs_actual": {_R: ("Prediction vs Actual", _supervised.prediction_vs_actual)},
    "class_distribution": {_C: ("Class Distribution", _supervised.class_distribution)},
    "residual_distribution": {_R: ("Residual Distribution", _supervised.residual_distribution)},
    "silhouette_plot": {_K: ("Silhouette Plot", _clustering.silhouette)},
    "shap_summary": {_C: ("SHAP Summary", _explain.shap_summary), _R: ("SHAP Summary", _explain.shap_summary)},
    "shap_waterfall": {_C: ("SHAP Waterfall", _explain.shap_waterfall), _R: ("SHAP Waterfall", _explain.shap_waterfall)},
    "partial_dependence": {_C: ("Partial Dependence", _explain.partial_dependence),
                           _R: ("Partial Dependence", _explain.partial_dependence)},
    "probability_calibration": {_C: ("Probability Calibration", _explain.calibration)},
}
"""Canonical plot key → problem type → (FE display name, renderer)."""

ALIASES: dict[str, str] = {
    "actual_vs_predicted": "prediction_vs_actual",
    "residuals": "residual_plot",
    "cluster_scatter": "confusion_matrix",
    "elbow_plot": "learning_curve",
    "pr_curve": "precision_recall_curve",
    "calibration_curve": "probability_calibration",
    "shap": "shap_summary",
    "pdp": "partial_dependence",
}
"""Original-worker and backend spellings of the same plots."""

_CLUSTERING_ALIASES = {"roc_curve": "silhouette_plot"}
"""The FE's K-Means definitions name ``roc_curve`` "Silhouette Plot"."""

PLANNED: dict[str, str] = {}
"""FE plot keys accepted but not drawn yet (each skipped with a warning); none left."""


def plot_names() -> list[str]:
    """Every accepted plot key: canonical keys, aliases and planned keys, sorted."""
    return sorted({*PLOTS, *ALIASES, *PLANNED})


def canonical_plot(key: str, problem_type: str | None = None) -> str:
    """The canonical key of ``key`` (aliases resolved, case folded) for ``problem_type``."""
    text = str(key).strip().lower().replace(" ", "_").replace("-", "_")
    text = ALIASES.get(text, text)
    if problem_type == _K:
        text = _CLUSTERING_ALIASES.get(text, text)
    return text


def render_plots(
    requested: list[str], ev: Evaluation, *, dpi: int, max_rows: int, progress: Progress | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """``[{"key", "name", "url"}]`` for the requested plots, and a warning for each one not drawn.

    ``dpi`` and ``max_rows`` come from limits.toml ``[output]`` (``plot_dpi``, ``max_explain_rows``):
    plots whose cost grows with rows (learning curve, permutation importance, clusters) use at
    most ``max_rows`` rows. ``progress`` gets "plot i of n" as each plot starts.
    """
    ctx = PlotContext(dpi=dpi, max_rows=max_rows, threads=max(1, int(ev.threads)), seed=int(ev.seed))
    plots: list[dict[str, Any]] = []
    warnings: list[str] = []
    seen: set[str] = set()
    unknown: list[Any] = []
    requested = list(requested or [])
    for i, raw in enumerate(requested, start=1):
        if progress is not None:
            progress.step(i, len(requested), "plot")
        key = canonical_plot(raw, ev.problem_type)
        if key in seen:
            continue
        seen.add(key)
        if key not in PLOTS and key not in PLANNED:
            unknown.append(raw)
            continue
        entry = PLOTS.get(key, {}).get(ev.problem_type)
        if entry is None:
            warnings.append(_not_drawn_reason(raw, key, ev.problem_type))
            continue
        name, fn = entry
        try:
            with _warnings.catch_warnings(), plot_style():
                _warnings.simplefilter("ignore")
                url = to_data_url(fn(ev, ctx), dpi)
        except PlotUnavailable as exc:
            warnings.append(f"plot {shown(raw)} ({name}) was skipped: {exc}")
            continue
        except Exception as exc:  # a failed plot must never fail the run; it is reported instead
            if limit_error(exc) is not None:
                raise  # but a limit stops the job
            warnings.append(f"plot {shown(raw)} ({name}) failed: {type(exc).__name__}: {exc}")
            continue
        plots.append({"key": key, "name": name, "url": url})
    if unknown:  # one warning for all unknown keys, naming the valid ones once
        named = (f"unknown plot {shown(unknown[0])} was" if len(unknown) == 1
                 else f"unknown plots {listing(unknown, quote=True)} were")
        warnings.append(f"{named} skipped (valid: {listing(plot_names())})")
    return plots, warnings


def _not_drawn_reason(raw: str, key: str, problem_type: str) -> str:
    if key in PLANNED:
        return f"plot {shown(raw)} ({PLANNED[key]}) is not available in this worker version and was skipped"
    applies = ", ".join(sorted(PLOTS[key]))
    return f"plot {shown(raw)} applies to {applies}, not {problem_type}; it was skipped"
