"""User data sent with the request: inline CSV text or records, or a CSV file beside the payload.

A file comes from the parent, never from the workflow: ``payload["files"]`` maps a dataset node to
a plain file name in the job's own dir (the page's upload, copied there by ``Sandbox.run(files=)``).
It is parsed with the same options and under the same ``[data]`` caps as inline CSV text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from executor.errors import DatasetError
from executor.limits import DataLimits

from .base import LoadedDataset
from .formats import FormatError, read_csv_bytes, read_csv_file

__all__ = ["load_file", "load_inline"]

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


def load_file(path: Path, *, limits: DataLimits, node_id: str | None, name: str | None) -> LoadedDataset:
    """A frame from the CSV file at ``path`` (in the job's dir), or DatasetError (``field="data"``)."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise DatasetError(f"The uploaded file cannot be read: {exc.strerror or exc}", node_id=node_id,
                           field="data") from None
    if limits.max_dataset_mb and size > limits.max_dataset_mb * _MB:
        raise DatasetError(
            f"The uploaded CSV is {size / _MB:.1f} MB, over the limit of {limits.max_dataset_mb} MB "
            "(limits.toml [data] max_dataset_mb)",
            node_id=node_id,
            field="data",
            value=round(size / _MB, 1),
        )
    with open(path, "rb") as handle:
        start = handle.read(65536)
    if not start.strip() and size <= len(start):
        raise DatasetError("The uploaded CSV is empty", node_id=node_id, field="data")
    try:
        frame, encoding = read_csv_file(path, limits)
    except FormatError as exc:
        raise DatasetError(f"Uploaded {exc}", node_id=node_id, field="data") from exc
    if frame.empty or frame.shape[1] == 0:
        raise DatasetError("The uploaded CSV has no rows or no columns", node_id=node_id, field="data")
    frame.columns = [str(c) for c in frame.columns]
    warnings = ["the uploaded file is not UTF-8: read as Windows-1252 (Western European) text"] if encoding == "cp1252" else []
    return LoadedDataset(frame=frame, name=name or "Uploaded CSV", source="file", warnings=warnings)
