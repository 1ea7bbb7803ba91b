"""Training: split sizes and seeds, stratify fallbacks, automatic split, clustering, problem types, threads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from executor.schema import SplitConfig
from executor.training import split_rows
from tests.executor import enginekit as kit


@pytest.mark.parametrize("cfg, n_test", [
    ({"test_size": 0.2}, 30),
    ({"test_size": 20}, 30),
    ({"testSize": 30}, 45),
    ({"test_size": 0.1}, 15),
    ({}, 30),
])
def test_test_size_is_a_fraction_or_a_percent(cfg: dict, n_test: int) -> None:
    split = split_rows(np.zeros(150, dtype=int), 150, SplitConfig.model_validate(cfg), "regression", node_id="s")
    assert (len(split.test), len(split.train)) == (n_test, 150 - n_test)


def test_seed_zero_is_a_seed_of_its_own() -> None:
    def test_rows(seed: int) -> list[int]:
        cfg = SplitConfig.model_validate({"random_seed": seed})
        return sorted(split_rows(None, 100, cfg, "regression", node_id="s").test.tolist())

    assert test_rows(0) != test_rows(42) and test_rows(0) == test_rows(0)


def test_no_shuffle_keeps_the_last_rows_for_testing() -> None:
    split = split_rows(None, 10, SplitConfig.model_validate({"shuffle": False}), "regression", node_id="s")
    assert split.test.tolist() == [8, 9]


@pytest.mark.parametrize("problem_type, y, cfg, fragment", [
    ("regression", np.arange(20.0), {"stratify": True}, "classification only"),
    ("classification", np.array([0] * 19 + [1]), {"stratify": True}, "stratified split impossible"),
    ("classification", np.array([0, 1] * 10), {"stratify": True, "shuffle": False}, "needs shuffle"),
])
def test_stratify_falls_back_with_a_warning(problem_type: str, y: np.ndarray, cfg: dict, fragment: str) -> None:
    split = split_rows(y, len(y), SplitConfig.model_validate(cfg), problem_type, node_id="s")
    assert any(fragment in n for n in split.notes)


def test_stratify_keeps_class_shares() -> None:
    y = np.array([0] * 80 + [1] * 20)
    split = split_rows(y, 100, SplitConfig.model_validate({"stratify": True}), "classification", node_id="s")
    assert int(y[split.test].sum()) == 4


def test_without_split_node_the_engine_holds_out_20_percent() -> None:
    wf = kit.example("iris_random_forest")
    wf["nodes"] = [n for n in wf["nodes"] if n["type"] != "split"]
    wf["edges"] = [e for e in wf["edges"] if "split" not in e["id"]] + [kit.edge("dataset-11", "model-15")]
    res = kit.run(wf)["results"]
    assert (res["trainSamples"], res["testSamples"]) == (120, 30)
    assert any("no split node" in w for w in res["warnings"])


def test_clustering_uses_every_row() -> None:
    res = kit.run(kit.example("kmeans_clustering"))["results"]
    assert (res["trainSamples"], res["testSamples"], res["problemType"]) == (150, 0, "clustering")


@pytest.mark.parametrize("dataset_pt, expected, fragment", [
    ("time_series", "regression", "trained as regression"),
    ("other", "regression", "inferred"),
    (None, "regression", "inferred"),
])
def test_problem_types_are_normalised(dataset_pt: Any, expected: str, fragment: str) -> None:
    wf = kit.example("random_forest_regression")
    kit.node(wf, "dataset-11")["config"]["problem_type"] = dataset_pt
    for n in wf["nodes"]:
        n["config"].pop("problemType", None)
    res = kit.run(wf)["results"]
    assert res["problemType"] == expected
    assert any(fragment in w for w in res["warnings"])


def test_nlp_and_image_are_classification() -> None:
    wf = kit.example("iris_random_forest")
    kit.node(wf, "dataset-11")["config"]["problem_type"] = "image"
    res = kit.run(wf)["results"]
    assert res["problemType"] == "classification"


def test_kmeans_is_clustering_whatever_the_dataset_says() -> None:
    wf = kit.example("iris_random_forest")
    kit.node(wf, "model-15")["config"].update({"algorithm": "kmeans", "hyperparameters": {"n_clusters": 3}})
    res = kit.run(wf)["results"]
    assert res["problemType"] == "clustering" and res["featuresCount"] == 4


def test_stale_propagated_target_does_not_override_the_dataset_node() -> None:
    wf = kit.example("iris_random_forest")
    kit.node(wf, "model-15")["config"]["targetColumn"] = "petal width (cm)"
    kit.node(wf, "split-12")["config"]["targetColumn"] = "petal width (cm)"
    assert kit.run(wf)["results"]["dataset"]["target"] == "target"


def test_training_time_is_reported() -> None:
    res = kit.run(kit.example("iris_random_forest"))["results"]
    assert isinstance(res["trainingTimeSeconds"], float) and res["trainingTimeSeconds"] >= 0


@pytest.mark.parametrize("rows, threads, n_jobs", [(3000, 2, 2), (3000, 1, 1), (100, 2, 1)])
def test_threads_reach_the_estimator_unless_the_data_is_tiny(rows: int, threads: int, n_jobs: int) -> None:
    from executor.validate import validate_workflow
    from executor.workbench import Workbench
    from sandbox import JobContext

    records = [{"x": float(i % 17), "y": i % 2} for i in range(rows)]
    plan = validate_workflow(kit.inline_workflow(records, "y", "classification", split={"test_size": 0.2}))
    bench = Workbench(plan, kit.EngineLimits(), JobContext.local(threads=threads), [])
    bench.load("dataset-1", plan.configs["dataset-1"])
    assert bench.train("model-4").evaluation.estimator.n_jobs == n_jobs
