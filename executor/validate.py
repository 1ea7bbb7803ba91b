"""Validation before anything runs: every problem of a workflow collected into one InvalidWorkflowError."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from executor.algorithms import AlgorithmSpec, get_algorithm
from executor.echo import shown, tag
from executor.errors import InvalidWorkflowError, Problem
from executor.graph import Graph, build_graph
from executor.preprocess import PlannedOp, plan_operations
from executor.problem import normalise_problem_type
from executor.schema import (
    DatasetConfig,
    EvaluateConfig,
    FaultConfig,
    ModelConfig,
    PreprocessingConfig,
    SplitConfig,
    VisualizeConfig,
    Workflow,
    parse_config,
    parse_workflow,
)

__all__ = ["Plan", "validate_workflow"]


@dataclass
class Plan:
    """A workflow that passed validation: its graph, typed configs, planned ops and algorithm specs."""

    workflow: Workflow
    graph: Graph
    configs: dict[str, BaseModel]
    ops: dict[str, list[PlannedOp]] = field(default_factory=dict)
    specs: dict[str, AlgorithmSpec] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _raise(problems: list[Problem]) -> None:
    if not problems:
        return
    first = problems[0]
    message = first.message if len(problems) == 1 else "the workflow cannot be run"
    raise InvalidWorkflowError(message, node_id=first.node_id, field=first.field, value=first.value,
                               problems=problems)


def _check_split(nid: str, cfg: SplitConfig) -> list[Problem]:
    out = []
    if cfg.test_size is not None:
        size = cfg.test_size / 100.0 if cfg.test_size > 1 else cfg.test_size
        if not 0 < size < 1:
            out.append(Problem(f"must be a fraction between 0 and 1 (or a percent between 1 and 100)."
                               f" Got {shown(cfg.test_size)} instead.", nid, "config.test_size", cfg.test_size))
    if cfg.random_seed is not None and cfg.random_seed < 0:
        out.append(Problem(f"must be >= 0. Got {shown(cfg.random_seed)} instead.", nid, "config.random_seed",
                           cfg.random_seed))
    return out


def _dataset_problem_type(graph: Graph, model_id: str) -> str | None:
    dataset = graph.nodes[graph.chain(model_id)[0]].config
    if isinstance(dataset, DatasetConfig) and dataset.problem_type is not None:
        return normalise_problem_type(dataset.problem_type)[0]
    return None


def _check_model(nid: str, cfg: ModelConfig, graph: Graph, plan: Plan) -> list[Problem]:
    try:
        spec = get_algorithm(cfg.algorithm, node_id=nid)
    except InvalidWorkflowError as exc:
        return [replace(p, node_id=nid, field="config.algorithm") for p in exc.problems]
    plan.specs[nid] = spec
    out: list[Problem] = []
    ptype = "clustering" if "clustering" in spec.problem_types else _dataset_problem_type(graph, nid)
    if ptype is not None and not spec.supports(ptype):
        supported = ", ".join(sorted(spec.problem_types))
        out.append(Problem(f"{spec.name} cannot be used for {ptype} problems (it supports: {supported});"
                           " choose another algorithm or problem type", nid, "config.algorithm", cfg.algorithm))
        ptype = None
    check_type = ptype or sorted(spec.problem_types)[0]
    try:
        spec.build(check_type, cfg.hyperparameters, threads=1, n_samples=1_000_000, n_features=1,
                   n_classes=2 if check_type == "classification" else None, node_id=nid)
    except InvalidWorkflowError as exc:
        out += [replace(p, node_id=nid, field=f"config.{p.field}" if p.field else "config.hyperparameters")
                for p in exc.problems]
    if cfg.use_cross_validation and cfg.cv_folds is not None and cfg.cv_folds < 2:
        out.append(Problem(f"must be at least 2. Got {shown(cfg.cv_folds)} instead.", nid, "config.cvFolds",
                           cfg.cv_folds))
    if cfg.use_optuna and cfg.optuna_trials is not None and cfg.optuna_trials < 1:
        out.append(Problem(f"must be at least 1. Got {shown(cfg.optuna_trials)} instead.", nid, "config.optuna_trials",
                           cfg.optuna_trials))
    return out


def _check_fault(nid: str, cfg: FaultConfig, fault_injection: bool) -> list[Problem]:
    if not fault_injection:
        return [Problem("fault nodes are disabled on this worker ([testing] fault_injection = false)", nid,
                        "type", "fault")]
    from sandbox.faults import validate_fault  # only needed when faults are enabled

    return [Problem(msg, nid, "config.kind", cfg.kind) for msg in validate_fault(cfg.model_dump())]


def _check_node(nid: str, cfg: BaseModel, graph: Graph, plan: Plan, fault_injection: bool) -> list[Problem]:
    if isinstance(cfg, DatasetConfig):
        if not (cfg.dataset_id or cfg.dataset_url or cfg.data is not None):
            return [Problem("a dataset node needs a dataset_id, a dataset_url or inline data", nid,
                            "config.dataset_id")]
    elif isinstance(cfg, SplitConfig):
        return _check_split(nid, cfg)
    elif isinstance(cfg, PreprocessingConfig):
        planned, problems = plan_operations(nid, cfg.operations)
        plan.ops[nid] = planned
        return problems
    elif isinstance(cfg, ModelConfig):
        return _check_model(nid, cfg, graph, plan)
    elif isinstance(cfg, EvaluateConfig) and cfg.selected_metrics == []:
        plan.warnings.append(f"{tag(nid)} no metrics selected: the problem type's default metrics are reported")
    elif isinstance(cfg, VisualizeConfig) and not cfg.selected_plots:
        plan.warnings.append(f"{tag(nid)} no plots selected: nothing is drawn")
    elif isinstance(cfg, FaultConfig):
        return _check_fault(nid, cfg, fault_injection)
    return []


def validate_workflow(raw: Any, *, fault_injection: bool = False) -> Plan:
    """Parse and check ``raw``; raises one InvalidWorkflowError listing every problem found."""
    workflow, problems = parse_workflow(raw)
    _raise(problems)
    assert workflow is not None
    if not workflow.nodes:
        _raise([Problem("the workflow has no nodes: add a dataset and a model", None, "nodes")])
    configs: dict[str, BaseModel] = {}
    for node in workflow.nodes:
        cfg, node_problems = parse_config(node)
        problems += node_problems
        if cfg is not None:
            configs.setdefault(node.id, cfg)
    graph, graph_problems = build_graph(workflow, configs)
    problems += graph_problems
    if graph is None:
        _raise(problems)
    assert graph is not None
    types = {n.type for n in graph.nodes.values()}
    if types != {"fault"}:
        if "dataset" not in types:
            problems.append(Problem("the workflow has no dataset node", None, "nodes"))
        if "model" not in types:
            problems.append(Problem("the workflow has no model node", None, "nodes"))
    plan = Plan(workflow, graph, configs, warnings=list(graph.warnings))
    for nid in graph.order:
        cfg = configs.get(nid)
        if cfg is not None:
            problems += _check_node(nid, cfg, graph, plan, fault_injection)
    _raise(problems)
    return plan
