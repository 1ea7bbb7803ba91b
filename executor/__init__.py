"""The workflow engine: validate a platform workflow, train it, and return the platform's result envelope.

The exports are loaded lazily: the Gradio parent imports ``executor.limits`` (for limits.toml)
and must not pay for pandas/scikit-learn, which only the sandbox template and its jobs need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "DatasetError": "executor.errors",
    "ExecutionError": "executor.errors",
    "InvalidWorkflowError": "executor.errors",
    "Problem": "executor.errors",
    "WorkflowError": "executor.errors",
    "Evaluation": "executor.evaluation",
    "EngineLimits": "executor.limits",
    "envelope_json": "executor.results",
    "to_json": "executor.results",
    "run_workflow": "executor.runner",
    "workflow_json_schema": "executor.schema",
    "Plan": "executor.validate",
    "validate_workflow": "executor.validate",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'executor' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
