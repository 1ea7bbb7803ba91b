"""User data sent inline: CSV text or a list of records."""

from __future__ import annotations

from typing import Any

import pandas as pd

from executor.errors import DatasetError
from executor.limits import DataLimits

from .base import LoadedDataset
from .formats import FormatError, read_csv_bytes

__all__ = ["load_inline"]

_MB = 1 << 20


def load_inline(
    data: str | list[Any], *, limits: DataLimits, node_id: str | None, name: str | None
) -> LoadedDataset:
    """A frame from inline CSV text or records, or DatasetError (``field="data"``)."""
    if isinstance(data, str):
        if limits.max_dataset_mb and len(data.encode("utf-8", "replace")) > limits.max_dataset_mb * _MB:
            raise DatasetError(
                f"Inline CSV is over the limit of {limits.max_dataset_mb} MB (limits.toml [data] max_dataset_mb)",
                node_id=node_id,
                field="data",
            )
        if not data.strip():
            raise DatasetError("Inline CSV data is empty", node_id=node_id, field="data")
        try:
            frame = read_csv_bytes(data, limits)
        except FormatError as exc:
            raise DatasetError(f"Inline {exc}", node_id=node_id, field="data") from exc
    elif isinstance(data, list):
        if limits.max_rows and len(data) > limits.max_rows:
            raise DatasetError(
                f"Inline data has {len(data)} rows, over the limit of {limits.max_rows} (limits.toml [data] max_rows)",
                node_id=node_id,
                field="data",
                value=len(data),
            )
        if not data or not all(isinstance(row, dict) for row in data):
            raise DatasetError(
                "Inline data must be CSV text or a non-empty list of records (objects)",
                node_id=node_id,
                field="data",
            )
        frame = pd.DataFrame.from_records(data)
    else:
        raise DatasetError(
            f"Inline data must be CSV text or a list of records, got {type(data).__name__}",
            node_id=node_id,
            field="data",
        )
    if frame.empty or frame.shape[1] == 0:
        raise DatasetError("Inline data has no rows or no columns", node_id=node_id, field="data")
    frame.columns = [str(c) for c in frame.columns]
    return LoadedDataset(frame=frame, name=name or "Inline data", source="inline")
