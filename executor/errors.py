"""The engine's one error tree.

    WorkflowError                 base: a workflow that cannot be run as sent
    ├── InvalidWorkflowError      code ``invalid_workflow``: schema, graph, config or parameter problems
    ├── DatasetError              code ``dataset_error``: a dataset that cannot be loaded or used
    └── ExecutionError            code ``execution_error``: a step failed while running

Each error carries the node id, the field and the value at fault where known, and renders the
self-contained message the platform shows (``[model-15 · Random Forest] ...``). Several problems
found at once travel in one :class:`InvalidWorkflowError` with ``problems``.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

__all__ = [
    "DatasetError",
    "ExecutionError",
    "InvalidWorkflowError",
    "Problem",
    "WorkflowError",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow: where (node, field) and what."""

    message: str
    node_id: str | None = None
    field: str | None = None
    value: Any = None

    def render(self, label: str | None = None) -> str:
        where = " · ".join(p for p in (self.node_id, label) if p)
        prefix = f"[{where}] " if where else ""
        fld = f"{self.field}: " if self.field else ""
        return f"{prefix}{fld}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.node_id is not None:
            out["nodeId"] = self.node_id
        if self.field is not None:
            out["field"] = self.field
        if self.value is not None:
            out["value"] = _jsonable(self.value)
        return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


@dataclass
class WorkflowError(Exception):
    """A workflow that cannot be run as sent. Subclasses fix the error code."""

    message: str
    node_id: str | None = None
    field: str | None = None
    value: Any = None
    label: str | None = None
    """Human label of the node, e.g. the algorithm name, shown after the node id."""
    problems: list[Problem] = dc_field(default_factory=list)
    details: dict[str, Any] = dc_field(default_factory=dict)

    code = "workflow_error"

    def __post_init__(self) -> None:
        super().__init__(self.message)
        if not self.problems:
            self.problems = [Problem(self.message, self.node_id, self.field, self.value)]

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """The self-contained message for the platform's error panel."""
        if len(self.problems) == 1:
            return self.problems[0].render(self.label)
        head = f"{self.message} ({len(self.problems)} problems): "
        return head + "; ".join(p.render() for p in self.problems)

    def to_result(self) -> dict[str, Any]:
        """The failure envelope the API returns."""
        details: dict[str, Any] = dict(self.details)
        if self.node_id is not None:
            details.setdefault("nodeId", self.node_id)
        if self.field is not None:
            details.setdefault("field", self.field)
        if self.value is not None:
            details.setdefault("value", _jsonable(self.value))
        details["problems"] = [p.to_dict() for p in self.problems]
        return {
            "status": "failed",
            "error": self.render(),
            "errorCode": self.code,
            "errorDetails": details,
        }


class InvalidWorkflowError(WorkflowError):
    """The workflow's shape, graph, config keys or parameter values are not acceptable."""

    code = "invalid_workflow"


class DatasetError(WorkflowError):
    """A dataset cannot be found, downloaded, parsed, or is over a size cap."""

    code = "dataset_error"


class ExecutionError(WorkflowError):
    """A step (preprocessing, fit, metric, plot) failed while running."""

    code = "execution_error"
