"""The default last preprocessing step: whatever is still missing or non-numeric becomes numeric features."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from executor.echo import clip, listing
from executor.preprocess.base import FrameStep
from executor.preprocess.steps import as_text
from executor.preprocess.text import fit_tfidf, looks_like_dates, looks_like_text, to_dates
from executor.preprocess.vocab import CanonicalOp

__all__ = ["ONEHOT_MAX_CATEGORIES", "AutoEncodeStep"]

ONEHOT_MAX_CATEGORIES = 20
"""Default encoding policy (not a resource limit): a string column with at most this many distinct
training values is one-hot encoded; a column with more is ordinal-encoded, so a free-form column
(names, ids) does not turn into thousands of features."""


class AutoEncodeStep(FrameStep):
    """Median-fills numeric gaps, encodes string/boolean columns, and returns an all-float frame.

    Free-text columns become TF-IDF features (vocabulary of at most ``max_vocabulary`` terms over
    all text columns; None = uncapped) and date-like columns become year/month/day/weekday numbers.
    ``text_columns``/``date_columns`` are hints from the dataset; other columns are detected on the
    training rows. Every default it applies is stated in ``notes_`` (the run's warnings).
    """

    def __init__(self, op: CanonicalOp | None = None, node_id: str | None = None, field: str | None = None,
                 max_columns: int = 0, target: str | None = None, text_columns: list[str] | None = None,
                 date_columns: list[str] | None = None, max_vocabulary: int | None = None) -> None:
        super().__init__(op, node_id, field, max_columns, target)
        self.text_columns = text_columns
        self.date_columns = date_columns
        self.max_vocabulary = max_vocabulary

    def _fit(self, X: pd.DataFrame) -> None:
        self.numeric_: list[str] = []
        self.bools_: list[str] = []
        self.dates_: list[str] = []
        self.text_: list[str] = []
        onehot: list[str] = []
        ordinal: list[str] = []
        for col in X.columns:
            s = X[col]
            if pd.api.types.is_bool_dtype(s):
                self.bools_.append(col)
            elif pd.api.types.is_numeric_dtype(s):
                self.numeric_.append(col)
            elif pd.api.types.is_datetime64_any_dtype(s) or col in (self.date_columns or []) or looks_like_dates(s):
                self.dates_.append(col)
            elif col in (self.text_columns or []) or looks_like_text(s):
                self.text_.append(col)
            elif s.astype(object).nunique(dropna=False) <= ONEHOT_MAX_CATEGORIES:
                onehot.append(col)
            else:
                ordinal.append(col)
        numeric = X[self.numeric_].astype(float).replace([np.inf, -np.inf], np.nan)
        medians = numeric.median()
        self.medians_ = {c: (float(medians[c]) if pd.notna(medians[c]) else 0.0) for c in self.numeric_}
        gaps = [str(c) for c in self.numeric_ if numeric[c].isna().any()]
        if gaps:
            self._note(f"missing values in numeric column(s) {listing(gaps)} are filled with the training"
                       " median (default imputation; add a fill_missing op to choose)")
        self.onehot_, self.ordinal_ = onehot, ordinal
        if onehot:
            self.onehot_enc_ = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
            self.onehot_enc_.fit(self._text(X, onehot))
            self.onehot_names_ = [str(n) for n in self.onehot_enc_.get_feature_names_out([str(c) for c in onehot])]
            self._note(f"string column(s) {listing(onehot)} are one-hot encoded (default encoding;"
                       " missing values become their own category, unseen categories all zeros)")
        if ordinal:
            self.ordinal_enc_ = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                               dtype=np.float64)
            self.ordinal_enc_.fit(self._text(X, ordinal))
            self._note(f"string column(s) {listing(ordinal)} have more than {ONEHOT_MAX_CATEGORIES}"
                       " distinct values and are ordinal-encoded (default; unseen categories become -1)")
        if self.bools_:
            self._note(f"boolean column(s) {listing(self.bools_)} are used as 0/1")
        if self.dates_:
            self._note(f"date column(s) {listing(self.dates_)} are turned into year, month, day and"
                       " weekday numbers")
        self.tfidf_ = {}
        if self.text_:
            per_column = None if not self.max_vocabulary else max(1, self.max_vocabulary // len(self.text_))
            for col in self.text_:
                self.tfidf_[col] = fit_tfidf(X[col], per_column)
            sizes = listing(f"{clip(str(c))} ({len(v.vocabulary_)} terms)" for c, v in self.tfidf_.items())
            cap = f"at most {per_column} terms per column" if per_column else "uncapped"
            self._note(f"free-text column(s) {sizes} become TF-IDF features learned on training rows"
                       f" (vocabulary {cap})")

    @staticmethod
    def _text(X: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
        return pd.DataFrame({str(c): as_text(X[c]) for c in cols}, index=X.index)

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        parts: list[pd.DataFrame] = []
        if self.numeric_:  # one array pass: every non-finite value becomes its column's training median
            values = X[self.numeric_].to_numpy(dtype=float, copy=True)
            bad = ~np.isfinite(values)
            if bad.any():
                medians = np.array([self.medians_[c] for c in self.numeric_], dtype=float)
                values[bad] = np.broadcast_to(medians, values.shape)[bad]
            parts.append(pd.DataFrame(values, columns=self.numeric_, index=X.index))
        if self.bools_:
            parts.append(X[self.bools_].astype(float).fillna(0.0))
        for col, vec in self.tfidf_.items():
            names = [f"{col}__{t}" for t in vec.get_feature_names_out()]
            parts.append(pd.DataFrame(vec.transform(X[col].fillna("").astype(str)).toarray(), columns=names,
                                      index=X.index))
        for col in self.dates_:
            stamp = to_dates(X[col])
            parts.append(pd.DataFrame({f"{col}_year": stamp.dt.year, f"{col}_month": stamp.dt.month,
                                       f"{col}_day": stamp.dt.day, f"{col}_weekday": stamp.dt.weekday},
                                      index=X.index).astype(float).fillna(0.0))
        if self.onehot_:
            parts.append(pd.DataFrame(self.onehot_enc_.transform(self._text(X, self.onehot_)),
                                      columns=self.onehot_names_, index=X.index))
        if self.ordinal_:
            parts.append(pd.DataFrame(self.ordinal_enc_.transform(self._text(X, self.ordinal_)),
                                      columns=[str(c) for c in self.ordinal_], index=X.index))
        if not parts:
            return pd.DataFrame(index=X.index)
        out = parts[0] if len(parts) == 1 else pd.concat(parts, axis=1)
        out.columns = [str(c) for c in out.columns]
        return out
