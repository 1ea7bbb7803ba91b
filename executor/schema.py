"""Workflow schema: pydantic models that accept every casing the platform sends (contract §1–2)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from executor.echo import listing, shown
from executor.errors import Problem

__all__ = [
    "NODE_TYPES",
    "TYPE_ALIASES",
    "DatasetConfig",
    "Edge",
    "EvaluateConfig",
    "FaultConfig",
    "ModelConfig",
    "Node",
    "Operation",
    "PreprocessingConfig",
    "SplitConfig",
    "VisualizeConfig",
    "Workflow",
    "parse_config",
    "parse_workflow",
    "workflow_json_schema",
]

NODE_TYPES = ("dataset", "preprocessing", "split", "model", "evaluate", "visualize", "fault")
"""Node types the engine runs, in the order used when a workflow has no edges."""

TYPE_ALIASES = {
    "trainTestSplit": "split",
    "train_test_split": "split",
    "featureEngineering": "preprocessing",
    "feature_engineering": "preprocessing",
    "feature": "preprocessing",
}
"""Frontend and legacy node type names mapped to the engine's names."""

_OPEN = ConfigDict(extra="allow", populate_by_name=True)
"""Config models keep unknown keys: the frontend passes propagated metadata through."""


def _alias(*names: str) -> Any:
    return AliasChoices(*names)


class DatasetConfig(BaseModel):
    """A ``dataset`` node: which data, which target, which problem type."""

    model_config = _OPEN

    dataset_id: str | None = Field(None, validation_alias=_alias("dataset_id", "datasetId", "selectedDatasetId"))
    dataset_name: str | None = Field(None, validation_alias=_alias("dataset_name", "datasetName"))
    is_sample: bool | None = Field(None, validation_alias=_alias("is_sample", "isSample"))
    target_column: str | None = Field(None, validation_alias=_alias("target_column", "targetColumn"))
    problem_type: str | None = Field(None, validation_alias=_alias("problem_type", "problemType"))
    dataset_url: str | None = Field(None, validation_alias=_alias("dataset_url", "datasetUrl", "file_url", "fileUrl"))
    data: str | list[Any] | dict[str, Any] | None = None
    """Inline data: CSV text or a list of records."""


class SplitConfig(BaseModel):
    """A ``split`` node: the train/test split."""

    model_config = _OPEN

    test_size: float | None = Field(None, validation_alias=_alias("test_size", "testSize"))
    """A fraction in (0, 1); a value above 1 is read as a percent."""
    stratify: bool | None = None
    """None (or absent) = false."""
    shuffle: bool | None = None
    """None (or absent) = true."""
    random_seed: int | None = Field(None, validation_alias=_alias("random_seed", "randomSeed", "random_state"))
    problem_type: str | None = Field(None, validation_alias=_alias("problemType", "problem_type"))
    target_column: str | None = Field(None, validation_alias=_alias("targetColumn", "target_column"))

    @field_validator("random_seed", mode="before")
    @classmethod
    def _whole_seed(cls, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


class Operation(BaseModel):
    """One preprocessing op: ``{type, params}`` (``config`` and op-level ``columns`` accepted too)."""

    model_config = _OPEN

    type: str
    params: dict[str, Any] | None = Field(None, validation_alias=_alias("params", "config"))
    columns: Any = None

    def merged_params(self) -> dict[str, Any]:
        """The op's params, with an op-level ``columns`` used when params name none."""
        out = dict(self.params or {})
        if self.columns is not None and "columns" not in out:
            out["columns"] = self.columns
        return out


class PreprocessingConfig(BaseModel):
    """A ``preprocessing`` (or feature-engineering) node: ops run in array order."""

    model_config = _OPEN

    operations: list[Operation] = []
    problem_type: str | None = Field(None, validation_alias=_alias("problemType", "problem_type"))
    target_column: str | None = Field(None, validation_alias=_alias("targetColumn", "target_column"))

    @field_validator("operations", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class ModelConfig(BaseModel):
    """A ``model`` node: algorithm, hyperparameters and training mode."""

    model_config = _OPEN

    algorithm: str
    hyperparameters: dict[str, Any] | None = None
    use_cross_validation: bool = Field(
        False, validation_alias=_alias("useCrossValidation", "use_cross_validation", "use_cv", "useCv")
    )
    cv_folds: int | None = Field(None, validation_alias=_alias("cvFolds", "cv_folds"))
    use_optuna: bool = Field(False, validation_alias=_alias("use_optuna", "useOptuna"))
    optuna_trials: int | None = Field(None, validation_alias=_alias("optuna_trials", "optunaTrials"))
    optuna_metric: str | None = Field(None, validation_alias=_alias("optuna_metric", "optunaMetric"))
    problem_type: str | None = Field(None, validation_alias=_alias("problemType", "problem_type"))
    target_column: str | None = Field(None, validation_alias=_alias("targetColumn", "target_column"))

    @field_validator("use_cross_validation", "use_optuna", mode="before")
    @classmethod
    def _null_is_false(cls, value: Any) -> Any:
        return False if value is None else value


class EvaluateConfig(BaseModel):
    """An ``evaluate`` node: which metrics."""

    model_config = _OPEN

    selected_metrics: list[str] | None = Field(
        None, validation_alias=_alias("selected_metrics", "selectedMetrics", "metrics")
    )
    show_confidence_intervals: bool = Field(
        False, validation_alias=_alias("showConfidenceIntervals", "show_confidence_intervals")
    )
    compare_with_baseline: bool = Field(
        False, validation_alias=_alias("compareWithBaseline", "compare_with_baseline")
    )


class VisualizeConfig(BaseModel):
    """A ``visualize`` node: which plots."""

    model_config = _OPEN

    selected_plots: list[str] | None = Field(
        None, validation_alias=_alias("selected_plots", "selectedPlots", "plots")
    )


class FaultConfig(BaseModel):
    """A ``fault`` node (testing only): ``kind`` plus that kind's parameters."""

    model_config = _OPEN

    kind: str


CONFIG_MODELS: dict[str, type[BaseModel]] = {
    "dataset": DatasetConfig,
    "split": SplitConfig,
    "preprocessing": PreprocessingConfig,
    "model": ModelConfig,
    "evaluate": EvaluateConfig,
    "visualize": VisualizeConfig,
    "fault": FaultConfig,
}


class Node(BaseModel):
    """A node as sent: config at ``node.config``, ``node.data.config`` or ``node.data``."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    config: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    position: dict[str, Any] | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def node_type(self) -> str:
        """The engine's type name (aliases resolved)."""
        return TYPE_ALIASES.get(self.type, self.type)

    def raw_config(self) -> dict[str, Any]:
        """Where the config lives: ``config``, else ``data.config``, else ``data``."""
        if self.config is not None:
            return self.config
        if self.data is not None:
            inner = self.data.get("config")
            return inner if isinstance(inner, dict) else self.data
        return {}


class Edge(BaseModel):
    """An edge; handles arrive as null from the backend, camelCase from direct callers."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str | None = None
    source: str
    target: str
    source_handle: str | None = Field(None, validation_alias=_alias("source_handle", "sourceHandle"))
    target_handle: str | None = Field(None, validation_alias=_alias("target_handle", "targetHandle"))


class Workflow(BaseModel):
    """The payload: ``{"nodes": [...], "edges": [...]}``."""

    model_config = ConfigDict(extra="allow")

    nodes: list[Node]
    edges: list[Edge] = []

    @field_validator("edges", mode="before")
    @classmethod
    def _null_edges(cls, value: Any) -> Any:
        return [] if value is None else value


def _problems(exc: ValidationError, node_id: str | None, prefix: str = "") -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        fld = f"{prefix}{loc}" if loc else prefix.rstrip(".") or None
        out.append(Problem(err["msg"], node_id, fld, err.get("input")))
    return out


def parse_workflow(raw: Any) -> tuple[Workflow | None, list[Problem]]:
    """The workflow model, or the problems that make the payload unreadable."""
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            return None, [Problem(f"the workflow is not valid JSON: {exc}")]
    if not isinstance(raw, dict):
        return None, [Problem(f"the workflow must be an object with nodes and edges. Got {type(raw).__name__}.")]
    try:
        return Workflow.model_validate(raw), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = list(err["loc"])
            node_id = None
            if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
                node = raw.get("nodes", [])[loc[1]]
                node_id = str(node.get("id")) if isinstance(node, dict) and node.get("id") is not None else None
            fld = ".".join(str(p) for p in loc)
            problems.append(Problem(err["msg"], node_id, fld, err.get("input")))
        return None, problems


def parse_config(node: Node) -> tuple[BaseModel | None, list[Problem]]:
    """The node's typed config, or its problems (fields prefixed ``config.``)."""
    model = CONFIG_MODELS.get(node.node_type())
    if model is None:
        return None, [Problem(f"unknown node type {shown(node.type)}", node.id, "type", node.type,
                              f"Valid types: {listing(NODE_TYPES)}")]
    try:
        return model.model_validate(node.raw_config()), []
    except ValidationError as exc:
        return None, _problems(exc, node.id, "config.")


def workflow_json_schema() -> dict[str, Any]:
    """JSON Schema of an accepted workflow, with each node type's config under ``$defs``."""
    schema = Workflow.model_json_schema(mode="validation")
    defs = schema.setdefault("$defs", {})
    for name, model in CONFIG_MODELS.items():
        sub = model.model_json_schema(mode="validation")
        defs.update(sub.pop("$defs", {}))
        defs[f"{name}Config"] = sub
    schema["description"] = (
        "A workflow as the platform sends it. Each node's config (at node.config, node.data.config or "
        "node.data) follows $defs/<type>Config; node types: " + ", ".join(NODE_TYPES)
        + "; aliases: " + ", ".join(f"{k}->{v}" for k, v in TYPE_ALIASES.items())
    )
    return schema
