"""Free text and dates in string columns: detection on training rows (TF-IDF and date parts: auto.py)."""

from __future__ import annotations

import warnings

import pandas as pd

__all__ = ["DATE_PARSE_SHARE", "TEXT_MIN_TOKENS", "looks_like_dates", "looks_like_text"]

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
