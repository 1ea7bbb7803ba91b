"""Row and column filters: ops that remove rows or columns, run on the whole dataset before the split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from executor.echo import listing, shown
from executor.preprocess.columns import resolve_columns
from executor.preprocess.vocab import CanonicalOp

__all__ = ["apply_filter", "outlier_bounds"]


def outlier_bounds(values: pd.Series, method: str, threshold: float) -> tuple[float, float] | None:
    """Lower and upper bounds for one numeric column (NaN ignored), or None when undefined."""
    clean = values.astype(float).replace([np.inf, -np.inf], np.nan).dropna()
    if clean.empty:
        return None
    if method == "iqr":
        q1, q3 = np.percentile(clean, [25, 75])
        spread = q3 - q1
        return float(q1 - threshold * spread), float(q3 + threshold * spread)
    std = float(clean.std(ddof=0))
    if std == 0 or not np.isfinite(std):
        return None
    mean = float(clean.mean())
    return mean - threshold * std, mean + threshold * std


def _duplicates(frame: pd.DataFrame, op: CanonicalOp, target: str | None) -> tuple[pd.DataFrame, str]:
    cols = resolve_columns(op.params["columns"], frame, default="all")
    if op.params["columns"] in (None, "all", []) and target in frame.columns:
        cols = list(frame.columns)  # whole rows, target included: same features + same label
    out = frame.drop_duplicates(subset=cols, keep=op.params["keep"])
    return out, f"removed {len(frame) - len(out)} duplicate row(s) (keep={op.params['keep']})"


def _outliers(frame: pd.DataFrame, op: CanonicalOp, target: str | None) -> tuple[pd.DataFrame, str]:
    cols = resolve_columns(op.params["columns"], frame, exclude=target, default="all_numeric")
    keep = pd.Series(True, index=frame.index)
    for col in cols:
        if not pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
            continue
        bounds = outlier_bounds(frame[col], op.params["method"], op.params["threshold"])
        if bounds is None:
            continue
        values = frame[col].astype(float)
        outside = (values < bounds[0]) | (values > bounds[1])
        keep &= ~outside.fillna(False)
    out = frame[keep]
    return out, (f"removed {len(frame) - len(out)} outlier row(s) ({op.params['method']},"
                 f" threshold {op.params['threshold']:g}, over {len(cols)} column(s); missing values kept)")


def _drop_missing_rows(frame: pd.DataFrame, op: CanonicalOp, target: str | None) -> tuple[pd.DataFrame, str]:
    share = frame.isna().mean(axis=1) * 100
    limit = op.params["threshold"]
    out = frame[share <= limit] if limit > 0 else frame.dropna()
    return out, f"dropped {len(frame) - len(out)} row(s) with more than {limit:g}% missing values"


def _drop_missing_columns(frame: pd.DataFrame, op: CanonicalOp, target: str | None) -> tuple[pd.DataFrame, str]:
    share = frame.isna().mean(axis=0) * 100
    limit = op.params["threshold"]
    dropped = [c for c in frame.columns if share[c] > limit and c != target]
    return frame.drop(columns=dropped), (f"dropped {len(dropped)} column(s) with more than {limit:g}% missing"
                                         f" values{': ' + listing(dropped) if dropped else ''}")


def _drop_columns(frame: pd.DataFrame, op: CanonicalOp, target: str | None) -> tuple[pd.DataFrame, str]:
    selector = op.params["columns"]
    if selector in (None, [], ""):
        return frame, "no columns listed: nothing dropped"
    cols = resolve_columns(selector, frame, exclude=target, default=[])
    note = f"dropped {len(cols)} column(s): {listing(cols)}"
    names = [selector] if isinstance(selector, str) else selector
    if target is not None and isinstance(names, list) and target in names:
        note += f"; the target {shown(target)} is never dropped"
    return frame.drop(columns=cols), note


_FILTERS = {
    "duplicates": _duplicates,
    "outliers_remove": _outliers,
    "drop_missing_rows": _drop_missing_rows,
    "drop_missing_columns": _drop_missing_columns,
    "drop_columns": _drop_columns,
}


def apply_filter(frame: pd.DataFrame, op: CanonicalOp, target: str | None) -> tuple[pd.DataFrame, str]:
    """Apply one row/column filter; returns the new frame and a note of what it did."""
    return _FILTERS[op.kind](frame, op, target)
