"""Figure plumbing: Agg figures without pyplot state, PNG data URLs, row subsampling, shared context."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from executor.evaluation import Evaluation

__all__ = ["PlotContext", "PlotUnavailable", "class_labels", "dense", "new_figure", "sample_rows", "to_data_url"]

FIGSIZE = (6.4, 4.8)
"""Inches of a plot; pixels = inches × the dpi from limits.toml."""


class PlotUnavailable(Exception):
    """A plot that does not apply to this model or data (the message says why)."""


@dataclass(frozen=True)
class PlotContext:
    """What every plot needs besides the evaluation: resolution, row budget, threads, seed."""

    dpi: int
    max_rows: int
    threads: int
    seed: int


def new_figure(figsize: tuple[float, float] = FIGSIZE) -> Figure:
    """A figure bound to an Agg canvas, outside pyplot's global figure registry."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


@contextmanager
def closing(fig: Figure) -> Iterator[Figure]:
    """Release a figure's artists whatever happens while it is drawn."""
    try:
        yield fig
    finally:
        fig.clear()


def to_data_url(fig: Figure, dpi: int) -> str:
    """The figure as ``data:image/png;base64,...``; the figure is cleared afterwards."""
    buffer = io.BytesIO()
    with closing(fig):
        fig.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def sample_rows(n: int, max_rows: int, seed: int) -> np.ndarray:
    """Sorted row indices: all rows, or ``max_rows`` of them drawn without replacement."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


def take(X: Any, rows: np.ndarray) -> Any:
    """Rows of a DataFrame, array or sparse matrix."""
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def dense(X: Any) -> np.ndarray:
    """A float ndarray view of the estimator's input (sparse and frames accepted)."""
    if hasattr(X, "toarray"):
        X = X.toarray()
    return np.asarray(X, dtype=float)


def class_labels(ev: Evaluation, n: int) -> list[str]:
    """Display labels of classes 0..n-1."""
    names = ev.class_names or []
    return [str(names[i]) if i < len(names) else str(i) for i in range(n)]


def n_classes(ev: Evaluation) -> int:
    """Number of classes of a classification evaluation."""
    if ev.class_names:
        return len(ev.class_names)
    values = [np.max(v) for v in (ev.y_test, ev.y_pred, ev.y_train) if v is not None and len(v)]
    return int(max(values)) + 1


def scores(ev: Evaluation) -> tuple[np.ndarray, str]:
    """(scores, kind) for ROC/PR: probabilities, else decision values; raises when neither exists."""
    if ev.y_score is None:
        raise PlotUnavailable(f"{ev.algorithm_name} gives neither probabilities nor decision scores")
    return np.asarray(ev.y_score, dtype=float), ev.score_kind or "decision"


def class_columns(score: np.ndarray, k: int) -> list[tuple[int, np.ndarray]]:
    """(class, score column) pairs: the positive class for binary, one per class for multiclass."""
    if k <= 2:
        return [(1, score[:, -1] if score.ndim == 2 else score)]
    return [(c, score[:, c]) for c in range(k)]
