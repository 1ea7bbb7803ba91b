"""Turn fetched bytes into a DataFrame: CSV, Parquet or JSON, chosen by extension, Content-Type, or content."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from executor.limits import DataLimits

__all__ = ["FORMATS", "FormatError", "detect_format", "parse_table", "read_csv_bytes", "read_csv_file"]

FORMATS = ("csv", "parquet", "json")

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
_CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "csv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/parquet": "parquet",
    "application/json": "json",
    "application/x-ndjson": "json",
    "application/jsonl": "json",
    "text/json": "json",
}
_UNSUPPORTED = (".xlsx", ".xls", ".pkl", ".pickle", ".joblib", ".npy", ".npz", ".h5", ".feather")
_PARQUET_MAGIC = b"PAR1"


class FormatError(ValueError):
    """The bytes are not a table in a supported format, or the table is over a cap."""


def detect_format(data: bytes, *, path: str, content_type: str | None) -> str:
    """``csv``, ``parquet`` or ``json``: the URL path's extension wins, then Content-Type, then content."""
    lowered = urlsplit(path).path.lower()
    for ext in _UNSUPPORTED:
        if lowered.endswith(ext):
            raise FormatError(f"files of type {ext} are not supported; send CSV, Parquet or JSON")
    for ext, fmt in _EXTENSIONS.items():
        if lowered.endswith(ext):
            return fmt
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime in _CONTENT_TYPES:
        return _CONTENT_TYPES[mime]
    if data[:4] == _PARQUET_MAGIC:
        return "parquet"
    if data.lstrip()[:1] in (b"[", b"{"):
        return "json"
    return "csv"


def _csv_options(limits: DataLimits, sep: str) -> dict[str, Any]:
    """The fixed, safe options every CSV is parsed with: C engine, no index column, rows up to the cap + 1."""
    return {"sep": sep, "nrows": limits.max_rows + 1 if limits.max_rows else None, "engine": "c"}


def read_csv_bytes(data: bytes | str, limits: DataLimits, *, sep: str = ",", **options: Any) -> pd.DataFrame:
    """Parse CSV with fixed, safe options: C engine, no index column, rows read up to the cap + 1."""
    buffer: io.BytesIO | io.StringIO = io.BytesIO(data) if isinstance(data, bytes) else io.StringIO(data)
    try:
        return pd.read_csv(buffer, **_csv_options(limits, sep), encoding_errors="replace", **options)
    except (ValueError, pd.errors.ParserError, UnicodeError) as exc:
        raise FormatError(f"CSV cannot be parsed: {exc}") from None


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_csv_file(path: str | Path, limits: DataLimits, *, sep: str = ",") -> tuple[pd.DataFrame, str]:
    """A CSV file parsed as :func:`read_csv_bytes` parses text, streamed from disk (never read whole).

    The encoding is the one the page's preview reads: UTF-16 with a byte-order mark, else UTF-8
    (an optional BOM), else Windows-1252 (undecodable bytes replaced). Returns the frame and the
    encoding used.
    """
    with open(path, "rb") as handle:
        start = handle.read(2)
    tries = [("utf-16", "replace")] if start.startswith(_UTF16_BOMS) else [("utf-8-sig", "strict"), ("cp1252", "replace")]
    for encoding, errors in tries:
        try:
            frame = pd.read_csv(path, **_csv_options(limits, sep), encoding=encoding, encoding_errors=errors)
            return frame, encoding
        except UnicodeDecodeError:
            continue  # not UTF-8: the next encoding
        except (ValueError, pd.errors.ParserError, UnicodeError) as exc:
            raise FormatError(f"CSV cannot be parsed: {exc}") from None
    raise FormatError("CSV cannot be parsed: its text encoding is not UTF-8, UTF-16 or Windows-1252")


def _read_parquet(data: bytes, limits: DataLimits) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(io.BytesIO(data))
        meta = handle.metadata
        if limits.max_rows and meta.num_rows > limits.max_rows:
            raise FormatError(
                f"Parquet file has {meta.num_rows} rows, over the limit of {limits.max_rows} (limits.toml [data] max_rows)"
            )
        if limits.max_columns and meta.num_columns > limits.max_columns:
            raise FormatError(
                f"Parquet file has {meta.num_columns} columns, over the limit of {limits.max_columns} "
                "(limits.toml [data] max_columns)"
            )
        return handle.read().to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"Parquet cannot be read: {exc}") from None


def _records_frame(obj: Any) -> pd.DataFrame:
    if isinstance(obj, dict) and isinstance(obj.get("data"), list):
        obj = obj["data"]
    if isinstance(obj, list):
        if not obj or not all(isinstance(row, dict) for row in obj):
            raise FormatError("JSON must be a non-empty list of records (objects), or an object of columns")
        return pd.DataFrame.from_records(obj)
    if isinstance(obj, dict) and obj and all(isinstance(v, list) for v in obj.values()):
        lengths = {len(v) for v in obj.values()}
        if len(lengths) != 1:
            raise FormatError("JSON columns have different lengths")
        return pd.DataFrame(obj)
    raise FormatError(
        'JSON must be a list of records, {"data": [records]}, or an object of equal-length columns'
    )


def _read_json(data: bytes, limits: DataLimits) -> pd.DataFrame:
    text = data.decode("utf-8", "replace")
    try:
        obj: Any = json.loads(text)
    except json.JSONDecodeError as first:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            obj = [json.loads(line) for line in lines]  # JSON lines
        except json.JSONDecodeError:
            raise FormatError(f"JSON cannot be parsed: {first}") from None
    frame = _records_frame(obj)
    if limits.max_rows and len(frame) > limits.max_rows:
        raise FormatError(
            f"JSON has {len(frame)} rows, over the limit of {limits.max_rows} (limits.toml [data] max_rows)"
        )
    return frame


def parse_table(
    data: bytes, *, path: str, content_type: str | None, limits: DataLimits
) -> tuple[pd.DataFrame, str]:
    """The table in ``data`` and the format it was read as; raises :class:`FormatError`."""
    if not data.strip():
        raise FormatError("the file is empty")
    fmt = detect_format(data, path=path, content_type=content_type)
    if fmt == "parquet":
        frame = _read_parquet(data, limits)
    elif fmt == "json":
        frame = _read_json(data, limits)
    else:
        sep = "\t" if urlsplit(path).path.lower().endswith(".tsv") else ","
        frame = read_csv_bytes(data, limits, sep=sep)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise FormatError("the table has no rows or no columns")
    frame.columns = [str(c) for c in frame.columns]
    return frame, fmt
