"""The default last preprocessing step: whatever is still missing or non-numeric becomes numeric features."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from executor.echo import clip, listing
from executor.preprocess.base import FrameStep
from executor.preprocess.portable import (
    as_frame,
    as_text,
    date_parts,
    finite,
    fn,
    frame_columns,
    renamed,
)
from executor.preprocess.steps import ordinal_encoder
from executor.preprocess.text import looks_like_dates, looks_like_text
from executor.preprocess.vocab import CanonicalOp

__all__ = ["DATE_PARTS", "ONEHOT_MAX_CATEGORIES", "AutoEncodeStep"]

ONEHOT_MAX_CATEGORIES = 20
"""Default encoding policy (not a resource limit): a string column with at most this many distinct
training values is one-hot encoded; a column with more is ordinal-encoded, so a free-form column
(names, ids) does not turn into thousands of features."""
DATE_PARTS = ("year", "month", "day", "weekday")
"""What a date column becomes: one number column per part, ``<column>_<part>``."""


def _tfidf(column: Any, max_features: int | None) -> Any:
    """TF-IDF of one text column (missing → empty text), named ``<column>__<term>``."""
    vectorise = Pipeline([
        ("text", as_text()),
        ("missing", SimpleImputer(strategy="constant", fill_value="", keep_empty_features=True)),
        ("flat", fn(np.ravel, frame=False)),  # the vectoriser reads one document per row
        ("tfidf", TfidfVectorizer(max_features=max_features, dtype=np.float64, sublinear_tf=True)),
    ])
    return renamed(vectorise, [column], prefix=f"{column}__")


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

    def _plan(self, X: pd.DataFrame) -> Any:
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
        self.onehot_, self.ordinal_ = onehot, ordinal
        parts: list[tuple[str, Any, list[Any]]] = []
        if self.numeric_:  # every non-finite value becomes its column's training median
            parts.append(("numeric", as_frame(Pipeline([
                ("finite", finite()),
                ("median", as_frame(SimpleImputer(strategy="median", keep_empty_features=True)))])),
                self.numeric_))
            gaps = [str(c) for c in self.numeric_ if not np.isfinite(X[c].to_numpy(dtype=float)).all()]
            if gaps:
                self._note(f"missing values in numeric column(s) {listing(gaps)} are filled with the training"
                           " median (default imputation; add a fill_missing op to choose)")
        if self.bools_:
            parts.append(("boolean", fn(pd.DataFrame.astype, dtype="float64"), self.bools_))
            self._note(f"boolean column(s) {listing(self.bools_)} are used as 0/1")
        if self.text_:
            per_column = None if not self.max_vocabulary else max(1, self.max_vocabulary // len(self.text_))
            parts += [(f"text{i}", _tfidf(col, per_column), [col]) for i, col in enumerate(self.text_)]
        if self.dates_:
            parts.append(("dates", date_parts(DATE_PARTS, self.dates_), self.dates_))
            self._note(f"date column(s) {listing(self.dates_)} are turned into year, month, day and"
                       " weekday numbers")
        if onehot:
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
            parts.append(("onehot", as_frame(Pipeline([("text", as_text()), ("encode", encoder)])), onehot))
            self._note(f"string column(s) {listing(onehot)} are one-hot encoded (default encoding;"
                       " missing values become their own category, unseen categories all zeros)")
        if ordinal:
            parts.append(("ordinal", ordinal_encoder(), ordinal))
            self._note(f"string column(s) {listing(ordinal)} have more than {ONEHOT_MAX_CATEGORIES}"
                       " distinct values and are ordinal-encoded (default; unseen categories become -1)")
        return frame_columns(parts) if parts else None

    def _fitted(self, transformer: Any, X: pd.DataFrame) -> None:
        if not self.text_:
            return
        sizes = []
        for i, col in enumerate(self.text_):
            vectoriser = transformer.named_transformers_[f"text{i}"].named_transformers_["f"].named_steps["tfidf"]
            sizes.append(f"{clip(str(col))} ({len(vectoriser.vocabulary_)} terms)")
        per_column = None if not self.max_vocabulary else max(1, self.max_vocabulary // len(self.text_))
        cap = f"at most {per_column} terms per column" if per_column else "uncapped"
        self._note(f"free-text column(s) {listing(sizes)} become TF-IDF features learned on training rows"
                   f" (vocabulary {cap})")
