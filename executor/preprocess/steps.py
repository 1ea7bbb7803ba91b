"""Learned preprocessing steps: imputation, scaling, encoding and outlier clipping (fitted on training rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)

from executor.echo import listing, shown
from executor.preprocess.base import FrameStep
from executor.preprocess.columns import numeric_columns, resolve_columns
from executor.preprocess.filters import outlier_bounds

__all__ = ["ClipStep", "ImputeStep", "OneHotStep", "OrdinalStep", "ScaleStep", "as_text"]

MISSING_LABEL = "__missing__"
"""The category missing values of a string column become before encoding."""


def as_text(series: pd.Series) -> pd.Series:
    """A categorical column as plain strings, missing values as :data:`MISSING_LABEL`."""
    return series.astype(object).where(series.notna(), MISSING_LABEL).astype(str)


class ImputeStep(FrameStep):
    """``fill_missing*``: mean/median (numeric columns), most frequent or a constant (any column)."""

    def _fit(self, X: pd.DataFrame) -> None:
        strategy = self.params["strategy"]
        default = "all_numeric" if strategy in ("mean", "median") else "all"
        cols = resolve_columns(self.params["columns"], X, exclude=self.target, default=default)
        numeric = set(numeric_columns(X))
        self.fill_: dict[str, object] = {}
        skipped = []
        for col in cols:
            values = X[col]
            if strategy in ("mean", "median"):
                if col not in numeric:
                    skipped.append(str(col))
                    continue
                stat = values.mean() if strategy == "mean" else values.median()
                self.fill_[col] = float(stat) if pd.notna(stat) else 0.0
            elif strategy == "most_frequent":
                mode = values.mode(dropna=True)
                self.fill_[col] = mode.iloc[0] if len(mode) else (0.0 if col in numeric else MISSING_LABEL)
            else:
                self.fill_[col] = self._constant(col in numeric)
        filled = sum(int(X[c].isna().sum()) for c in self.fill_)
        self._note(f"{strategy} imputation of {len(self.fill_)} column(s), learned on training rows"
                   f" ({filled} training value(s) filled)")
        if skipped:
            self._note(f"{strategy} does not apply to non-numeric column(s) {listing(skipped)}; skipped")

    def _constant(self, numeric: bool) -> object:
        value = self.params["fill_value"]
        if not numeric:
            return str(value)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"constant {shown(value)} is not a number, so it cannot fill a numeric column") from None

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        for col, value in self.fill_.items():
            if col in X.columns:
                X[col] = X[col].fillna(value)
        return X


_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler, "maxabs": MaxAbsScaler}


class ScaleStep(FrameStep):
    """``scale_*`` / ``*_scaler``: one scikit-learn scaler over the selected numeric columns."""

    def _fit(self, X: pd.DataFrame) -> None:
        cols = resolve_columns(self.params["columns"], X, exclude=self.target, default="all_numeric")
        numeric = set(numeric_columns(X))
        self.columns_ = [c for c in cols if c in numeric]
        method = self.params["method"]
        kwargs: dict[str, object] = {}
        if method == "standard":
            kwargs = {"with_mean": self.params["with_mean"], "with_std": self.params["with_std"]}
        elif method == "minmax":
            kwargs = {"feature_range": tuple(self.params["feature_range"])}
        self.scaler_ = _SCALERS[method](**kwargs)
        if self.columns_:
            self.scaler_.fit(X[self.columns_].astype(float))
        self._note(f"{method} scaling of {len(self.columns_)} numeric column(s), fitted on training rows")

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if self.columns_:
            X[self.columns_] = self.scaler_.transform(X[self.columns_].astype(float))
        return X


class OneHotStep(FrameStep):
    """``encode_onehot`` / ``onehot_encoder``: one 0/1 column per category seen in training rows."""

    def _fit(self, X: pd.DataFrame) -> None:
        self.columns_ = resolve_columns(self.params["columns"], X, exclude=self.target, default="all_categorical")
        self.encoder_ = OneHotEncoder(drop="first" if self.params["drop_first"] else None,
                                      handle_unknown=self.params["handle_unknown"], sparse_output=False,
                                      dtype=np.float64)
        if self.columns_:
            self.encoder_.fit(self._text(X))
            self.names_ = [str(n) for n in self.encoder_.get_feature_names_out([str(c) for c in self.columns_])]
        self._note(f"one-hot encoding of {len(self.columns_)} column(s) (drop_first={self.params['drop_first']},"
                   f" unknown categories: {self.params['handle_unknown']})")

    def _text(self, X: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({str(c): as_text(X[c]) for c in self.columns_}, index=X.index)

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not self.columns_:
            return X
        encoded = pd.DataFrame(self.encoder_.transform(self._text(X)), columns=self.names_, index=X.index)
        return pd.concat([X.drop(columns=self.columns_), encoded], axis=1)


class OrdinalStep(FrameStep):
    """``encode_label`` / ``label_encoder``: categories → integers learned on training rows (unseen → -1)."""

    def _fit(self, X: pd.DataFrame) -> None:
        self.columns_ = resolve_columns(self.params["columns"], X, exclude=self.target, default="all_categorical")
        self.encoder_ = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64)
        if self.columns_:
            self.encoder_.fit(X[self.columns_].apply(as_text))
        self._note(f"label encoding of {len(self.columns_)} column(s); categories unseen in training become -1")

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if self.columns_:
            X[self.columns_] = self.encoder_.transform(X[self.columns_].apply(as_text))
        return X


class ClipStep(FrameStep):
    """Outlier ``action: clip`` and ``outlier_clip``: bounds learned on training rows, values clipped to them."""

    def _fit(self, X: pd.DataFrame) -> None:
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

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        for col, (lo, hi) in self.bounds_.items():
            if col in X.columns:
                X[col] = X[col].astype(float).clip(lo, hi)
        return X
