"""Learned preprocessing steps: imputation, scaling, encoding and outlier clipping (fitted on training rows)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)

from executor.echo import clip, listing, shown
from executor.preprocess.base import FrameStep
from executor.preprocess.columns import numeric_columns, resolve_columns
from executor.preprocess.filters import outlier_bounds
from executor.preprocess.portable import MISSING_LABEL, as_frame, as_text, fn, frame_columns

__all__ = [
    "ONEHOT_GROUP_CAP",
    "ONEHOT_GROUP_MIN_COUNT",
    "ClipStep",
    "ImputeStep",
    "OneHotStep",
    "OrdinalStep",
    "ScaleStep",
    "ordinal_encoder",
]

ONEHOT_GROUP_CAP = 50
"""Grouping policy: when one-hot encoding every category would exceed ``[data] max_columns``, a
column keeps at most this many output columns (its most frequent training categories plus one
column for all the others), fewer if that is still too wide."""
ONEHOT_GROUP_MIN_COUNT = 2
"""Grouping policy: while grouping, a category seen fewer times than this in the training rows is
infrequent (an id seen once cannot generalise)."""


def _fillable(X: pd.DataFrame, cols: list[Any]) -> list[Any]:
    """Columns that can hold a missing value (booleans and datetimes are left alone)."""
    return [c for c in cols if not pd.api.types.is_bool_dtype(X[c]) and not pd.api.types.is_datetime64_any_dtype(X[c])]


class ImputeStep(FrameStep):
    """``fill_missing*``: mean/median (numeric columns), most frequent or a constant (any column)."""

    def _plan(self, X: pd.DataFrame) -> Any:
        strategy = self.params["strategy"]
        default = "all_numeric" if strategy in ("mean", "median") else "all"
        cols = _fillable(X, resolve_columns(self.params["columns"], X, exclude=self.target, default=default))
        numeric_set = set(numeric_columns(X))
        numeric = [c for c in cols if c in numeric_set]
        others = [c for c in cols if c not in numeric_set]
        parts: list[tuple[str, Any, list[Any]]] = []
        if strategy in ("mean", "median"):
            if others:
                self._note(f"{strategy} does not apply to non-numeric column(s) {listing(others)}; skipped")
            others = []
        if numeric:
            kwargs = {"fill_value": self._constant(True)} if strategy == "constant" else {}
            parts.append(("numeric", as_frame(SimpleImputer(strategy=strategy, keep_empty_features=True, **kwargs)),
                          numeric))
        if others:
            kwargs = {"fill_value": str(self.params["fill_value"])} if strategy == "constant" else {}
            parts.append(("other", as_frame(SimpleImputer(strategy=strategy, keep_empty_features=True, **kwargs)),
                          others))
        filled = sum(int(X[c].isna().sum()) for c in numeric + others)
        self._note(f"{strategy} imputation of {len(numeric) + len(others)} column(s), learned on training rows"
                   f" ({filled} training value(s) filled)")
        return frame_columns(parts, remainder="passthrough") if parts else None

    def _constant(self, numeric: bool) -> object:
        value = self.params["fill_value"]
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"constant {shown(value)} is not a number, so it cannot fill a numeric column") from None


_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler, "maxabs": MaxAbsScaler}


class ScaleStep(FrameStep):
    """``scale_*`` / ``*_scaler``: one scikit-learn scaler over the selected numeric columns."""

    def _plan(self, X: pd.DataFrame) -> Any:
        cols = resolve_columns(self.params["columns"], X, exclude=self.target, default="all_numeric")
        numeric = set(numeric_columns(X))
        self.columns_ = [c for c in cols if c in numeric]
        method = self.params["method"]
        kwargs: dict[str, object] = {}
        if method == "standard":
            kwargs = {"with_mean": self.params["with_mean"], "with_std": self.params["with_std"]}
        elif method == "minmax":
            kwargs = {"feature_range": tuple(self.params["feature_range"])}
        self._note(f"{method} scaling of {len(self.columns_)} numeric column(s), fitted on training rows")
        if not self.columns_:
            return None
        return frame_columns([("scale", as_frame(_SCALERS[method](**kwargs)), self.columns_)],
                             remainder="passthrough")


class OneHotStep(FrameStep):
    """``encode_onehot`` / ``onehot_encoder``: one 0/1 column per category seen in training rows.

    When one column per category would exceed ``[data] max_columns``, rare categories are grouped
    (OneHotEncoder's ``max_categories``/``min_frequency``) instead of failing; the note says how
    many.
    """

    def _plan(self, X: pd.DataFrame) -> Any:
        self.columns_ = resolve_columns(self.params["columns"], X, exclude=self.target, default="all_categorical")
        drop_first, unknown = self.params["drop_first"], self.params["handle_unknown"]
        self.grouping_: dict[str, Any] = {}
        if not self.columns_:
            self._note("no categorical column to encode")
            return None
        counts = {c: int(X[c].astype(str).nunique(dropna=False)) for c in self.columns_}
        others = X.shape[1] - len(self.columns_)
        kwargs: dict[str, Any] = {}
        if self.max_columns and others + sum(counts.values()) > self.max_columns:
            room = max(2, (self.max_columns - others) // len(self.columns_))
            cap = min(ONEHOT_GROUP_CAP, room)
            kwargs = {"max_categories": cap, "min_frequency": ONEHOT_GROUP_MIN_COUNT}
            self.grouping_ = {"wanted": others + sum(counts.values()), "cap": cap}
            unknown = "infrequent_if_exist"
        encoder = OneHotEncoder(drop="first" if drop_first else None, handle_unknown=unknown, sparse_output=False,
                                dtype=np.float64, **kwargs)
        return frame_columns([("onehot", as_frame(Pipeline([("text", as_text()), ("encode", encoder)])),
                               self.columns_)], remainder="passthrough")

    def _fitted(self, transformer: Any, X: pd.DataFrame) -> None:
        text = (f"one-hot encoding of {len(self.columns_)} column(s) (drop_first={self.params['drop_first']},"
                f" unknown categories: {self.params['handle_unknown']})")
        if not self.grouping_:
            self._note(text)
            return
        encoder = transformer.named_transformers_["onehot"].named_steps["encode"]
        grouped = {str(c): len(g) for c, g in zip(self.columns_, encoder.infrequent_categories_, strict=True)
                   if g is not None and len(g)}
        self.grouped_ = grouped
        total = sum(grouped.values())
        per_column = listing(f"{clip(c)} {n}" for c, n in grouped.items())
        cap = self.grouping_["cap"]
        self._note(f"{text}: one column per category would make {self.grouping_['wanted']} features, above"
                   f" [data] max_columns = {self.max_columns}, so {total} infrequent categor"
                   f"{'y was' if total == 1 else 'ies were'} grouped into one '<column>_infrequent_sklearn'"
                   f" column per column ({per_column}); each column keeps at most {cap} columns (its most"
                   f" frequent categories seen at least {ONEHOT_GROUP_MIN_COUNT} times in training rows), and"
                   " categories never seen in training join the infrequent group instead of failing")


def ordinal_encoder() -> Pipeline:
    """Categories → integers learned on training rows; missing values are a category of their own,
    unseen categories become -1."""
    return as_frame(Pipeline([
        ("text", as_text()),
        ("missing", SimpleImputer(strategy="constant", fill_value=MISSING_LABEL, keep_empty_features=True)),
        ("encode", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64)),
    ]))


class OrdinalStep(FrameStep):
    """``encode_label`` / ``label_encoder``: categories → integers learned on training rows (unseen → -1)."""

    def _plan(self, X: pd.DataFrame) -> Any:
        self.columns_ = resolve_columns(self.params["columns"], X, exclude=self.target, default="all_categorical")
        self._note(f"label encoding of {len(self.columns_)} column(s); categories unseen in training become -1")
        if not self.columns_:
            return None
        return frame_columns([("ordinal", ordinal_encoder(), self.columns_)], remainder="passthrough")


class ClipStep(FrameStep):
    """Outlier ``action: clip`` and ``outlier_clip``: bounds learned on training rows, values clipped to them."""

    def _plan(self, X: pd.DataFrame) -> Any:
        cols = resolve_columns(self.params["columns"], X, exclude=self.target, default="all_numeric")
        numeric = set(numeric_columns(X))
        self.bounds_: dict[str, tuple[float, float]] = {}
        for col in cols:
            if col not in numeric:
                continue
            if self.params["method"] == "percentile":
                clean = X[col].astype(float).dropna()
                if clean.empty:
                    continue
                lo, hi = np.percentile(clean, [self.params["lower"], self.params["upper"]])
                self.bounds_[col] = (float(lo), float(hi))
            else:
                bounds = outlier_bounds(X[col], self.params["method"], self.params["threshold"])
                if bounds is not None:
                    self.bounds_[col] = bounds
        self._note(f"{self.params['method']} clipping of {len(self.bounds_)} column(s), bounds learned on"
                   " training rows")
        if not self.bounds_:
            return None
        # arrays, not a Series: a pandas index of strings may be stored by pyarrow, which the
        # model file must not need
        low = np.array([b[0] for b in self.bounds_.values()], dtype=float)
        high = np.array([b[1] for b in self.bounds_.values()], dtype=float)
        return frame_columns([("clip", fn(pd.DataFrame.clip, lower=low, upper=high, axis=1), list(self.bounds_))],
                             remainder="passthrough")
