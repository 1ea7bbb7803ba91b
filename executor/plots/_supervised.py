"""Plots of predictions: confusion matrix, ROC, precision-recall, class counts, residuals, prediction vs actual."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm

from executor.evaluation import Evaluation
from executor.plots._figure import (
    PlotContext,
    PlotUnavailable,
    class_columns,
    class_labels,
    n_classes,
    new_figure,
    scores,
)

__all__ = [
    "class_distribution",
    "confusion_matrix",
    "precision_recall",
    "prediction_vs_actual",
    "residual_distribution",
    "residual_plot",
    "roc",
]

_ANNOTATE_UP_TO = 20
"""Classes up to which each confusion-matrix cell gets its count written in it (readability)."""
_LEGEND_UP_TO = 12
"""Curves up to which a legend is drawn (readability)."""


_FLAT_LABELS_UP_TO = (4, 8)
"""Class labels stay horizontal on the x axis up to this many classes of at most this many characters."""


def _tilted(labels: list[str]) -> bool:
    """True when the x tick labels would run into each other side by side."""
    return len(labels) > _FLAT_LABELS_UP_TO[0] or max(map(len, labels), default=0) > _FLAT_LABELS_UP_TO[1]


def confusion_matrix(ev: Evaluation, ctx: PlotContext) -> Figure:
    k = n_classes(ev)
    cm = skm.confusion_matrix(ev.y_test, ev.y_pred, labels=list(range(k)))
    labels = class_labels(ev, k)
    fig = new_figure()
    ax = fig.add_subplot()
    image = ax.imshow(cm, cmap="Blues", aspect="auto")  # cells fill the axes, so the title sits over them
    fig.colorbar(image, ax=ax)
    ticks = np.arange(k)
    tilt = _tilted(labels)
    ax.set_xticks(ticks, labels, rotation=45 if tilt else 0, ha="right" if tilt else "center",
                  rotation_mode="anchor" if tilt else "default")
    ax.set_yticks(ticks, labels)
    if k <= _ANNOTATE_UP_TO:
        threshold = cm.max() / 2 if cm.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                        color="white" if cm[i, j] > threshold else "black")
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Actual")
    ax.set_title(f"Confusion Matrix · {ev.algorithm_name}")
    return fig


def _curves(ev: Evaluation, kind: str) -> Figure:
    score, source = scores(ev)
    y = np.asarray(ev.y_test)
    k = n_classes(ev)
    labels = class_labels(ev, k)
    fig = new_figure()
    ax = fig.add_subplot()
    drawn = 0
    for c, column in class_columns(score, k):
        truth = y == c
        if truth.all() or not truth.any():
            continue
        if kind == "roc":
            fpr, tpr, _ = skm.roc_curve(truth, column)
            ax.plot(fpr, tpr, label=f"{labels[c]} (AUC {skm.auc(fpr, tpr):.3f})")
        else:
            precision, recall, _ = skm.precision_recall_curve(truth, column)
            ap = skm.average_precision_score(truth, column)
            ax.plot(recall, precision, label=f"{labels[c]} (AP {ap:.3f})")
        drawn += 1
    if not drawn:
        raise PlotUnavailable("the test rows hold only one class")
    if kind == "roc":
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
        ax.set_xlabel("False positive rate")
        ax.set_ylabel("True positive rate")
        title = "ROC Curve"
    else:
        ax.set_xlabel("Recall")
        ax.set_ylabel("Precision")
        title = "Precision-Recall Curve"
    scope = "" if k <= 2 else " (one-vs-rest)"
    basis = "" if source == "proba" else " · decision scores"
    ax.set_title(f"{title}{scope} · {ev.algorithm_name}{basis}")
    if drawn <= _LEGEND_UP_TO:
        ax.legend(loc="lower right" if kind == "roc" else "lower left", fontsize="small")
    return fig


def roc(ev: Evaluation, ctx: PlotContext) -> Figure:
    return _curves(ev, "roc")


def precision_recall(ev: Evaluation, ctx: PlotContext) -> Figure:
    return _curves(ev, "pr")


def class_distribution(ev: Evaluation, ctx: PlotContext) -> Figure:
    k = n_classes(ev)
    labels = class_labels(ev, k)
    fig = new_figure()
    ax = fig.add_subplot()
    x = np.arange(k)
    width = 0.4
    for offset, (name, y) in zip((-width / 2, width / 2), (("train", ev.y_train), ("test", ev.y_test)), strict=True):
        if y is not None:
            ax.bar(x + offset, np.bincount(np.asarray(y, dtype=int), minlength=k)[:k], width, label=name)
    tilt = _tilted(labels)
    ax.set_xticks(x, labels, rotation=45 if tilt else 0, ha="right" if tilt else "center",
                  rotation_mode="anchor" if tilt else "default")
    ax.set_ylabel("Rows")
    ax.set_title("Class Distribution")
    ax.legend()
    return fig


def _regression_arrays(ev: Evaluation) -> tuple[np.ndarray, np.ndarray]:
    if ev.y_test is None or ev.y_pred is None:
        raise PlotUnavailable("there are no test predictions")
    return np.asarray(ev.y_test, dtype=float), np.asarray(ev.y_pred, dtype=float)


def residual_plot(ev: Evaluation, ctx: PlotContext) -> Figure:
    y, pred = _regression_arrays(ev)
    fig = new_figure()
    ax = fig.add_subplot()
    ax.scatter(pred, y - pred, s=12, alpha=0.6)
    ax.axhline(0, color="red", linestyle="--", linewidth=1)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Residual (actual − predicted)")
    ax.set_title(f"Residual Plot · {ev.algorithm_name}")
    return fig


def prediction_vs_actual(ev: Evaluation, ctx: PlotContext) -> Figure:
    y, pred = _regression_arrays(ev)
    fig = new_figure()
    ax = fig.add_subplot()
    ax.scatter(y, pred, s=12, alpha=0.6)
    low, high = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([low, high], [low, high], color="red", linestyle="--", linewidth=1, label="perfect prediction")
    ax.set_xlabel("Actual")
    ax.set_ylabel("Predicted")
    ax.set_title(f"Prediction vs Actual · {ev.algorithm_name} (R² {skm.r2_score(y, pred):.3f})")
    ax.legend(loc="upper left")
    return fig


def residual_distribution(ev: Evaluation, ctx: PlotContext) -> Figure:
    y, pred = _regression_arrays(ev)
    fig = new_figure()
    ax = fig.add_subplot()
    ax.hist(y - pred, bins="auto", alpha=0.8)
    ax.axvline(0, color="red", linestyle="--", linewidth=1)
    ax.set_xlabel("Residual (actual − predicted)")
    ax.set_ylabel("Rows")
    ax.set_title(f"Residual Distribution · {ev.algorithm_name}")
    return fig
