"""Datasets for the engine: bundled samples, inline data, and (where supported) URLs.

Precedence: inline ``data`` > ``url`` > sample id. Every failure is a :class:`DatasetError`
naming the node, the field and the value; every loaded frame is checked against ``[data]`` caps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from executor.errors import DatasetError
from executor.limits import EngineLimits
from sandbox.context import JobContext

from .bundled import SAMPLES, load_sample
from .inline import load_inline

__all__ = ["DatasetRequest", "LoadedDataset", "load_dataset", "sample_ids"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_MB = 1 << 20


@dataclass(frozen=True)
class DatasetRequest:
    """What a dataset node asks for, with its config keys already normalised by the engine."""

    dataset_id: str | None = None
    is_sample: bool | None = None
    url: str | None = None
    data: str | list[Any] | None = None
    name: str | None = None
    node_id: str | None = None


@dataclass
class LoadedDataset:
    frame: pd.DataFrame
    name: str
    source: str
    default_target: str | None = None
    problem_types: list[str] = field(default_factory=list)
    text_columns: list[str] = field(default_factory=list)
    date_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def sample_ids() -> list[str]:
    """Every sample dataset id this worker can load."""
    return sorted(SAMPLES)


def load_dataset(req: DatasetRequest, *, limits: EngineLimits, ctx: JobContext | None = None) -> LoadedDataset:
    """Load what ``req`` names, or raise DatasetError."""
    if req.data is not None:
        loaded = load_inline(req.data, limits=limits.data, node_id=req.node_id, name=req.name)
    elif req.url:
        loaded = _load_url(req, limits, ctx)
    elif req.dataset_id:
        loaded = _load_by_id(req)
    else:
        raise DatasetError(
            "No dataset selected: set dataset_id (a sample id or a user dataset with dataset_url) or inline data",
            node_id=req.node_id,
            field="dataset_id",
        )
    check_caps(loaded.frame, limits, req.node_id, field_name="data" if req.data is not None else "dataset_id")
    return loaded


def _load_by_id(req: DatasetRequest) -> LoadedDataset:
    dataset_id = str(req.dataset_id).strip()
    key = dataset_id.removeprefix("sample-")
    if key in SAMPLES:
        return load_sample(key, node_id=req.node_id)
    if _UUID.match(dataset_id) or req.is_sample is False:
        raise DatasetError(
            f"User dataset {dataset_id!r} cannot be loaded: the request carries only its id. Send a presigned "
            "`dataset_url` (CSV, Parquet or JSON) or inline `data` with the dataset node",
            node_id=req.node_id,
            field="dataset_id",
            value=dataset_id,
        )
    raise DatasetError(
        f"Unknown sample dataset {dataset_id!r} (available: {', '.join(sample_ids())})",
        node_id=req.node_id,
        field="dataset_id",
        value=dataset_id,
    )


def _load_url(req: DatasetRequest, limits: EngineLimits, ctx: JobContext | None) -> LoadedDataset:
    try:
        from .remote import load_url
    except ImportError:
        raise DatasetError(
            "Loading datasets by URL is not available in this worker", node_id=req.node_id, field="dataset_url"
        ) from None
    return load_url(req.url or "", limits=limits, ctx=ctx, node_id=req.node_id, name=req.name)


def check_caps(frame: pd.DataFrame, limits: EngineLimits, node_id: str | None, *, field_name: str) -> None:
    """Refuse a frame over a ``[data]`` cap (0 = no cap), naming the cap and the value."""
    caps = limits.data
    rows, cols = frame.shape
    if caps.max_rows and rows > caps.max_rows:
        raise DatasetError(
            f"Dataset has {rows} rows, over the limit of {caps.max_rows} (limits.toml [data] max_rows)",
            node_id=node_id,
            field=field_name,
            value=rows,
        )
    if caps.max_columns and cols > caps.max_columns:
        raise DatasetError(
            f"Dataset has {cols} columns, over the limit of {caps.max_columns} (limits.toml [data] max_columns)",
            node_id=node_id,
            field=field_name,
            value=cols,
        )
    if caps.max_dataset_mb:
        size = frame.memory_usage(deep=True).sum() / _MB
        if size > caps.max_dataset_mb:
            raise DatasetError(
                f"Dataset takes {size:.1f} MB in memory, over the limit of {caps.max_dataset_mb} MB "
                "(limits.toml [data] max_dataset_mb)",
                node_id=node_id,
                field=field_name,
                value=round(size, 1),
            )
