"""An uploaded CSV judged at upload time: refused with a plain sentence, or previewed.

The file is opened only through :func:`service.uploads.read_upload` (inside Gradio's upload folder,
no links, a bounded prefix). It is refused when it is empty, binary (an image, a workbook, an
archive), not text, over the size a request can carry inline, a single column, a header without
rows, or a table the engine could not parse; otherwise :func:`inspect_upload` describes it: rows ×
columns, the first rows, each column's detected type, likely row identifiers and a suggested target.

It is parsed with the engine's own options (pandas' C reader, ``sep=","``) on the bounded text, so a
file that passes here parses the same way in the job.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from service.uploads import UploadRefused, read_upload, upload_root, uploaded_file

__all__ = ["ColumnInfo", "UploadPreview", "UploadProblem", "inline_limit_bytes", "inspect_upload", "preview_html"]

_KB = 1024
_REQUEST_OVERHEAD = 16 * _KB
"""Bytes of a quick-train workflow besides the CSV text (nodes, edges, options)."""
_HEAD_ROWS = 5
_CELL_CHARS = 40

_MAGIC = [
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Word file"), (b"\x1f\x8b", "a gzip archive"),
    (b"PAR1", "a Parquet file"), (b"BM", None), (b"\x7fELF", "a program"),
]
"""Leading bytes of common non-text files (None: too short a signature to name on its own)."""

_ID_NAME = re.compile(r"(^|[\s_\-.])(id|ids|key|uuid|guid|index|idx|row|rownum|no|number)$|[a-z0-9](Id|ID)$|^#$|^Unnamed: 0$",
                      re.IGNORECASE)
_ID_NAME_STRICT = re.compile(r"(^|[\s_\-.])(id|uuid|guid|index|idx)$|[a-z0-9](Id|ID)$|^Unnamed: 0$")
_DATE = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}([-/.]\d{1,2})?([ T]\d{1,2}:\d{2}.*)?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\s*$")
_TARGET_NAMES = ("target", "label", "class", "y", "outcome", "survived", "species", "price", "churn")


class UploadProblem(ValueError):
    """The upload cannot be trained on; the message is a plain sentence for the person who sent it."""


@dataclass(frozen=True)
class ColumnInfo:
    """One column as the preview shows it."""

    name: str
    kind: str
    """``number``, ``whole number``, ``yes/no``, ``category``, ``text``, ``date`` or ``empty``."""
    missing: int
    distinct: int
    identifier: bool = False
    """A different value on every row, named or numbered like a row id: left out of the features by default."""

    @property
    def label(self) -> str:
        if self.kind == "category":
            return f"category · {self.distinct} values"
        return self.kind


@dataclass(frozen=True)
class UploadPreview:
    """What an accepted upload holds (the text itself is not kept)."""

    file_name: str
    size_bytes: int
    rows: int
    columns: list[ColumnInfo]
    head: list[list[str]]
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def identifiers(self) -> list[str]:
        return [c.name for c in self.columns if c.identifier]

    def column(self, name: str | None) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)

    def suggested_target(self) -> str:
        candidates = [c for c in self.columns if not c.identifier and c.kind != "empty"] or self.columns
        for wanted in _TARGET_NAMES:
            for c in candidates:
                if c.name.strip().lower() == wanted:
                    return c.name
        return candidates[-1].name

    def suggested_problem(self, target: str | None) -> str:
        """The engine's rule: numbers with more than 20 distinct values are a regression target."""
        col = self.column(target)
        if col is not None and col.kind in ("number", "whole number") and col.distinct > 20:
            return "regression"
        return "classification"

    def target_problem(self, target: str | None, problem_type: str) -> str | None:
        """Why ``target`` cannot be trained on for ``problem_type`` (None when it can)."""
        col = self.column(target)
        if col is None or problem_type == "clustering":
            return None
        if col.distinct <= 1 and problem_type == "classification":
            return (f"The target column {col.name!r} has the same value on every row, so there is nothing to "
                    "tell apart: a classifier needs at least two classes. Pick another target column.")
        if col.distinct == 0:
            return f"The target column {col.name!r} is empty on every row. Pick another target column."
        return None


def inline_limit_bytes(max_request_kb: int, max_string_kb: int) -> int:
    """The largest CSV (as JSON text, escapes included) a quick-train request can carry inline."""
    return max(0, min(max_request_kb * _KB - _REQUEST_OVERHEAD, max_string_kb * _KB))


def _size(n: float) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= (1 << 20) else f"{max(1, round(n / _KB))} KB"


def _binary_kind(data: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if data.startswith(magic) and kind:
            return kind
    head = data[:65536]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary data"
    return None


def _decode(data: bytes, notes: list[str]) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        notes.append("read as UTF-16 text")
        return data.decode("utf-16", errors="strict")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise UploadProblem("The file is not readable text: save it as “CSV UTF-8” and upload it again.") from None
    notes.append("not UTF-8: read as Windows-1252 (Western European) text")
    return text


def _control_ratio(text: str) -> float:
    sample = text[:65536]
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    return bad / max(1, len(sample))


def _header(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text[:262144])), [])
    except csv.Error:
        return []


def _one_column(name: str, header_line: str) -> UploadProblem:
    for sep, word in ((";", "semicolons (;)"), ("\t", "tabs"), ("|", "vertical bars (|)")):
        if sep in header_line:
            return UploadProblem(f"The file reads as a single column: its values look separated by {word}. "
                                 "Save it with commas as separators (CSV) and upload it again.")
    return UploadProblem(f"The file has only one column ({name[:60]!r}). Training needs a target column and at "
                         "least one feature column, separated by commas.")


def _parse_error(exc: Exception) -> str:
    text = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if m:
        want, line, saw = m.groups()
        return (f"Line {line} has {saw} values but the header names {want} columns, so the file cannot be read as a "
                "table. Check that line for an extra comma or a missing quote.")
    return f"The file cannot be read as a CSV table ({text[:160]})."


def _kind(series: pd.Series) -> str:
    values = series.dropna()
    if values.empty:
        return "empty"
    if pd.api.types.is_bool_dtype(series):
        return "yes/no"
    if pd.api.types.is_numeric_dtype(series):
        if set(values.unique().tolist()) <= {0, 1}:
            return "yes/no"
        whole = pd.api.types.is_integer_dtype(series) or bool((values % 1 == 0).all())
        return "whole number" if whole else "number"
    sample = values.astype(str).head(500)
    lowered = set(sample.str.strip().str.lower().unique().tolist())
    if lowered <= {"true", "false", "yes", "no", "y", "n", "t", "f"}:
        return "yes/no"
    if sample.str.match(_DATE).mean() >= 0.9:
        return "date"
    if sample.str.split().str.len().mean() >= 4:
        return "text"
    return "category"


def _is_identifier(name: str, series: pd.Series, kind: str, rows: int) -> bool:
    if rows < 10 or series.isna().any() or series.nunique() != rows:
        return False
    if kind == "whole number":
        values = series.astype("int64")
        consecutive = int(values.max()) - int(values.min()) + 1 == rows
        return consecutive or bool(_ID_NAME.search(name))
    if kind in ("category", "number"):
        return bool(_ID_NAME_STRICT.search(name))
    return False


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value)
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"


def _first_rows(text: str) -> list[list[str]]:
    """The first rows as written in the file (numbers as typed, gaps empty)."""
    try:
        raw = pd.read_csv(io.StringIO(text), sep=",", engine="c", nrows=_HEAD_ROWS, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError):
        return []
    return [[_cell(v) for v in row] for row in raw.itertuples(index=False)]


def inspect_upload(
    path: str, *, max_bytes: int, max_rows: int = 0, max_columns: int = 0, root: Path | None = None
) -> tuple[UploadPreview, str]:
    """The preview of an uploaded CSV and its text, or :class:`UploadProblem` saying why it cannot be used.

    ``max_bytes``: the largest CSV, as JSON text, a request can carry (:func:`inline_limit_bytes`).
    """
    root = root or upload_root()
    try:
        real = uploaded_file(path, root)
        size = os.path.getsize(real)
        data = read_upload(path, root, max_bytes + 1)
    except UploadRefused as exc:
        raise UploadProblem(f"The upload cannot be used: {exc}.") from None
    name = os.path.basename(str(path))
    if not data.strip():
        raise UploadProblem("The file is empty: there is no header and no rows to train on.")
    kind = _binary_kind(data)
    if kind:
        raise UploadProblem(f"This file is {kind}, not a CSV text file (only its name ends in .csv). "
                            "Upload a table saved as CSV.")
    if size > max_bytes:
        raise UploadProblem(f"The file is {_size(size)}; files up to {_size(max_bytes)} can be trained here (the "
                            "largest request the worker accepts). Use a sample of the rows, or send a larger file "
                            "by URL (dataset_url) through the API.")
    notes: list[str] = []
    text = _decode(data, notes)
    if _control_ratio(text) > 0.01:
        raise UploadProblem("This file holds binary data, not CSV text. Upload a table saved as CSV.")
    if len(orjson.dumps(text)) > max_bytes:
        raise UploadProblem(f"The file is {_size(size)}, but {_size(len(orjson.dumps(text)))} once packed into a "
                            f"request (quotes and line breaks are escaped), over the {_size(max_bytes)} a request can "
                            "carry. Use a sample of the rows.")
    header = _header(text)
    if max_columns and len(header) > max_columns:
        raise UploadProblem(f"The file has {len(header)} columns; at most {max_columns} can be trained on.")
    if len(header) <= 1:
        raise _one_column(header[0] if header else "", text.split("\n", 1)[0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(io.StringIO(text), sep=",", engine="c", nrows=(max_rows + 1) if max_rows else None)
    except (ValueError, pd.errors.ParserError, UnicodeError) as exc:
        raise UploadProblem(_parse_error(exc)) from None
    if frame.shape[1] <= 1:
        raise _one_column(str(frame.columns[0]) if frame.shape[1] else "", text.split("\n", 1)[0])
    if frame.empty:
        raise UploadProblem("The file has a header but no rows: there is nothing to train on.")
    if max_rows and len(frame) > max_rows:
        raise UploadProblem(f"The file has more than {max_rows:,} rows, the most a job may load. Use a sample of the rows.")
    frame.columns = [str(c) for c in frame.columns]
    rows = len(frame)
    columns = []
    for col in frame.columns:
        series = frame[col]
        kind = _kind(series)
        columns.append(ColumnInfo(col, kind, int(series.isna().sum()), int(series.nunique()),
                                  _is_identifier(col, series, kind, rows)))
    head = _first_rows(text)
    return UploadPreview(name, size, rows, columns, head, notes), text


_KIND_CLASS = {"number": "num", "whole number": "num", "yes/no": "bool", "category": "cat", "text": "text",
               "date": "date", "empty": "empty"}


def preview_html(p: UploadPreview, *, target: str | None, left_out: list[str], problem: str | None = None) -> str:
    """The preview: a one-line summary, the first rows under each column's name and type, notes."""
    e = html.escape
    lines = [f"<div class='data-preview'><p class='data-summary'><b>{e(p.file_name)}</b> · {p.rows:,} rows × "
             f"{len(p.columns)} columns · {_size(p.size_bytes)}</p>"]
    head_cells = []
    for c in p.columns:
        role = ""
        if c.name == target:
            role = "<span class='role target'>target</span>"
        elif c.name in left_out:
            role = "<span class='role out'>left out</span>"
        badge = f"<span class='kind {_KIND_CLASS.get(c.kind, '')}'>{e(c.label)}</span>"
        missing = f"<span class='missing'>{c.missing:,} missing</span>" if c.missing else ""
        head_cells.append(f"<th><div class='col'>{e(c.name)}</div>{badge}{role}{missing}</th>")
    body = "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>" for row in p.head)
    lines.append(f"<div class='table-scroll'><table><thead><tr>{''.join(head_cells)}</tr></thead>"
                 f"<tbody>{body}</tbody></table></div>")
    notes = list(p.notes)
    ids = [n for n in p.identifiers if n != target]
    if ids:
        shown = ", ".join(ids)
        kept = [n for n in ids if n not in left_out]
        if kept:
            notes.append(f"{shown} look like row identifiers (a different value on every row); you chose to keep "
                         f"{', '.join(kept)} as a feature.")
        else:
            one = len(ids) == 1
            notes.append(f"{shown} {'looks like a row identifier' if one else 'look like row identifiers'} (a different "
                         f"value on every row) and {'is' if one else 'are'} left out of the features; change it under "
                         "“Leave out of the features”.")
    problem_text = p.target_problem(target, problem or "classification")
    items = "".join(f"<li>{e(n)}</li>" for n in notes)
    if items:
        lines.append(f"<ul class='notes'>{items}</ul>")
    if problem_text:
        lines.append(f"<p class='upload-error'>{e(problem_text)}</p>")
    lines.append(f"<p class='first-rows'>First {min(len(p.head), p.rows)} of {p.rows:,} rows.</p></div>")
    return "".join(lines)
