"""The engine's one error tree.

    WorkflowError                 base: a workflow that cannot be run as sent
    ├── InvalidWorkflowError      code ``invalid_workflow``: schema, graph, config or parameter problems
    ├── DatasetError              code ``dataset_error``: a dataset that cannot be loaded or used
    └── ExecutionError            code ``execution_error``: a step failed while running

Each error carries the node id, the field and the value at fault where known, and renders the
self-contained message the platform shows (``[model-15 · Random Forest] ...``). Several problems
found at once travel in one :class:`InvalidWorkflowError` with ``problems``.

What an error says is bounded whatever the request held (``executor.echo``, limits.toml
``[request]``): at most ``max_problems`` problems, then "… and N more"; every node id, field and
value cut to ``max_echo_chars``; a problem's ``hint`` (the list of valid options) said once per
error, not once per problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from executor.echo import capped, clip, clip_message, more_text, shown

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
    hint: str | None = None
    """What would be valid (e.g. "Valid operations: ..."); said once per error however many problems share it."""

    def render(self, label: str | None = None) -> str:
        where = " · ".join(clip(str(p)) for p in (self.node_id, label) if p)
        prefix = f"[{where}] " if where else ""
        fld = f"{clip(str(self.field))}: " if self.field else ""
        return f"{prefix}{fld}{clip_message(self.message)}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": clip_message(self.message)}
        if self.node_id is not None:
            out["nodeId"] = clip(str(self.node_id))
        if self.field is not None:
            out["field"] = clip(str(self.field))
        if self.value is not None:
            out["value"] = _jsonable(self.value)
        return out


def _jsonable(value: Any) -> Any:
    """A value as an error echoes it: numbers and booleans as they are, strings cut, anything else as cut text."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int) and abs(value) < 1 << 63:
        return value
    if isinstance(value, str):
        return clip(value)
    return shown(value)


def _hints(problems: list[Problem]) -> list[str]:
    """The distinct hints of ``problems``, each once, in order."""
    return [clip_message(h) for h in dict.fromkeys(p.hint for p in problems if p.hint)]


def _with_hints(text: str, problems: list[Problem]) -> str:
    """``text`` followed once by each distinct hint of ``problems``."""
    for hint in _hints(problems):
        text = text.rstrip()
        text += ("" if text.endswith((".", ":", ";")) else ".") + " " + hint
    return text


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
    hint: str | None = None
    """What would be valid, said once after the message (see :attr:`Problem.hint`)."""

    code = "workflow_error"

    def __post_init__(self) -> None:
        super().__init__(self.message)
        if not self.problems:
            self.problems = [Problem(self.message, self.node_id, self.field, self.value, self.hint)]

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """The self-contained message for the platform's error panel (``max_problems`` problems at most)."""
        if len(self.problems) == 1:
            return _with_hints(self.problems[0].render(self.label), self.problems)
        shown_problems, more = capped(self.problems)
        head = f"{clip_message(self.message)} ({len(self.problems)} problems): "
        parts = [p.render() for p in shown_problems] + ([more_text(more)] if more else [])
        return _with_hints(head + "; ".join(parts), shown_problems)

    def to_result(self) -> dict[str, Any]:
        """The failure envelope the API returns.

        ``errorDetails.problems`` lists ``max_problems`` problems at most; when there are more, a
        last entry ``{"message": "… and N more problems", "more": N}`` counts the rest (and
        ``errorDetails.moreProblems`` is N). ``errorDetails.hints`` says each distinct list of valid
        options once.
        """
        details: dict[str, Any] = {clip(str(k)): _jsonable(v) if isinstance(v, str) else v
                                   for k, v in self.details.items()}
        if self.node_id is not None:
            details.setdefault("nodeId", clip(str(self.node_id)))
        if self.field is not None:
            details.setdefault("field", clip(str(self.field)))
        if self.value is not None:
            details.setdefault("value", _jsonable(self.value))
        shown_problems, more = capped(self.problems)
        details["problems"] = [p.to_dict() for p in shown_problems]
        hints = _hints(shown_problems)
        if hints:
            details["hints"] = hints
        if more:
            details["problems"].append({"message": more_text(more, "problems"), "more": more})
            details["moreProblems"] = more
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
