"""The datasets package's value types: what a dataset node asks for and what it gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["DatasetRequest", "LoadedDataset"]


@dataclass(frozen=True)
class DatasetRequest:
    """What a dataset node asks for, with its config keys already normalised by the engine."""

    dataset_id: str | None = None
    """A sample id (``iris``, ``sample-iris``) or a user dataset UUID."""
    is_sample: bool | None = None
    url: str | None = None
    """``dataset_url`` / ``datasetUrl`` / ``file_url``: an http(s) URL to a CSV, Parquet or JSON file."""
    data: str | list[Any] | None = None
    """Inline CSV text or a list of records (dicts)."""
    file: Path | None = None
    """A CSV file in the job's own dir the parent passed for this node (``payload["files"]``); never
    named by the workflow."""
    name: str | None = None
    node_id: str | None = None


@dataclass
class LoadedDataset:
    """A loaded table plus the catalog's hints about it."""

    frame: pd.DataFrame
    name: str
    source: str
    """Where it came from: ``sample:<id>``, ``inline``, ``file`` (passed by the parent) or ``url``."""
    default_target: str | None = None
    problem_types: list[str] = field(default_factory=list)
    text_columns: list[str] = field(default_factory=list)
    """Columns of free text (to be vectorised, not one-hot encoded)."""
    date_columns: list[str] = field(default_factory=list)
    """Columns holding dates (to be split into numeric parts)."""
    warnings: list[str] = field(default_factory=list)
