"""Schema: every casing variant of contract §1.3, config locations, type aliases, the JSON Schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from executor.schema import (
    DatasetConfig,
    EvaluateConfig,
    ModelConfig,
    Node,
    PreprocessingConfig,
    SplitConfig,
    VisualizeConfig,
    parse_config,
    workflow_json_schema,
)


@pytest.mark.parametrize("model, raw, field, expected", [
    (DatasetConfig, {"dataset_id": "iris"}, "dataset_id", "iris"),
    (DatasetConfig, {"datasetId": "iris"}, "dataset_id", "iris"),
    (DatasetConfig, {"selectedDatasetId": "iris"}, "dataset_id", "iris"),
    (DatasetConfig, {"isSample": False}, "is_sample", False),
    (DatasetConfig, {"is_sample": False}, "is_sample", False),
    (DatasetConfig, {"targetColumn": "y"}, "target_column", "y"),
    (DatasetConfig, {"problemType": "regression"}, "problem_type", "regression"),
    (DatasetConfig, {"datasetUrl": "https://x/y.csv"}, "dataset_url", "https://x/y.csv"),
    (DatasetConfig, {"file_url": "https://x/y.csv"}, "dataset_url", "https://x/y.csv"),
    (SplitConfig, {"testSize": 20}, "test_size", 20),
    (SplitConfig, {"test_size": 0.3}, "test_size", 0.3),
    (SplitConfig, {"randomSeed": 0}, "random_seed", 0),
    (SplitConfig, {"random_seed": 7.0}, "random_seed", 7),
    (ModelConfig, {"algorithm": "knn", "useCrossValidation": True}, "use_cross_validation", True),
    (ModelConfig, {"algorithm": "knn", "use_cross_validation": True}, "use_cross_validation", True),
    (ModelConfig, {"algorithm": "knn", "use_cv": True}, "use_cross_validation", True),
    (ModelConfig, {"algorithm": "knn", "cv_folds": 10}, "cv_folds", 10),
    (ModelConfig, {"algorithm": "knn", "useOptuna": True}, "use_optuna", True),
    (ModelConfig, {"algorithm": "knn", "optunaTrials": 12}, "optuna_trials", 12),
    (ModelConfig, {"algorithm": "knn", "optuna_metric": "f1"}, "optuna_metric", "f1"),
    (EvaluateConfig, {"selectedMetrics": ["f1"]}, "selected_metrics", ["f1"]),
    (EvaluateConfig, {"metrics": ["f1"]}, "selected_metrics", ["f1"]),
    (EvaluateConfig, {"show_confidence_intervals": True}, "show_confidence_intervals", True),
    (EvaluateConfig, {"compareWithBaseline": True}, "compare_with_baseline", True),
    (VisualizeConfig, {"selectedPlots": ["roc_curve"]}, "selected_plots", ["roc_curve"]),
    (VisualizeConfig, {"plots": ["roc_curve"]}, "selected_plots", ["roc_curve"]),
])
def test_every_casing_variant_is_accepted(model: Any, raw: dict, field: str, expected: Any) -> None:
    assert getattr(model.model_validate(raw), field) == expected


@pytest.mark.parametrize("op, expected", [
    ({"type": "scale_minmax", "params": {"rangeMax": 2}}, {"rangeMax": 2}),
    ({"type": "scale_minmax", "config": {"rangeMax": 2}}, {"rangeMax": 2}),
    ({"type": "drop_columns", "columns": ["a"]}, {"columns": ["a"]}),
])
def test_operation_params_come_from_params_config_or_op_level_columns(op: dict, expected: dict) -> None:
    cfg = PreprocessingConfig.model_validate({"operations": [op]})
    assert cfg.operations[0].merged_params() == expected


@pytest.mark.parametrize("node, node_type", [
    ({"id": "a", "type": "split", "config": {"test_size": 0.3}}, "split"),
    ({"id": "a", "type": "trainTestSplit", "data": {"config": {"test_size": 0.3}}}, "split"),
    ({"id": "a", "type": "trainTestSplit", "data": {"test_size": 0.3}}, "split"),
])
def test_config_is_read_from_config_data_config_or_data(node: dict, node_type: str) -> None:
    parsed = Node.model_validate(node)
    cfg, problems = parse_config(parsed)
    assert parsed.node_type() == node_type and problems == []
    assert isinstance(cfg, SplitConfig) and cfg.test_size == 0.3


def test_feature_engineering_nodes_are_preprocessing() -> None:
    parsed = Node.model_validate({"id": "feature-14", "type": "featureEngineering", "config": {"operations": None}})
    cfg, problems = parse_config(parsed)
    assert isinstance(cfg, PreprocessingConfig) and cfg.operations == [] and problems == []


def test_json_schema_describes_every_node_config() -> None:
    schema = workflow_json_schema()
    assert {"datasetConfig", "splitConfig", "modelConfig", "evaluateConfig", "visualizeConfig"} <= set(schema["$defs"])
    json.dumps(schema)


def test_cli_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    from executor.__main__ import main

    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Workflow"
