"""Preprocessing: ops of every vocabulary planned, row filters before the split, learned steps after it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from executor.echo import capped_notes, clip, shown, tag
from executor.errors import ExecutionError, Problem
from executor.preprocess.auto import ONEHOT_MAX_CATEGORIES, AutoEncodeStep
from executor.preprocess.base import FrameStep, export_pipeline
from executor.preprocess.columns import ColumnsNotFound
from executor.preprocess.features import (
    BinningStep,
    DifferenceStep,
    MathStep,
    PolynomialStep,
    RatioStep,
    SumStep,
)
from executor.preprocess.filters import apply_filter
from executor.preprocess.steps import ClipStep, ImputeStep, OneHotStep, OrdinalStep, ScaleStep
from executor.preprocess.vocab import OP_TYPES, CanonicalOp, OpParamError, normalise_op

__all__ = [
    "OP_TYPES",
    "ONEHOT_MAX_CATEGORIES",
    "AutoEncodeStep",
    "CanonicalOp",
    "FrameStep",
    "PlannedOp",
    "apply_filters",
    "build_steps",
    "collect_notes",
    "export_pipeline",
    "plan_operations",
]

TEXT_SHARE_OF_COLUMNS = 4
"""TF-IDF terms over all text columns are capped at ``[data] max_columns`` divided by this."""

_STEPS: dict[str, type[FrameStep]] = {
    "impute": ImputeStep,
    "scale": ScaleStep,
    "onehot": OneHotStep,
    "ordinal": OrdinalStep,
    "outliers": ClipStep,
    "math": MathStep,
    "polynomial": PolynomialStep,
    "ratio": RatioStep,
    "difference": DifferenceStep,
    "sum": SumStep,
    "binning": BinningStep,
}


@dataclass(frozen=True)
class PlannedOp:
    """A canonical op and where it was written (node id and ``operations[i]``)."""

    op: CanonicalOp
    node_id: str
    field: str


def plan_operations(node_id: str, operations: list[Any]) -> tuple[list[PlannedOp], list[Problem]]:
    """Normalise a node's ops; every unusable op or param becomes a Problem (nothing runs yet)."""
    planned: list[PlannedOp] = []
    problems: list[Problem] = []
    for i, raw in enumerate(operations):
        where = f"config.operations[{i}]"
        try:
            op = normalise_op(raw.type, raw.merged_params())
        except OpParamError as exc:
            fld = f"{where}.type" if exc.field == "type" else f"{where}.params.{exc.field}"
            name = clip(raw.type.strip().lower())
            problems.append(Problem(f"{name}: {exc}" if exc.field != "type" else str(exc), node_id, fld,
                                    exc.value, exc.hint))
            continue
        planned.append(PlannedOp(op, node_id, where))
    return planned, problems


def apply_filters(frame: pd.DataFrame, planned: list[PlannedOp], target: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Run the row/column filters in order on the whole dataset; returns the frame and notes."""
    notes: list[str] = []
    for item in planned:
        if not item.op.before_split:
            continue
        try:
            frame, note = apply_filter(frame, item.op, target)
        except ColumnsNotFound as exc:
            raise ExecutionError(f"operation {shown(item.op.source)}: {exc}", node_id=item.node_id,
                                 field=f"{item.field}.params.columns", value=exc.missing) from exc
        except (MemoryError, OSError):
            raise
        except Exception as exc:
            raise ExecutionError(f"operation {shown(item.op.source)} failed: {type(exc).__name__}: {exc}",
                                 node_id=item.node_id, field=item.field) from exc
        notes.append(f"{tag(item.node_id)} {item.op.source}: {note}")
        if frame.empty:
            raise ExecutionError(f"operation {shown(item.op.source)} removed every row; nothing is left to train on",
                                 node_id=item.node_id, field=item.field)
    return frame, capped_notes(notes, "notes from row and column filters")


def build_steps(planned: list[PlannedOp], target: str | None, *, max_columns: int,
                extra: list[tuple[str, FrameStep]] | None = None, text_columns: list[str] | None = None,
                date_columns: list[str] | None = None) -> list[tuple[str, FrameStep]]:
    """The learned steps in op order, then the default :class:`AutoEncodeStep` (unfitted).

    Text columns share a TF-IDF vocabulary of a quarter of ``max_columns`` terms (0 = uncapped).
    """
    steps: list[tuple[str, FrameStep]] = []
    for i, item in enumerate(planned):
        if item.op.before_split:
            continue
        cls = _STEPS[item.op.kind]
        steps.append((f"op{i}_{item.op.source}", cls(item.op, item.node_id, item.field, max_columns, target)))
    steps += extra or []
    vocabulary = max_columns // TEXT_SHARE_OF_COLUMNS if max_columns else None
    steps.append(("auto_encode", AutoEncodeStep(None, None, None, max_columns, target, text_columns, date_columns,
                                                vocabulary)))
    return steps


def collect_notes(steps: list[tuple[str, Any]]) -> list[str]:
    """The notes of fitted steps, in order, without repeats: ``[request] max_problems`` of them, then a count."""
    notes = list(dict.fromkeys(note for _, step in steps for note in getattr(step, "notes_", [])))
    return capped_notes(notes, "notes from preprocessing steps")
