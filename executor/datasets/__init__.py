"""Datasets for the engine: the 14 samples, inline data, a file passed by the parent, and user data by URL.

Precedence: a file the parent passed for the node (``payload["files"]``, the page's upload) >
inline ``data`` > ``url`` > sample id. Every failure is a :class:`DatasetError`
naming the node, the field and the value; every loaded frame is checked against ``[data]`` caps.
Files are written only to the download cache (samples); user data stays in memory.
"""

from __future__ import annotations

import pandas as pd

from executor.echo import listing, shown
from executor.errors import DatasetError
from executor.limits import EngineLimits
from sandbox.context import JobContext

from .base import DatasetRequest, LoadedDataset
from .catalog import SAMPLES
from .downloads import DownloadError
from .inline import load_file, load_inline
from .urls import load_url

__all__ = ["DatasetRequest", "LoadedDataset", "check_caps", "load_dataset", "sample_ids"]

_MB = 1 << 20
_UUID_GROUPS = (8, 4, 4, 4, 12)
"""Hex digits per dash-separated group of a user dataset's UUID (``8-4-4-4-12``)."""
_HEX = frozenset("0123456789abcdefABCDEF")


def _is_uuid(text: str) -> bool:
    """True for a canonical ``8-4-4-4-12`` hex UUID; a length check first, then one pass (no regex)."""
    if len(text) != sum(_UUID_GROUPS) + len(_UUID_GROUPS) - 1:
        return False
    groups = text.split("-")
    return [len(g) for g in groups] == list(_UUID_GROUPS) and all(c in _HEX for g in groups for c in g)


def sample_ids() -> list[str]:
    """Every sample dataset id this worker can load (contract §7)."""
    return sorted(SAMPLES)


def load_dataset(
    req: DatasetRequest, *, limits: EngineLimits, ctx: JobContext | None = None
) -> LoadedDataset:
    """Load what ``req`` names, or raise DatasetError."""
    if req.file is not None:
        loaded = load_file(req.file, limits=limits.data, node_id=req.node_id, name=req.name)
        field_name = "data"
    elif req.data is not None:
        loaded = load_inline(req.data, limits=limits.data, node_id=req.node_id, name=req.name)
        field_name = "data"
    elif req.url:
        loaded = load_url(req.url, limits=limits, node_id=req.node_id, name=req.name)
        field_name = "dataset_url"
    elif req.dataset_id:
        loaded = _load_by_id(req, limits)
        field_name = "dataset_id"
    else:
        raise DatasetError(
            "No dataset selected: set dataset_id (a sample id, or a user dataset with dataset_url) or inline data",
            node_id=req.node_id,
            field="dataset_id",
        )
    check_caps(loaded.frame, limits, req.node_id, field_name=field_name)
    return loaded


def _load_by_id(req: DatasetRequest, limits: EngineLimits) -> LoadedDataset:
    dataset_id = str(req.dataset_id).strip()
    key = dataset_id.removeprefix("sample-")
    spec = SAMPLES.get(key)  # a fixed catalog: an id is a dict key, never part of a path
    if spec is not None:
        warnings: list[str] = []
        try:
            frame = spec.load(limits, warnings)
        except DownloadError as exc:
            raise DatasetError(
                f"Sample dataset {key!r} is not available: {exc}",
                node_id=req.node_id,
                field="dataset_id",
                value=key,
            ) from exc
        except (OSError, ValueError, ImportError) as exc:  # a broken install: still a coded answer
            raise DatasetError(
                f"Sample dataset {key!r} could not be loaded: {exc}",
                node_id=req.node_id,
                field="dataset_id",
                value=key,
            ) from exc
        return LoadedDataset(
            frame=frame,
            name=spec.name,
            source=f"sample:{key}",
            default_target=spec.target,
            problem_types=list(spec.problem_types),
            text_columns=list(spec.text_columns),
            date_columns=list(spec.date_columns),
            warnings=warnings,
        )
    if _is_uuid(dataset_id) or req.is_sample is False:
        raise DatasetError(
            f"User dataset {shown(dataset_id)} cannot be loaded: the request carries only its id. Send a presigned "
            "`dataset_url` (CSV, Parquet or JSON) or inline `data` with the dataset node",
            node_id=req.node_id,
            field="dataset_id",
            value=dataset_id,
        )
    raise DatasetError(
        f"Unknown sample dataset {shown(dataset_id)} (available: {listing(sample_ids())})",
        node_id=req.node_id,
        field="dataset_id",
        value=dataset_id,
    )


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
