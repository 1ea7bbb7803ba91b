"""Free text and dates in string columns: detection on training rows, TF-IDF and date parts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["DATE_PARSE_SHARE", "TEXT_MIN_TOKENS", "fit_tfidf", "looks_like_dates", "looks_like_text"]

TEXT_MIN_TOKENS = 4.0
"""Detection policy: a string column whose values average at least this many words is free text."""
DATE_PARSE_SHARE = 0.9
"""Detection policy: a string column is a date when this share of its sampled values parse as dates."""
_SAMPLE = 200
"""Values looked at per column to detect text or dates (detection cost stays flat on big data)."""


def _sample(series: pd.Series) -> pd.Series:
    clean = series.dropna().astype(str)
    return clean.iloc[:: max(1, len(clean) // _SAMPLE)] if len(clean) else clean


def looks_like_dates(series: pd.Series) -> bool:
    """True when nearly every sampled value is a date such as ``1949-01`` or ``03/12/2020``."""
    values = _sample(series)
    if values.empty or not values.str.contains(r"\d[-/:.]\d|\d{4}-\d", regex=True).mean() >= DATE_PARSE_SHARE:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= DATE_PARSE_SHARE)


def looks_like_text(series: pd.Series) -> bool:
    """True when the sampled values read as sentences rather than categories."""
    values = _sample(series)
    return bool(len(values) and values.str.split().str.len().mean() >= TEXT_MIN_TOKENS)


def to_dates(series: pd.Series) -> pd.Series:
    """The column parsed as datetimes (unparseable values → NaT)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(series.astype(object).where(series.notna()), errors="coerce", format="mixed")


def fit_tfidf(series: pd.Series, max_features: int | None) -> TfidfVectorizer:
    """A TF-IDF vectoriser fitted on the training rows of one text column, vocabulary capped."""
    vec = TfidfVectorizer(max_features=max_features, dtype=np.float64, sublinear_tf=True)
    vec.fit(series.fillna("").astype(str))
    return vec
