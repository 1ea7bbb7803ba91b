"""Progress inside a node: folds, search trials and plots as detail events, rate-limited."""

from __future__ import annotations

import pytest

from executor import progress as progress_module
from executor.progress import Progress
from tests.executor import enginekit as kit


@pytest.fixture
def every_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """No rate limit, so a test sees every detail event of a fast run."""
    monkeypatch.setattr(progress_module, "PROGRESS_INTERVAL_SECONDS", 0.0)


def _details(events: list[dict], node_type: str) -> list[tuple[str, float]]:
    return [(e["detail"], e["fraction"]) for e in events if e.get("nodeType") == node_type and "detail" in e]


@pytest.mark.slow
def test_cross_validation_reports_each_fold_then_the_final_fit(every_event: None) -> None:
    wf = kit.example("iris_random_forest")
    model = kit.node(wf, "model-15")["config"]
    model.update({"useCrossValidation": True, "cvFolds": 5, "hyperparameters": {"n_estimators": 5}})
    events: list[dict] = []
    out = kit.run(wf, events=events)
    assert out["status"] == "completed", out.get("error")
    details = _details(events, "model")
    assert [d for d, _ in details] == [f"fold {i} of 5" for i in range(1, 6)] + ["fit on the training rows"]
    assert [f for _, f in details] == pytest.approx([0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6], abs=1e-4)
    node_event = next(e for e in events if e.get("nodeType") == "model" and "detail" not in e)
    for event in (e for e in events if e.get("nodeType") == "model" and "detail" in e):
        assert {k: event[k] for k in node_event} == node_event  # the node's event plus detail and fraction


@pytest.mark.slow
def test_a_search_reports_its_trials_before_the_fit(every_event: None) -> None:
    wf = kit.example("iris_random_forest")
    kit.node(wf, "model-15")["config"].update({"use_optuna": True, "optuna_trials": 4,
                                               "hyperparameters": {"n_estimators": 5}})
    events: list[dict] = []
    out = kit.run(wf, events=events)
    assert out["status"] == "completed", out.get("error")
    details = _details(events, "model")
    assert [d for d, _ in details] == [f"trial {i} of 4" for i in range(1, 5)]
    assert [f for _, f in details] == pytest.approx([0, 0.2, 0.4, 0.6], abs=1e-4)  # 4 trials + 1 fit


def test_plots_are_reported_one_by_one(every_event: None) -> None:
    wf = kit.example("iris_random_forest")
    kit.node(wf, "visualize-17")["config"]["selected_plots"] = ["confusion_matrix", "roc_curve", "class_distribution"]
    events: list[dict] = []
    out = kit.run(wf, events=events)
    assert out["status"] == "completed", out.get("error")
    assert _details(events, "visualize") == [("plot 1 of 3", 0.0), ("plot 2 of 3", pytest.approx(1 / 3, abs=1e-4)),
                                             ("plot 3 of 3", pytest.approx(2 / 3, abs=1e-4))]


def test_detail_events_are_rate_limited() -> None:
    sent: list[dict] = []
    now = [100.0]
    progress = Progress(sent.append, {"type": "progress", "node": "m"}, now=lambda: now[0])
    for i in range(1, 11):  # ten folds 0.1 s apart: one event every 0.25 s at most
        progress.step(i, 10, "fold")
        now[0] += 0.1
    assert [e["detail"] for e in sent] == ["fold 1 of 10", "fold 4 of 10", "fold 7 of 10", "fold 10 of 10"]
    assert all(e["type"] == "progress" and e["node"] == "m" for e in sent)


def test_a_part_maps_its_steps_onto_its_share_of_the_node() -> None:
    sent: list[dict] = []
    times = iter(range(100))
    progress = Progress(sent.append, {}, now=lambda: float(next(times)))
    progress.part(0.5, 0.5).step(2, 4, "plot")
    assert sent == [{"detail": "plot 2 of 4", "fraction": 0.625}]
