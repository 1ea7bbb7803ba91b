"""Feature-engineering steps (contract §2.3 C): transforms, polynomial terms, ratios, sums and binning.

Each adds columns and keeps the others in place; what it adds is built from library components
only (:mod:`executor.preprocess.portable`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, PolynomialFeatures

from executor.echo import clip, shown
from executor.preprocess.base import FrameStep
from executor.preprocess.columns import numeric_columns, resolve_columns
from executor.preprocess.portable import (
    as_frame,
    finite,
    fn,
    frame_columns,
    named,
    pair_op,
    renamed,
    row_mean,
    row_sum,
)

__all__ = ["BinningStep", "DifferenceStep", "MathStep", "PolynomialStep", "RatioStep", "SumStep"]

EXP_CLIP = 1e10
"""Contract §2.3: ``exponential_transform`` with handleLarge=clip clips results at 1e10."""

Addition = tuple[str, Any, list[Any]]
"""(transformer name, transformer, input columns) of a step that adds columns."""


def adding(X: pd.DataFrame, additions: list[Addition], new_names: list[str],
           drop: tuple[Any, ...] = ()) -> Any:
    """The columns of ``X`` in order (those in ``drop`` left out), then the added ones.

    An added column named like an existing one replaces it.
    """
    if not additions and not drop:
        return None
    gone = set(new_names) | set(drop)
    keep = [c for c in X.columns if c not in gone]
    return frame_columns([("keep", "passthrough", keep), *additions])


class _NumericStep(FrameStep):
    def _numeric(self, X: pd.DataFrame, default: str | None = "all_numeric") -> list[str]:
        selector = self.params.get("columns")
        if selector in (None, [], "") and default == "all_numeric":
            self._note("no columns chosen (the UI has no picker): applied to every numeric feature")
        numeric = set(numeric_columns(X))
        return [c for c in resolve_columns(selector, X, exclude=self.target, default=default) if c in numeric]


_LOGS = {"natural": np.log, "log10": np.log10, "log2": np.log2, "log1p": np.log1p}


class MathStep(_NumericStep):
    """log / power / exponential / reciprocal transforms, each adding ``<column><suffix>``."""

    def _plan(self, X: pd.DataFrame) -> Any:
        cols = self._numeric(X)
        self.columns_ = []
        for col in cols:
            bad = self._invalid(X[col].astype(float)).any()
            rule = self.params.get("negative") or self.params.get("zero") or self.params.get("large")
            if bad and rule == "error":
                raise ValueError(f"column {shown(col)} has values the transform cannot take (handle rule: error)")
            if bad and rule == "skip":
                self._note(f"column {shown(col)} skipped: it has values the transform cannot take")
                continue
            self.columns_.append(col)
        self._note(f"{self.params['func']} transform of {len(self.columns_)} column(s)")
        if not self.columns_:
            return None
        suffix = self.params["suffix"]
        added = renamed(self._pipeline(), self.columns_, suffix=suffix)
        return adding(X, [("math", added, self.columns_)], [f"{c}{suffix}" for c in self.columns_])

    def _invalid(self, x: pd.Series) -> pd.Series:
        func = self.params["func"]
        if func == "log":
            return x < -1 if self.params["base"] == "log1p" else x <= 0
        if func == "power":
            return x < 0 if self.params["exponent"] % 1 else pd.Series(False, index=x.index)
        if func == "reciprocal":
            return (x + self.params["add"]) == 0
        return np.exp(x.clip(upper=700)) > EXP_CLIP

    def _pipeline(self) -> Pipeline:
        p, func = self.params, self.params["func"]
        steps: list[tuple[str, Any]] = [("float", fn(pd.DataFrame.astype, dtype="float64"))]
        if p.get("negative") == "absolute":
            steps.append(("abs", fn(np.abs)))
        if func == "log":
            steps.append(("log", fn(_LOGS[p["base"]])))
        elif func == "power":
            steps.append(("power", fn(pd.DataFrame.pow, other=float(p["exponent"]))))
        elif func == "reciprocal":
            steps += [("add", fn(pd.DataFrame.add, other=float(p["add"]))),
                      ("reciprocal", fn(pd.DataFrame.rtruediv, other=1.0))]
        else:  # handleLarge "error" was checked on the training rows; new rows are never refused
            steps.append(("exp", fn(np.exp)))
            if p["large"] == "clip":
                steps.append(("clip", fn(pd.DataFrame.clip, upper=EXP_CLIP)))
        steps.append(("finite", finite()))
        return Pipeline(steps)


def _terms(k: int, degree: int, interaction_only: bool, bias: bool) -> int:
    """Columns PolynomialFeatures(degree=(2, degree)) makes of ``k`` columns (without the inputs)."""
    count = sum(math.comb(k, j) if interaction_only else math.comb(k + j - 1, j) for j in range(2, degree + 1))
    return count + int(bias)


class PolynomialStep(_NumericStep):
    """``polynomial`` / ``interaction``: higher-order and cross terms of the selected columns."""

    def _plan(self, X: pd.DataFrame) -> Any:
        self.columns_ = self._numeric(X)
        degree, only = self.params["degree"], self.params["interaction_only"]
        self._note(f"degree-{degree} terms of {len(self.columns_)} column(s)")
        terms = _terms(len(self.columns_), degree, only, self.params["include_bias"])
        if not self.columns_ or not terms:
            return None
        self._check_width(X.shape[1] + terms)  # before anything that large is built
        # missing values take the training median first: the terms need complete rows
        pipe = Pipeline([
            ("median", as_frame(SimpleImputer(strategy="median", keep_empty_features=True))),
            ("terms", as_frame(PolynomialFeatures(degree=(2, degree), interaction_only=only,
                                                  include_bias=self.params["include_bias"]))),
        ])
        return adding(X, [("poly", renamed(pipe, self.columns_, prefix="poly_"), self.columns_)], [])


def _pairs_columns(step: FrameStep, X: pd.DataFrame) -> None:
    resolve_columns([c for pair in step.params["pairs"] for c in pair], X, default=[])


class RatioStep(FrameStep):
    """``ratio``: ``<numerator>_div_<denominator>`` per pair (zero denominators → NaN, skipped or refused)."""

    def _plan(self, X: pd.DataFrame) -> Any:
        pairs = self.params["pairs"]
        _pairs_columns(self, X)
        self.pairs_ = []
        for num, den in pairs:
            if (X[den] == 0).any() and self.params["zero"] == "error":
                raise ValueError(f"denominator {shown(den)} has zeros (handleZero: error)")
            if (X[den] == 0).any() and self.params["zero"] == "skip":
                self._note(f"{clip(str(num))}/{clip(str(den))} skipped: the denominator has zeros")
                continue
            self.pairs_.append((num, den))
        if not pairs:
            self._note("no ratios listed (the UI has no picker): nothing added")
        names = [f"{num}_div_{den}" for num, den in self.pairs_]
        additions = [(f"ratio{i}", named(name, pair_op(np.divide), [num, den]), [num, den])
                     for i, (name, (num, den)) in enumerate(zip(names, self.pairs_, strict=True))]
        return adding(X, additions, names)


class DifferenceStep(FrameStep):
    """``difference``: ``<col1>_minus_<col2>`` per pair, optionally its absolute value."""

    def _plan(self, X: pd.DataFrame) -> Any:
        _pairs_columns(self, X)
        if not self.params["pairs"]:
            self._note("no differences listed (the UI has no picker): nothing added")
        additions: list[Addition] = []
        names: list[str] = []
        for i, (a, b) in enumerate(self.params["pairs"]):
            names.append(f"{a}_minus_{b}")
            additions.append((f"diff{i}", named(names[-1], pair_op(np.subtract), [a, b]), [a, b]))
            if self.params["absolute"]:
                names.append(f"abs_{a}_minus_{b}")
                additions.append((f"absdiff{i}", named(names[-1], pair_op(np.subtract, absolute=True), [a, b]),
                                  [a, b]))
        return adding(X, additions, names)


class SumStep(_NumericStep):
    """``sum``: the row sum of the selected columns (and their mean when asked), missing values skipped."""

    def _plan(self, X: pd.DataFrame) -> Any:
        self.columns_ = self._numeric(X)
        if not self.columns_:
            return None
        name, k = self.params["name"], len(self.columns_)
        additions: list[Addition] = [("sum", named(name, row_sum(k), self.columns_), self.columns_)]
        names = [name]
        if self.params["average"]:
            names.append(f"{name}_avg")
            additions.append(("mean", named(names[-1], row_mean(k), self.columns_), self.columns_))
        return adding(X, additions, names)


class BinningStep(_NumericStep):
    """``binning_*``: equal-width, equal-frequency or custom-quantile bins learned on training rows.

    Bin ``i`` holds ``edges[i-1] <= x < edges[i]`` (``pandas.cut``); a missing value has no bin.
    """

    def _plan(self, X: pd.DataFrame) -> Any:
        self.columns_ = self._numeric(X)
        self.edges_: dict[str, np.ndarray] = {}
        for col in self.columns_:
            clean = X[col].astype(float).replace([np.inf, -np.inf], np.nan).dropna().to_numpy()
            if clean.size == 0:
                continue
            if self.params["strategy"] == "custom":
                inner = np.quantile(clean, self.params["quantiles"])
            else:
                kb = KBinsDiscretizer(n_bins=self.params["bins"], encode="ordinal", strategy=self.params["strategy"],
                                      quantile_method="averaged_inverted_cdf" if self.params["strategy"] == "quantile"
                                      else "linear")
                kb.fit(clean.reshape(-1, 1))
                inner = kb.bin_edges_[0][1:-1]
            self.edges_[col] = np.unique(inner)
        self._note(f"{self.params['strategy']} binning of {len(self.edges_)} column(s) ({self.params['encoding']})")
        additions: list[Addition] = []
        names: list[str] = []
        for i, (col, edges) in enumerate(self.edges_.items()):
            bins = [-np.inf, *map(float, edges), np.inf]
            if self.params["encoding"] == "onehot":
                labels = [f"bin_{b}" for b in range(len(edges) + 1)]
                cut = fn(pd.DataFrame.apply, func=pd.cut, bins=bins, labels=labels, right=False)
                encode = OneHotEncoder(categories=[labels], handle_unknown="ignore", sparse_output=False,
                                       dtype=np.float64)
                additions.append((f"bin{i}", frame_columns([("f", as_frame(Pipeline([("cut", cut), ("onehot", encode)])),
                                                                 [col])]), [col]))
                names += [f"{col}_{label}" for label in labels]
            else:
                cut = fn(pd.DataFrame.apply, func=pd.cut, bins=bins, labels=False, right=False)
                additions.append((f"bin{i}", named(f"{col}_bin", Pipeline([("cut", cut),
                                                                           ("float", fn(pd.DataFrame.astype,
                                                                                        dtype="float64"))]),
                                                   [col]), [col]))
                names.append(f"{col}_bin")
        drop = () if self.params["keep_original"] else tuple(self.edges_)
        return adding(X, additions, names, drop)
