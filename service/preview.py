"""An uploaded CSV judged at upload time: refused with a plain sentence, or previewed.

The file is opened only through :mod:`service.uploads` (inside Gradio's upload folder, no links)
and the parent never holds more than its head: :func:`inspect_upload` reads the first
:data:`HEAD_BYTES` and parses those rows only, and streams through the rest in fixed-size chunks to
count its lines (an estimate of its rows, said as "about N rows"). It is refused when it is empty,
binary (an image, a workbook, an archive), not text, over the page's size limit (``[data]
max_dataset_mb``), a single column, a header without rows, a table the engine could not parse (in
its head), or over ``[data] max_rows`` / ``max_columns``; otherwise it is described: rows ×
columns, the first rows, each column's detected type (from the rows read), likely row identifiers
and a suggested target. The job gets the file itself, by reference (``Worker.submit(files=)``).

It is parsed with the engine's own options (pandas' C reader, ``sep=","``) and decoded as the
engine decodes a file (UTF-16 with a BOM, UTF-8, else Windows-1252), so a head that passes here
parses the same way in the job.
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from service.uploads import UploadRefused, scan_upload, upload_root

__all__ = ["HEAD_BYTES", "ColumnInfo", "UploadPreview", "UploadProblem", "inspect_upload", "preview_html",
           "upload_limit"]

_KB = 1024
_MB = 1 << 20
HEAD_BYTES = _MB
"""Bytes of an upload the parent decodes and parses for its preview (types, first rows, checks); the
rest of the file is only streamed through to count its lines. A display policy, not a limit: it
bounds what the parent holds of an upload, whatever the file's size."""
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
    """Rows of the file: exact when :attr:`exact`, else estimated from its line count."""
    columns: list[ColumnInfo]
    head: list[list[str]]
    notes: list[str] = field(default_factory=list)
    exact: bool = True
    """Whether the whole file was read (then :attr:`rows` and every column fact are exact); else the
    column facts come from the first :attr:`rows_read` rows and :attr:`rows` is an estimate."""
    rows_read: int = 0
    """Rows the column facts were computed on (all of them when :attr:`exact`)."""

    @property
    def rows_text(self) -> str:
        """``"60"``, or ``"about 212,000"`` when the count is an estimate."""
        return f"{self.rows:,}" if self.exact else f"about {self.rows:,}"

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
        if not self.exact:  # the rows read may all share a class the rest of the file does not: the job judges
            return None
        if col.distinct <= 1 and problem_type == "classification":
            return (f"The target column {col.name!r} has the same value on every row, so there is nothing to "
                    "tell apart: a classifier needs at least two classes. Pick another target column.")
        if col.distinct == 0:
            return f"The target column {col.name!r} is empty on every row. Pick another target column."
        return None


def upload_limit(max_dataset_mb: int, max_upload_mb: int) -> tuple[int, str]:
    """The largest CSV the page trains on, in bytes (0 = none), and the limit that sets it.

    ``[data] max_dataset_mb`` (what a job may load), unless ``[server] max_upload_mb`` (what the
    upload route accepts) is smaller; 0 means no limit for either.
    """
    caps = [(mb, key) for mb, key in ((max_dataset_mb, "[data] max_dataset_mb"), (max_upload_mb, "[server] max_upload_mb"))
            if mb]
    if not caps:
        return 0, ""
    mb, key = min(caps, key=lambda c: c[0])
    return mb * _MB, key


def _size(n: float) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= (1 << 20) else f"{max(1, round(n / _KB))} KB"


def _limit(n: int) -> str:
    """A limit in whole MB as written in limits.toml (``100 MB``), else like :func:`_size`."""
    return f"{n // _MB} MB" if n >= _MB and n % _MB == 0 else _size(n)


def _binary_kind(data: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if data.startswith(magic) and kind:
            return kind
    head = data[:65536]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary data"
    return None


def _decode(data: bytes, notes: list[str], *, final: bool = True) -> str:
    """The text of ``data``; ``final=False``: a head, whose last character may be cut (left out)."""

    def decode(encoding: str) -> str:
        return codecs.getincrementaldecoder(encoding)(errors="strict").decode(data, final=final)

    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        notes.append("read as UTF-16 text")
        try:
            return decode("utf-16")
        except UnicodeDecodeError:
            raise UploadProblem("The file is not readable text: save it as “CSV UTF-8” and upload it again.") from None
    try:
        return decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = decode("cp1252")
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
    path: str, *, max_bytes: int, max_rows: int = 0, max_columns: int = 0, root: Path | None = None,
    limit_key: str = "[data] max_dataset_mb", head_bytes: int = HEAD_BYTES,
) -> tuple[UploadPreview, str]:
    """The preview of an uploaded CSV and the text of its head, or :class:`UploadProblem` saying why
    it cannot be used.

    ``max_bytes``: the largest file the page trains on (:func:`upload_limit`; 0 = no limit), named
    ``limit_key`` in a refusal. Only the first ``head_bytes`` are decoded and parsed (cut at the last
    complete line); the text returned is that head, the whole file when it fits.
    """
    root = root or upload_root()
    try:
        scan = scan_upload(path, root, head_bytes)
    except UploadRefused as exc:
        raise UploadProblem(f"The upload cannot be used: {exc}.") from None
    except OSError as exc:
        raise UploadProblem(f"The upload cannot be read ({exc.strerror or exc}); upload it again.") from None
    name = os.path.basename(str(path))
    size, data = scan.size, scan.head
    if scan.complete and not data.strip():
        raise UploadProblem("The file is empty: there is no header and no rows to train on.")
    kind = _binary_kind(data)
    if kind:
        raise UploadProblem(f"This file is {kind}, not a CSV text file (only its name ends in .csv). "
                            "Upload a table saved as CSV.")
    if max_bytes and size > max_bytes:
        raise UploadProblem(f"The file is {_size(size)}; files up to {_limit(max_bytes)} can be trained here "
                            f"({limit_key}). Use a sample of the rows, or send a larger file by URL (dataset_url) "
                            "through the API.")
    notes: list[str] = []
    text = _decode(data, notes, final=scan.complete)
    if not scan.complete:
        text = text[: text.rfind("\n") + 1]  # whole lines only
        if not text.strip():
            raise UploadProblem(f"The first {_size(len(data))} of the file hold no complete line of a table: it is "
                                "not a CSV file with one row per line.")
    if _control_ratio(text) > 0.01:
        raise UploadProblem("This file holds binary data, not CSV text. Upload a table saved as CSV.")
    header = _header(text)
    if max_columns and len(header) > max_columns:
        raise UploadProblem(f"The file has {len(header)} columns; at most {max_columns} can be trained on.")
    if len(header) <= 1:
        raise _one_column(header[0] if header else "", text.split("\n", 1)[0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(io.StringIO(text), sep=",", engine="c")
    except (ValueError, pd.errors.ParserError, UnicodeError) as exc:
        raise UploadProblem(_parse_error(exc)) from None
    if frame.shape[1] <= 1:
        raise _one_column(str(frame.columns[0]) if frame.shape[1] else "", text.split("\n", 1)[0])
    if frame.empty:
        raise UploadProblem("The file has a header but no rows: there is nothing to train on.")
    rows_read = len(frame)
    if scan.complete:
        rows = rows_read
        if max_rows and rows > max_rows:
            raise UploadProblem(f"The file has more than {max_rows:,} rows, the most a job may load. Use a sample "
                                "of the rows.")
    else:
        # Rows per line in the head (quoted line breaks, blank lines) times the file's data lines.
        head_lines = max(1, text.count("\n") - 1)
        lines = scan.newlines + (0 if scan.ends_with_newline else 1) - 1
        rows = max(rows_read, round(lines * rows_read / head_lines))
        if max_rows and rows > max_rows:
            raise UploadProblem(f"The file has about {rows:,} rows, more than the {max_rows:,} a job may load. Use a "
                                "sample of the rows.")
        notes.append(f"column types, gaps and distinct values are read from the first {rows_read:,} rows (the "
                     f"first {_size(len(data))}); the row count is estimated from the file's lines; "
                     "training reads every row")
    frame.columns = [str(c) for c in frame.columns]
    columns = []
    for col in frame.columns:
        series = frame[col]
        kind = _kind(series)
        columns.append(ColumnInfo(col, kind, int(series.isna().sum()), int(series.nunique()),
                                  _is_identifier(col, series, kind, rows_read)))
    head = _first_rows(text)
    return UploadPreview(name, size, rows, columns, head, notes, exact=scan.complete, rows_read=rows_read), text


_KIND_CLASS = {"number": "num", "whole number": "num", "yes/no": "bool", "category": "cat", "text": "text",
               "date": "date", "empty": "empty"}


def preview_html(p: UploadPreview, *, target: str | None, left_out: list[str], problem: str | None = None) -> str:
    """The preview: a one-line summary, the first rows under each column's name and type, notes."""
    e = html.escape
    lines = [f"<div class='data-preview'><p class='data-summary'><b>{e(p.file_name)}</b> · {p.rows_text} rows × "
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
    lines.append(f"<p class='first-rows'>First {min(len(p.head), p.rows)} of {p.rows_text} rows.</p></div>")
    return "".join(lines)
