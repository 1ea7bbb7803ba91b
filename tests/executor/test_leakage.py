"""No test row leaks into anything learned: preprocessing is fitted on the training rows only."""

from __future__ import annotations

import numpy as np
import pytest

from tests.executor import enginekit as kit


def _records(n: int = 200) -> list[dict]:
    rng = np.random.default_rng(1)
    return [{"x": float(v), "cat": str(rng.choice(["a", "b"])), "y": int(v > 0)} for v in rng.normal(size=n)]


@pytest.mark.parametrize("op", [
    {"type": "scale_standard", "params": {"columns": "all_numeric"}},
    {"type": "fill_missing", "params": {"strategy": "mean"}},
    {"type": "scale_minmax", "params": {}},
    {"type": "remove_outliers_zscore", "params": {"action": "clip", "threshold": 1}},
])
def test_learned_statistics_come_from_training_rows_only(op: dict) -> None:
    records = _records()
    wf = kit.inline_workflow(records, "y", "classification", ops=[op],
                             split={"test_size": 0.25, "random_seed": 3, "shuffle": True})
    from executor.validate import validate_workflow
    from executor.workbench import Workbench
    from sandbox import JobContext

    plan = validate_workflow(wf)
    bench = Workbench(plan, kit.EngineLimits(), JobContext.local(), [])
    bench.load("dataset-1", plan.configs["dataset-1"])
    trained = bench.train("model-4")
    step = trained.evaluation.model.steps[0][1]  # the returned model's first step: a ColumnTransformer
    fitted = next(t for name, t, _ in step.transformers_ if name != "remainder")
    train_x = trained.evaluation.X_train["x"]
    all_x = np.array([r["x"] for r in records])
    learned = {"scale_standard": lambda: fitted.mean_[0], "fill_missing": lambda: fitted.statistics_[0],
               "scale_minmax": lambda: fitted.data_max_[0],
               "remove_outliers_zscore": lambda: fitted.kw_args["upper"][0]}[op["type"]]()
    expected = {"scale_standard": train_x.mean(), "fill_missing": train_x.mean(), "scale_minmax": train_x.max(),
                "remove_outliers_zscore": train_x.mean() + train_x.std(ddof=0)}[op["type"]]
    everything = {"scale_standard": all_x.mean(), "fill_missing": all_x.mean(), "scale_minmax": all_x.max(),
                  "remove_outliers_zscore": all_x.mean() + all_x.std()}[op["type"]]
    assert learned == pytest.approx(expected)
    assert learned != pytest.approx(everything)


def test_a_category_seen_only_in_test_rows_is_not_known_to_the_encoder() -> None:
    records = _records(100)
    records[-1]["cat"] = "only-in-test"
    wf = kit.inline_workflow(records, "y", "classification", split={"test_size": 0.2, "shuffle": False})
    out = kit.run(wf)
    assert out["status"] == "completed"
    assert out["results"]["featuresCount"] == 3  # x + one-hot a/b learned on training rows
