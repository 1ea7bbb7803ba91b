"""End-to-end engine runs: every example workflow, the result shape, several models, the model file."""

from __future__ import annotations

import base64
import io
import math

import joblib
import pytest

from executor import EngineLimits
from executor.limits import OutputLimits
from executor.results import to_json
from tests.executor import enginekit as kit

pytestmark = pytest.mark.slow  # every example and the result shape, end to end through the engine (seconds of training)

RESULT_KEYS = {"algorithm", "algorithmName", "problemType", "trainingMode", "trainingTimeSeconds", "hyperparameters",
               "metrics", "plots", "trainSamples", "testSamples", "featuresCount", "creditsUsed", "model_base64",
               "model_path", "warnings", "nodes", "dataset"}


@pytest.mark.parametrize("name", kit.example_names())
def test_every_example_completes_with_the_platform_fields(name: str) -> None:
    out = kit.run(kit.example(name))
    assert out["status"] == "completed", out.get("error")
    res = out["results"]
    assert RESULT_KEYS <= set(res)
    assert res["creditsUsed"] == 0 and res["model_path"] is None
    assert res["metrics"], "every run reports at least one metric"
    assert all(isinstance(m["value"], float) and math.isfinite(m["value"]) for m in res["metrics"])
    assert len({m["key"] for m in res["metrics"]}) == len(res["metrics"])
    assert all(p["url"].startswith("data:image/png;base64,") for p in res["plots"])
    assert [n["status"] for n in res["nodes"]] == ["completed"] * len(res["nodes"])
    to_json(out)  # strict JSON: raises on NaN/Infinity


@pytest.mark.parametrize("name, algorithm_name, problem_type", [
    ("xgboost_classification", "XGBoost", "classification"),
    ("knn_regression", "K-Nearest Neighbors", "regression"),
    ("svm_classification", "Support Vector Machine", "classification"),
    ("kmeans_clustering", "K-Means Clustering", "clustering"),
])
def test_display_names_and_problem_type_come_from_the_registry(name: str, algorithm_name: str,
                                                               problem_type: str) -> None:
    res = kit.run(kit.example(name))["results"]
    assert (res["algorithmName"], res["problemType"]) == (algorithm_name, problem_type)


@pytest.mark.parametrize("name", ["random_forest_regression", "decision_tree_regression", "svm_regression"])
def test_regression_with_the_frontend_default_classification_metrics_reports_regression_metrics(name: str) -> None:
    res = kit.run(kit.example(name))["results"]
    assert {m["key"] for m in res["metrics"]} >= {"r2"}
    assert any("none of the requested metrics applies" in w for w in res["warnings"])


def test_iris_counts_and_dataset_summary() -> None:
    res = kit.run(kit.example("iris_random_forest"))["results"]
    assert (res["trainSamples"], res["testSamples"], res["featuresCount"]) == (120, 30, 4)
    assert res["dataset"]["rows"] == 150 and res["dataset"]["target"] == "target"
    assert res["dataset"]["classes"] == ["0", "1", "2"]
    assert res["hyperparameters"]["n_estimators"] == 100


def test_same_input_and_seed_give_the_same_metrics() -> None:
    a = kit.run(kit.example("random_forest_classification"), threads=2)["results"]["metrics"]
    b = kit.run(kit.example("random_forest_classification"), threads=1)["results"]["metrics"]
    assert a == b


def test_model_base64_is_a_joblib_pipeline_that_predicts_raw_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    res = kit.run(kit.example("iris_random_forest"))["results"]
    raw = base64.b64decode(res["model_base64"])
    path = tmp_path / "model.joblib"  # what the backend does: write the file, then joblib.load(path)
    path.write_bytes(raw)
    from sklearn.datasets import load_iris

    X = load_iris(as_frame=True).frame.drop(columns="target").head(5)
    from_buffer, from_file = joblib.load(io.BytesIO(raw)), joblib.load(path)
    assert from_buffer.predict(X).shape == (5,)
    assert list(from_buffer.predict(X)) == list(from_file.predict(X)) == [0] * 5  # the first rows are setosa


@pytest.mark.parametrize("max_model_mb, present", [(0, False), (8, True)])
def test_model_size_cap_omits_the_model_with_a_warning(max_model_mb: int, present: bool) -> None:
    limits = EngineLimits(output=OutputLimits(max_model_mb=max_model_mb))
    res = kit.run(kit.example("iris_random_forest"), limits=limits)["results"]
    assert (res["model_base64"] is not None) == present
    assert any("max_model_mb" in w for w in res["warnings"]) != present


def test_no_temp_files_are_left_in_the_job_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert kit.run(kit.example("iris_random_forest"), tmpdir=tmp_path)["status"] == "completed"
    assert list(tmp_path.iterdir()) == []


def test_several_model_nodes_are_each_trained_and_listed() -> None:
    wf = kit.example("iris_random_forest")
    wf["nodes"].append({"id": "model-20", "type": "model", "config": {"algorithm": "logistic_regression",
                                                                      "hyperparameters": {}}})
    wf["nodes"].append({"id": "evaluate-21", "type": "evaluate", "config": {"selected_metrics": ["accuracy"]}})
    wf["edges"] += [kit.edge("split-12", "model-20"), kit.edge("model-20", "evaluate-21")]
    res = kit.run(wf)["results"]
    assert [m["algorithm"] for m in res["models"]] == ["random_forest", "logistic_regression"]
    assert [m["key"] for m in res["models"][1]["metrics"]] == ["accuracy"]
    assert res["models"][0]["model_base64"] is None and res["models"][1]["model_base64"]


def test_progress_events_are_emitted_once_per_node_in_order() -> None:
    events: list[dict] = []
    kit.run(kit.example("iris_random_forest"), events=events)
    progress = [e for e in events if e["type"] == "progress" and "detail" not in e]  # details: test_progress_detail
    assert [e["node"] for e in progress] == ["dataset-11", "split-12", "model-15", "evaluate-16", "visualize-17"]
    assert {e["total"] for e in progress} == {5} and [e["index"] for e in progress] == list(range(5))


def test_cross_validation_reports_fold_means_with_spread() -> None:
    wf = kit.example("random_forest_classification")
    kit.node(wf, "model-15")["config"].update({"useCrossValidation": True, "cvFolds": 3})
    res = kit.run(wf)["results"]
    assert res["trainingMode"] == "cross_validation"
    assert all(m["folds"] == 3 and m["std"] >= 0 for m in res["metrics"])
    for m in res["metrics"]:  # the per-fold values behind the mean and the spread
        assert len(m["foldValues"]) == 3
        assert abs(sum(m["foldValues"]) / 3 - m["value"]) < 1e-9


def test_a_model_without_evaluate_node_reports_default_metrics() -> None:
    wf = kit.example("iris_random_forest")
    wf["nodes"] = [n for n in wf["nodes"] if n["type"] != "evaluate"]
    wf["edges"] = [e for e in wf["edges"] if "evaluate" not in e["target"]]
    res = kit.run(wf)["results"]
    assert res["metrics"] and any("no evaluate node" in w for w in res["warnings"])
