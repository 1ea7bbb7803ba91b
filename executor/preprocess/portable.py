"""Library-only building blocks: what the returned model is made of (scikit-learn, numpy and pandas only).

The model in ``model_base64`` must load with ``joblib.load`` where only joblib, scikit-learn,
XGBoost, numpy and pandas are installed, so no step may be a class or function of this project:
pickle stores those by reference. Every transformer here is a scikit-learn estimator, and every
``FunctionTransformer`` wraps a numpy, pandas or ``operator`` callable.

Steps pass pandas DataFrames to each other (``set_output(transform="pandas")``), so later ops
select columns by name. New columns are named through ColumnTransformer's
``verbose_feature_names_out`` format string (``"{feature_name}_log"``); a transformer with a
single output column is named by a format string without fields (the literal name).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

__all__ = [
    "MISSING_LABEL",
    "as_frame",
    "as_text",
    "date_parts",
    "finite",
    "fn",
    "frame_columns",
    "last_column",
    "named",
    "pair_op",
    "renamed",
    "row_mean",
    "row_sum",
]

MISSING_LABEL = "__missing__"
"""The category a missing value of an ordinal-encoded string column becomes."""


def as_frame(estimator: Any) -> Any:
    """``estimator`` set to return a DataFrame with named columns (scikit-learn's set_output API)."""
    return estimator.set_output(transform="pandas")


def frame_columns(transformers: list[tuple[str, Any, Any]], *, remainder: str = "drop",
                  names: str | bool = False) -> ColumnTransformer:
    """A ColumnTransformer that returns a DataFrame; ``names`` is its ``verbose_feature_names_out``.

    The output setting is made on the ColumnTransformer alone, before its transformers are set:
    ``set_output`` would otherwise be passed on to every transformer, and TfidfVectorizer has
    none. A transformer without it returns an array, which the ColumnTransformer names itself.
    """
    ct = ColumnTransformer([], remainder=remainder, verbose_feature_names_out=names, sparse_threshold=0,
                           n_jobs=1)  # its parts are small: dispatching them to threads costs more than it saves
    ct.set_output(transform="pandas")
    return ct.set_params(transformers=transformers)


def _literal(text: str) -> str:
    return str(text).replace("{", "{{").replace("}", "}}")


def named(name: str, transformer: Any, columns: list[Any]) -> ColumnTransformer:
    """``transformer`` (one output column) over ``columns``, its output column called ``name``."""
    return frame_columns([("f", transformer, columns)], names=_literal(name))


def renamed(transformer: Any, columns: list[Any], *, prefix: str = "", suffix: str = "") -> ColumnTransformer:
    """``transformer`` over ``columns``, each output column called ``<prefix><its name><suffix>``."""
    return frame_columns([("f", transformer, columns)],
                         names=f"{_literal(prefix)}{{feature_name}}{_literal(suffix)}")


def fn(function: Any, /, *, frame: bool = True, **kw_args: Any) -> FunctionTransformer:
    """A one-column-in, one-column-out FunctionTransformer of a library callable, called with ``kw_args``."""
    ft = FunctionTransformer(function, kw_args=kw_args or None, feature_names_out="one-to-one")
    return as_frame(ft) if frame else ft


def finite() -> FunctionTransformer:
    """±inf → NaN (so imputers and models see missing values, never infinities)."""
    return fn(np.nan_to_num, nan=np.nan, posinf=np.nan, neginf=np.nan)


def as_text() -> FunctionTransformer:
    """Every value as text, missing values kept missing: encoders need one type per column."""
    return fn(pd.DataFrame.astype, dtype=str)


def last_column(width: int) -> ColumnTransformer:
    """The last of ``width`` columns (what a running ``accumulate`` over a row ends with)."""
    return frame_columns([("last", "passthrough", [width - 1])])


def pair_op(ufunc: np.ufunc, *, absolute: bool = False) -> Pipeline:
    """``a <op> b`` of two columns, ±inf → NaN: the last column of ``ufunc.accumulate`` along the row."""
    steps = [("accumulate", fn(ufunc.accumulate, axis=1, dtype="float64")), ("finite", finite())]
    if absolute:
        steps.append(("abs", fn(np.abs)))
    steps.append(("last", last_column(2)))
    return Pipeline(steps)


def row_sum(width: int) -> Pipeline:
    """The row sum of ``width`` columns, missing values skipped (all missing → 0), like pandas."""
    return Pipeline([("cumsum", fn(np.nancumsum, axis=1)), ("last", last_column(width))])


def row_mean(width: int) -> Pipeline:
    """The row mean of ``width`` columns, missing values skipped (all missing → NaN), like pandas."""
    count = Pipeline([("present", fn(pd.DataFrame.notna)), ("cumsum", fn(np.cumsum, axis=1)),
                      ("last", last_column(width))])
    parts = frame_columns([("sum", row_sum(width), list(range(width))),
                           ("count", count, list(range(width)))], names=True)
    return Pipeline([("parts", parts), ("mean", pair_op(np.divide))])


def date_parts(parts: tuple[str, ...], columns: list[Any]) -> Pipeline:
    """Date columns parsed once, then each part (``year``, ``month``, ...) as a number column
    ``<column>_<part>`` (unparseable or missing dates → 0)."""
    extract = [(name, fn(pd.DataFrame.apply, func=operator.attrgetter(f"dt.{name}")), list(columns))
               for name in parts]
    return Pipeline([
        ("parse", fn(pd.DataFrame.apply, func=pd.to_datetime, errors="coerce", format="mixed")),
        ("parts", frame_columns(extract, names="{feature_name}_{transformer_name}")),
        ("float", fn(pd.DataFrame.astype, dtype="float64")),
        ("fill", fn(pd.DataFrame.fillna, value=0.0)),
    ])
