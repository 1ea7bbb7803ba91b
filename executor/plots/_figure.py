"""Figure plumbing: Agg figures without pyplot state, PNG data URLs, row subsampling, shared context."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import rc_context
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from executor.evaluation import Evaluation

__all__ = [
    "PlotContext",
    "PlotUnavailable",
    "class_labels",
    "contain",
    "dense",
    "fit_margins",
    "new_figure",
    "plot_style",
    "sample_rows",
    "short_label",
    "to_data_url",
]

FIGSIZE = (6.4, 4.8)
"""Inches of a plot: its shown size is inches × ``[output] plot_dpi`` (512×384 at 80 dpi)."""
RENDER_SCALE = 2
"""Pixels per shown pixel: a plot is rendered at twice ``plot_dpi`` (1024×768 for 512×384), so it
stays sharp on high-density screens and when enlarged; palette PNGs keep the bytes below what a
1× true-colour PNG took."""
STYLE = {"font.size": 13.0, "legend.fontsize": "small", "axes.titlesize": "large", "axes.labelsize": "medium"}
"""Font sizes chosen for the shown size (at 80 dpi: tick and axis labels ~14 px, legends ~12 px,
titles ~17 px; matplotlib's defaults give ~11, ~9 and ~13), applied while a plot is drawn."""
PNG_COLOURS = 256
"""Plots are flat colours and anti-aliased edges: a 256-colour palette (Pillow's max-coverage
quantizer: white stays white, no channel off by more than a few levels; ~35 ms for 1024×768) looks
the same as true colour at a third of the bytes."""
PNG_COMPRESSION = 6
"""zlib level of the (palette, one byte per pixel) PNG files: level 6 takes ~5 ms for 1024×768."""
LABEL_CHARS = 22
"""Longest tick label (feature or class name) drawn in full; longer ones keep their start and end
around an ellipsis, so margins sized to labels never exceed the figure."""


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


def fit_margins(fig: Figure, *, exact: bool = True) -> bool:
    """Size the figure's margins to its labels, so no label, title or legend is cut.

    A first guess comes from the labels' characters (no layout pass); with ``exact``, the
    figure's tight bounding box (every artist measured by the renderer, ~15 ms) is then checked
    against the figure and the axes are moved in by whatever sticks out (:func:`contain`). A
    title too wide for the figure breaks at its " · " or, failing that, gets a smaller font.
    Figures with more than one plotting axes (colorbars aside) keep matplotlib's constrained
    layout, which measures too. Returns True when the margins are this function's (one axes).
    """
    plotting = [ax for ax in fig.axes if ax.get_visible() and not hasattr(ax, "_colorbar")]
    bars = [ax for ax in fig.axes if ax.get_visible() and hasattr(ax, "_colorbar")]
    if len(plotting) != 1 or fig.get_suptitle():
        fig.set_layout_engine("constrained")
        return False
    width_pt, height_pt = (v * 72.0 for v in fig.get_size_inches())
    pad = _PAD_PX * 0.72
    ax = plotting[0]
    left, bottom, right, _ = _axis_margins(ax)
    for bar in bars:  # a colorbar stands right of the axes: its ticks and label widen the margin
        b_left, _, b_right, _ = _axis_margins(bar)
        right = max(right, b_left + b_right)
    # The title is centred on the axes, which the labels push off the figure's centre.
    _fit_title(fig, ax.title, width_pt - 2 * pad - abs(left - right))
    top = _axis_margins(ax)[3]
    if ax.title.get_text():  # both ends of the title must stay inside: narrow the axes if need be
        w = _width_pt(fig, ax.title)
        right = max(right, left + w + 2 * pad - width_pt)
        left = max(left, right + w + 2 * pad - width_pt)
    fig.subplots_adjust(
        left=min(0.45, (left + pad) / width_pt),
        right=max(0.55, 1.0 - (right + pad) / width_pt),
        bottom=min(0.4, (bottom + pad) / height_pt),
        top=max(0.6, 1.0 - (top + pad) / height_pt),
    )
    if exact:
        contain(fig)
    return True


def _width_pt(fig: Figure, text: Any) -> float:
    return float(text.get_window_extent(fig.canvas.get_renderer()).width) * 72.0 / fig.dpi


_TITLE_MIN_PT = 10.0
"""A title is never shrunk below this size (the axes are narrowed instead)."""


def _fit_title(fig: Figure, title: Any, available_pt: float) -> None:
    """Break a title wider than ``available_pt`` at its " · ", else shrink its font (not below 10 pt)."""
    if not title.get_text() or _width_pt(fig, title) <= available_pt:
        return
    if " · " in title.get_text() and "\n" not in title.get_text():
        title.set_text(title.get_text().replace(" · ", "\n", 1))
    width = _width_pt(fig, title)
    if width > available_pt:
        title.set_fontsize(max(_TITLE_MIN_PT, title.get_fontsize() * available_pt / width))


_CONTAIN_ROUNDS = 4
_MIN_AXES_SHARE = 0.3
"""The axes keep at least this share of the figure's width and height however long the labels."""


def contain(fig: Figure) -> None:
    """Move the axes in until the figure's tight bounding box fits inside it, with a pad to spare."""
    pad_in = _PAD_PX * 0.72 / 72.0
    renderer = fig.canvas.get_renderer()
    width, height = fig.get_size_inches()
    for _ in range(_CONTAIN_ROUNDS):
        box = fig.get_tightbbox(renderer)
        over = (pad_in - box.x0, box.x1 - (width - pad_in), pad_in - box.y0, box.y1 - (height - pad_in))
        if max(over) <= 0.5 / 72.0:  # within half a point
            return
        p = fig.subplotpars
        left = p.left + max(0.0, over[0]) / width
        right = p.right - max(0.0, over[1]) / width
        bottom = p.bottom + max(0.0, over[2]) / height
        top = p.top - max(0.0, over[3]) / height
        if right - left < _MIN_AXES_SHARE:  # labels too long to fit: keep the axes readable
            deficit = _MIN_AXES_SHARE - (right - left)
            left, right = left - deficit / 2, right + deficit / 2
        if top - bottom < _MIN_AXES_SHARE:
            deficit = _MIN_AXES_SHARE - (top - bottom)
            bottom, top = bottom - deficit / 2, top + deficit / 2
        fig.subplots_adjust(left=left, right=right, bottom=bottom, top=top)


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
    """The figure as ``data:image/png;base64,...`` (a palette PNG at :data:`RENDER_SCALE` × ``dpi``).

    Its pixel buffer is released afterwards.
    """
    buffer = io.BytesIO()
    with closing(fig):
        own_margins = fit_margins(fig, exact=False)
        fig.set_dpi(dpi * RENDER_SCALE)
        canvas = fig.canvas
        canvas.draw()
        if own_margins and (_inked_edge(canvas) or _cut_labels(fig)):  # the guess cut something: measure, redraw
            contain(fig)
            canvas.draw()
        width, height = canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        palette = image.convert("RGB").quantize(PNG_COLOURS, method=Image.Quantize.MAXCOVERAGE,
                                                dither=Image.Dither.NONE)
        palette.save(buffer, format="png", compress_level=PNG_COMPRESSION, dpi=(dpi * RENDER_SCALE,) * 2)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


_EDGE_PX = 2
_INK = 240
"""A pixel darker than this (any channel) in the outermost :data:`_EDGE_PX` pixels is cut ink."""


def _inked_edge(canvas: FigureCanvasAgg) -> bool:
    """True when anything was drawn on the image's outermost pixels: a label or legend is cut."""
    pixels = np.asarray(canvas.buffer_rgba())[..., :3]
    edges = (pixels[:_EDGE_PX], pixels[-_EDGE_PX:], pixels[:, :_EDGE_PX], pixels[:, -_EDGE_PX:])
    return any(bool((edge < _INK).any()) for edge in edges)


def _cut_labels(fig: Figure) -> bool:
    """True when a title or axis label reaches past the figure's edge (after a draw).

    Such text can be cut between two words and leave no ink on the edge; tick labels and
    legends are single words or inside the axes, which :func:`_inked_edge` covers.
    """
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    for ax in fig.axes:
        for text in (ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label):
            if not text.get_text() or not text.get_visible():
                continue
            extent = text.get_window_extent(renderer)
            if extent.x0 < box.x0 or extent.x1 > box.x1 or extent.y0 < box.y0 or extent.y1 > box.y1:
                return True
    return False


@contextmanager
def plot_style() -> Iterator[None]:
    """:data:`STYLE` in force while a plot's artists are made and drawn."""
    with rc_context(STYLE):
        yield


def short_label(text: object, limit: int = LABEL_CHARS) -> str:
    """``text`` as a tick label: at most ``limit`` characters, a long one cut in the middle."""
    label = str(text)
    if len(label) <= limit:
        return label
    head = (limit - 1) * 3 // 5
    return f"{label[:head]}…{label[len(label) - (limit - 1 - head):]}"


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
    """Display labels of classes 0..n-1 (long names shortened, see :func:`short_label`)."""
    names = ev.class_names or []
    return [short_label(names[i]) if i < len(names) else str(i) for i in range(n)]


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
