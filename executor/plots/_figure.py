"""Figure plumbing: Agg figures without pyplot state, PNG data URLs, row subsampling, shared context."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from executor.evaluation import Evaluation

__all__ = [
    "PlotContext",
    "PlotUnavailable",
    "class_labels",
    "dense",
    "fit_margins",
    "new_figure",
    "sample_rows",
    "to_data_url",
]

FIGSIZE = (6.4, 4.8)
"""Inches of a plot; pixels = inches × the dpi from limits.toml."""
PNG_COMPRESSION = 1
"""zlib level of the PNG files: plots are flat colours, so level 1 is ~15 % larger than the default
6 and several times faster to encode."""


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
    """A figure bound to an Agg canvas, outside pyplot's global figure registry.

    Its margins are set by :func:`fit_margins` when it is saved (one plotting axes, the common
    case) or by matplotlib's constrained layout (grids of axes).
    """
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


_CHAR_EM = 0.62
"""Mean advance of a label character in DejaVu Sans, in ems (digits 0.64, lower case ~0.6)."""
_LINE_EM = 1.45
"""Height of one line of label text, padding included, in ems."""
_PAD_PX = 8.0
"""Space kept between the outermost text and the figure's edge, in pixels at 100 dpi."""


def _text_size(texts: list[Any], rotation_aware: bool = True) -> tuple[float, float]:
    """(width, height) in points of the largest of these labels, estimated from their characters.

    Measuring text with the renderer (what constrained and tight layout do) costs a full layout
    pass, about as much as drawing the figure; character counts are close enough for margins.
    """
    width = height = 0.0
    for text in texts:
        label = text.get_text()
        if not label or not text.get_visible():
            continue
        lines = label.split("\n")
        size = text.get_fontsize()
        w = max(len(line) for line in lines) * _CHAR_EM * size
        h = len(lines) * _LINE_EM * size
        angle = np.deg2rad(text.get_rotation()) if rotation_aware else 0.0
        width = max(width, abs(w * np.cos(angle)) + abs(h * np.sin(angle)))
        height = max(height, abs(w * np.sin(angle)) + abs(h * np.cos(angle)))
    return width, height


def _axis_margins(ax: Any) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) in points that the tick labels and axis labels of ``ax`` need."""
    left = bottom = right = 0.0
    tick = 3.5 + 3.5  # matplotlib's default tick length and label pad, in points
    for axis, name in ((ax.yaxis, "y"), (ax.xaxis, "x")):
        if not axis.get_visible():
            continue
        w, h = _text_size(axis.get_ticklabels())  # formats the ticks, as drawing would
        label = _text_size([axis.label], rotation_aware=False)[1] if axis.label.get_text() else 0.0
        if name == "x":
            bottom = max(bottom, h + tick + label)
        elif "right" in (axis.get_label_position(), axis.get_ticks_position()):
            right = max(right, w + tick + label)
        else:
            left = max(left, w + tick + label)
    top = max(_text_size([t], rotation_aware=False)[1] for t in (ax.title, ax._left_title, ax._right_title))
    return left, bottom, right, top


def fit_margins(fig: Figure) -> None:
    """Set the figure's margins from its labels: fast enough to run on every plot.

    Figures with more than one plotting axes (colorbars aside) keep matplotlib's constrained
    layout, which also spaces the axes between each other.
    """
    plotting = [ax for ax in fig.axes if ax.get_visible() and not hasattr(ax, "_colorbar")]
    bars = [ax for ax in fig.axes if ax.get_visible() and hasattr(ax, "_colorbar")]
    if len(plotting) != 1 or fig.get_suptitle():
        fig.set_layout_engine("constrained")
        return
    width_pt, height_pt = (v * 72.0 for v in fig.get_size_inches())
    pad = _PAD_PX * 0.72
    ax = plotting[0]
    left, bottom, right, top = _axis_margins(ax)
    for bar in bars:  # a colorbar stands right of the axes: its ticks and label widen the margin
        b_left, _, b_right, _ = _axis_margins(bar)
        right = max(right, b_left + b_right)
    # The title is centred on the axes: keep it inside the figure by narrowing the axes from the
    # right (by at most a quarter of their width), then, if that is not enough, by a smaller title.
    title = ax.title
    if title.get_text():
        w = _text_size([title], rotation_aware=False)[0]
        shift = 0.25 * (width_pt - left - right)
        allowed = width_pt - 2 * pad - left + right + shift  # the widest title that fits after the shift
        if w > allowed:
            title.set_fontsize(max(7.0, title.get_fontsize() * allowed / w))
            w = _text_size([title], rotation_aware=False)[0]
        right = max(right, left + w + 2 * pad - width_pt)
        left = max(left, right + w + 2 * pad - width_pt)
    fig.subplots_adjust(
        left=min(0.45, (left + pad) / width_pt),
        right=max(0.55, 1.0 - (right + pad) / width_pt),
        bottom=min(0.4, (bottom + pad) / height_pt),
        top=max(0.6, 1.0 - (top + pad) / height_pt),
    )


@contextmanager
def closing(fig: Figure) -> Iterator[Figure]:
    """Release the figure's pixel buffer whatever happens while it is drawn.

    The artists go with the figure (nothing else refers to it: no pyplot registry); clearing
    them one by one (``fig.clear()``) costs ~10 ms per axes for nothing.
    """
    try:
        yield fig
    finally:
        FigureCanvasBase(fig)  # replaces the Agg canvas, and with it the pixel buffer


def to_data_url(fig: Figure, dpi: int) -> str:
    """The figure as ``data:image/png;base64,...``; its pixel buffer is released afterwards."""
    buffer = io.BytesIO()
    with closing(fig):
        fit_margins(fig)
        fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": PNG_COMPRESSION})
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
