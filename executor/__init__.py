"""The workflow engine: validate a platform workflow, train it, and return the platform's result envelope."""

from __future__ import annotations

from executor.errors import DatasetError, ExecutionError, InvalidWorkflowError, Problem, WorkflowError
from executor.evaluation import Evaluation
from executor.limits import EngineLimits
from executor.results import envelope_json, to_json
from executor.runner import run_workflow
from executor.schema import workflow_json_schema
from executor.validate import Plan, validate_workflow

__all__ = [
    "DatasetError",
    "EngineLimits",
    "Evaluation",
    "ExecutionError",
    "InvalidWorkflowError",
    "Plan",
    "Problem",
    "WorkflowError",
    "envelope_json",
    "run_workflow",
    "to_json",
    "validate_workflow",
    "workflow_json_schema",
]
