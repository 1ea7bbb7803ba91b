"""Target and problem type: the dataset node decides, propagated keys are a stale fallback, labels are encoded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from executor.echo import clip, listing, shown
from executor.errors import DatasetError, InvalidWorkflowError

__all__ = ["PROBLEM_ALIASES", "Target", "encode_target", "normalise_problem_type", "resolve_target"]

PROBLEM_ALIASES = {
    "classification": "classification",
    "regression": "regression",
    "clustering": "clustering",
    "time_series": "regression",
    "timeseries": "regression",
    "nlp": "classification",
    "image": "classification",
}
"""Problem types the platform sends → the three the engine trains (others are inferred)."""

INFER_MAX_CLASSES = 20
"""Inference policy (not a limit): an integer target with at most this many distinct values is a class label."""


@dataclass
class Target:
    """The resolved target column (None = unsupervised) and problem type, with notes on how."""

    column: str | None
    problem_type: str
    notes: list[str] = field(default_factory=list)


def normalise_problem_type(raw: str | None) -> tuple[str | None, str | None]:
    """(engine type or None when it must be inferred, note explaining a mapping)."""
    if raw is None:
        return None, None
    key = str(raw).strip().lower()
    mapped = PROBLEM_ALIASES.get(key)
    if mapped is None:
        return None, f"problem type {shown(raw)} is not one the worker trains; it is inferred from the target"
    if mapped != key:
        return mapped, f"problem type {shown(raw)} is trained as {mapped}"
    return mapped, None


def _infer(series: pd.Series) -> str:
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return "classification"
    clean = series.dropna()
    whole = bool(np.all(np.mod(clean.to_numpy(dtype=float), 1) == 0)) if len(clean) else True
    return "classification" if whole and clean.nunique() <= INFER_MAX_CLASSES else "regression"


def resolve_target(frame: pd.DataFrame, *, dataset_id: str, target: str | None, target_given: bool,
                   problem_type: str | None, fallback_target: str | None, fallback_problem: str | None,
                   default_target: str | None, algorithm_clusters: bool) -> Target:
    """Pick target and problem type; a named target missing from the data is a DatasetError."""
    notes: list[str] = []
    column = target if target_given else (fallback_target or default_target)
    if not target_given and column is not None:
        source = "the model/split node's targetColumn" if fallback_target else "the dataset's default target"
        notes.append(f"the dataset node names no target column; using {shown(column)} from {source}")
    if column is not None and column not in frame.columns:
        raise DatasetError(f"target column {shown(column)} not found (available: {listing(frame.columns)})",
                           node_id=dataset_id,
                           field="target_column", value=column)
    if algorithm_clusters:
        if problem_type not in (None, "clustering"):
            notes.append(f"K-Means is a clustering algorithm: the run is clustering, not {clip(str(problem_type))}")
        if column is None and default_target is not None and default_target in frame.columns:
            column = default_target  # the sample's known label: clustering on it would give the answer away
        if column is not None:
            notes.append(f"clustering: the label column {shown(column)} is left out of the features (clusters are"
                         " found without it)")
        return Target(column, "clustering", notes)
    resolved, note = normalise_problem_type(problem_type)
    if note:
        notes.append(note)
    if resolved is None and problem_type is None and fallback_problem is not None:
        resolved, note = normalise_problem_type(fallback_problem)
        notes.append(f"the dataset node names no problem type; using {shown(fallback_problem)} from a later node")
    if resolved is None:
        resolved = "clustering" if column is None else _infer(frame[column])
        notes.append(f"problem type inferred from the target: {resolved}")
    if resolved in ("classification", "regression") and column is None:
        raise InvalidWorkflowError(f"a {resolved} run needs a target column; choose one of:"
                                   f" {listing(frame.columns)}", node_id=dataset_id,
                                   field="target_column")
    return Target(column, resolved, notes)


def encode_target(series: pd.Series, problem_type: str, *, node_id: str) -> tuple[np.ndarray, list[str] | None]:
    """Class labels → ints 0..k-1 (with their names); regression targets → floats."""
    if problem_type == "classification":
        values = series.to_numpy()
        try:
            classes = np.unique(values)
        except TypeError:  # mixed types: compare as text
            values = series.astype(str).to_numpy()
            classes = np.unique(values)
        codes = np.searchsorted(classes, values)
        return codes.astype(np.int64), [_label(c) for c in classes]
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.isna().any():
        bad = series[numeric.isna()].iloc[0]
        raise InvalidWorkflowError(f"the {problem_type} target {shown(series.name)} must be numeric; it holds"
                                   f" {shown(bad)}. Use classification for a categorical target.",
                                   node_id=node_id, field="problem_type", value=problem_type)
    return numeric.to_numpy(dtype=np.float64), None


def _label(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
