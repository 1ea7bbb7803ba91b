"""Plots are legible at their shown size and nothing is cut: no ink on any PNG's edge, big enough text.

A label or legend cut by the figure's edge leaves ink in the image's outermost pixels; every plot
of every kind (long feature and class names included) must have a clean white frame instead.
"""

from __future__ import annotations

import base64
import io
from contextlib import contextmanager

import numpy as np
import pytest
from PIL import Image

from executor.plots import PLOTS
from executor.plots import _figure as figure_module
from executor.plots._figure import FIGSIZE, RENDER_SCALE, new_figure, plot_style, short_label
from tests.executor import enginekit as kit

EDGE = 3
"""Pixels of the frame that must be background."""
WHITE = 240


def _frame_is_clean(url: str) -> tuple[bool, tuple[int, int]]:
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("L")
    pixels = np.asarray(image)
    frame = np.concatenate([pixels[:EDGE].ravel(), pixels[-EDGE:].ravel(), pixels[:, :EDGE].ravel(),
                            pixels[:, -EDGE:].ravel()])
    return bool(frame.min() >= WHITE), image.size


def _long_names(n: int = 160) -> list[dict]:
    rng = np.random.default_rng(5)
    rows = []
    for _ in range(n):
        a, b, c = rng.normal(size=3)
        rows.append({"customer_lifetime_value_in_euros_over_the_last_twelve_months": float(a),
                     "number_of_support_tickets_opened_since_the_start_of_the_contract": float(b),
                     "x": float(c),
                     "segment": "premium subscription with the extended warranty" if a + b > 0 else
                                "basic pay-as-you-go plan without any warranty"})
    return rows


def _all_plots(workflow: dict, problem_type: str) -> dict:
    keys = [k for k, kinds in PLOTS.items() if problem_type in kinds]
    vis = {"id": "visualize-9", "type": "visualize", "config": {"selected_plots": keys}}
    model = next(n["id"] for n in workflow["nodes"] if n["type"] == "model")
    workflow["nodes"].append(vis)
    workflow["edges"].append(kit.edge(model, "visualize-9"))
    return workflow


def _iris(algorithm: str, hyper: dict) -> dict:
    wf = kit.example("iris_random_forest")
    kit.node(wf, "model-15")["config"].update({"algorithm": algorithm, "hyperparameters": hyper})
    wf["nodes"] = [n for n in wf["nodes"] if n["type"] != "visualize"]
    wf["edges"] = [e for e in wf["edges"] if e["target"] != "visualize-17"]
    return wf


CASES = {
    "iris-random_forest": lambda: _all_plots(_iris("random_forest", {"n_estimators": 20}), "classification"),
    "long_names-logistic_regression": lambda: _all_plots(kit.inline_workflow(
        _long_names(), "segment", "classification", algorithm="logistic_regression"), "classification"),
    "long_names-random_forest_regression": lambda: _all_plots(kit.inline_workflow(
        [{**r, "segment": len(r["segment"])} for r in _long_names()], "x", "regression",
        algorithm="random_forest", hyperparameters={"n_estimators": 20}), "regression"),
    "diabetes-linear_regression": lambda: _all_plots(kit.example("linear_regression_regression"), "regression"),
    "iris-kmeans": lambda: _all_plots(kit.example("kmeans_clustering"), "clustering"),
}


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Each plot's tight bounding box (every artist, measured by the renderer) checked against its
    figure just before the figure is released: (title, inside)."""
    seen: list[tuple[str, bool]] = []
    release = figure_module.closing

    @contextmanager
    def checking(fig):
        with release(fig):
            yield fig
            box = fig.get_tightbbox(fig.canvas.get_renderer())
            width, height = fig.get_size_inches()
            slack = 1 / 72
            inside = box.x0 >= -slack and box.y0 >= -slack and box.x1 <= width + slack and box.y1 <= height + slack
            seen.append((" ".join(ax.get_title() for ax in fig.axes) or fig.get_suptitle(), bool(inside)))

    monkeypatch.setattr(figure_module, "closing", checking)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_no_plot_is_cut_at_its_edge(case: str, measured: list[tuple[str, bool]]) -> None:
    out = kit.run(CASES[case]())
    assert out["status"] == "completed", out.get("error")
    plots = out["results"]["plots"]
    assert len(plots) >= 3
    for plot in plots:
        clean, size = _frame_is_clean(plot["url"])
        assert clean, f"{plot['key']}: ink on the image's edge (a label or legend is cut)"
        assert size[0] == round(FIGSIZE[0] * 80 * RENDER_SCALE)  # rendered at twice the shown size
    assert len(measured) >= len(plots)  # an example's own visualize node draws some twice
    assert [title for title, inside in measured if not inside] == []


def test_text_is_sized_for_the_shown_size() -> None:
    with plot_style():
        fig = new_figure()
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], label="class 0 (AUC 0.912)")
        legend = ax.legend()
        ax.set_title("ROC Curve")
        px = 80 / 72  # a point in shown pixels at plot_dpi 80
        assert legend.get_texts()[0].get_fontsize() * px >= 11  # was ~9 (7 px letters)
        assert ax.xaxis.get_ticklabels()[0].get_fontsize() * px >= 13
        assert ax.title.get_fontsize() * px >= 16


def test_long_labels_keep_their_start_and_end() -> None:
    label = short_label("merchant_id_infrequent_sklearn_category_of_the_year")
    assert len(label) == 22 and label.startswith("merchant_id_") and label.endswith("the_year") and "…" in label
    assert short_label("petal length (cm)") == "petal length (cm)"
