"""Feature-engineering steps (contract §2.3 C): transforms, polynomial terms, ratios, sums and binning."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.preprocessing import KBinsDiscretizer, PolynomialFeatures

from executor.echo import clip, shown
from executor.preprocess.base import FrameStep
from executor.preprocess.columns import numeric_columns, resolve_columns

__all__ = ["BinningStep", "DifferenceStep", "MathStep", "PolynomialStep", "RatioStep", "SumStep"]

EXP_CLIP = 1e10
"""Contract §2.3: ``exponential_transform`` with handleLarge=clip clips results at 1e10."""


class _NumericStep(FrameStep):
    def _numeric(self, X: pd.DataFrame, default: str | None = "all_numeric") -> list[str]:
        selector = self.params.get("columns")
        if selector in (None, [], "") and default == "all_numeric":
            self._note("no columns chosen (the UI has no picker): applied to every numeric feature")
        numeric = set(numeric_columns(X))
        return [c for c in resolve_columns(selector, X, exclude=self.target, default=default) if c in numeric]


class MathStep(_NumericStep):
    """log / power / exponential / reciprocal transforms, each adding ``<column><suffix>``."""

    def _fit(self, X: pd.DataFrame) -> None:
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

    def _invalid(self, x: pd.Series) -> pd.Series:
        func = self.params["func"]
        if func == "log":
            return x < -1 if self.params["base"] == "log1p" else x <= 0
        if func == "power":
            return x < 0 if self.params["exponent"] % 1 else pd.Series(False, index=x.index)
        if func == "reciprocal":
            return (x + self.params["add"]) == 0
        return np.exp(x.clip(upper=700)) > EXP_CLIP

    def _apply(self, x: pd.Series) -> pd.Series:
        p, func = self.params, self.params["func"]
        if p.get("negative") == "absolute":
            x = x.abs()
        with np.errstate(all="ignore"):
            if func == "log":
                fn = {"natural": np.log, "log10": np.log10, "log2": np.log2, "log1p": np.log1p}[p["base"]]
                out = fn(x)
            elif func == "power":
                out = np.power(x, p["exponent"])
            elif func == "reciprocal":
                out = 1.0 / (x + p["add"])
            else:
                out = np.exp(x)
                if p["large"] == "clip":
                    out = out.clip(upper=EXP_CLIP)
                elif p["large"] == "error" and (out > EXP_CLIP).any():
                    raise ValueError(f"exp of column {shown(x.name)} exceeds {EXP_CLIP:g} (handleLarge: error)")
        return out.replace([np.inf, -np.inf], np.nan)

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        for col in self.columns_:
            X[f"{col}{self.params['suffix']}"] = self._apply(X[col].astype(float))
        return X


class PolynomialStep(_NumericStep):
    """``polynomial`` / ``interaction``: higher-order and cross terms of the selected columns."""

    def _fit(self, X: pd.DataFrame) -> None:
        self.columns_ = self._numeric(X)
        self.poly_ = PolynomialFeatures(degree=self.params["degree"], interaction_only=self.params["interaction_only"],
                                        include_bias=self.params["include_bias"])
        if self.columns_:
            self.fill_ = X[self.columns_].astype(float).median().fillna(0.0).to_dict()
            self.poly_.fit(X[self.columns_].astype(float).fillna(self.fill_))
            names = self.poly_.get_feature_names_out([str(c) for c in self.columns_])
            self.keep_ = [i for i, n in enumerate(names) if n not in {str(c) for c in self.columns_}]
            self.names_ = [f"poly_{names[i]}" for i in self.keep_]
        self._note(f"degree-{self.params['degree']} terms of {len(self.columns_)} column(s)")

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not self.columns_:
            return X
        # missing values take the training median first: the terms need complete rows
        terms = self.poly_.transform(X[self.columns_].astype(float).fillna(self.fill_))[:, self.keep_]
        return pd.concat([X, pd.DataFrame(terms, columns=self.names_, index=X.index)], axis=1)


class RatioStep(FrameStep):
    """``ratio``: ``<numerator>_div_<denominator>`` per pair (zero denominators → NaN, skipped or refused)."""

    def _fit(self, X: pd.DataFrame) -> None:
        pairs = self.params["pairs"]
        resolve_columns([c for pair in pairs for c in pair], X, default=[])
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

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        for num, den in self.pairs_:
            d = X[den].astype(float).replace(0, np.nan)
            X[f"{num}_div_{den}"] = X[num].astype(float) / d
        return X


class DifferenceStep(FrameStep):
    """``difference``: ``<col1>_minus_<col2>`` per pair, optionally its absolute value."""

    def _fit(self, X: pd.DataFrame) -> None:
        resolve_columns([c for pair in self.params["pairs"] for c in pair], X, default=[])
        if not self.params["pairs"]:
            self._note("no differences listed (the UI has no picker): nothing added")

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        for a, b in self.params["pairs"]:
            diff = X[a].astype(float) - X[b].astype(float)
            X[f"{a}_minus_{b}"] = diff
            if self.params["absolute"]:
                X[f"abs_{a}_minus_{b}"] = diff.abs()
        return X


class SumStep(_NumericStep):
    """``sum``: the row sum of the selected columns (and their mean when asked)."""

    def _fit(self, X: pd.DataFrame) -> None:
        self.columns_ = self._numeric(X)

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not self.columns_:
            return X
        block = X[self.columns_].astype(float)
        X[self.params["name"]] = block.sum(axis=1)
        if self.params["average"]:
            X[f"{self.params['name']}_avg"] = block.mean(axis=1)
        return X


class BinningStep(_NumericStep):
    """``binning_*``: equal-width, equal-frequency or custom-quantile bins learned on training rows."""

    def _fit(self, X: pd.DataFrame) -> None:
        self.columns_ = self._numeric(X)
        self.edges_: dict[str, np.ndarray] = {}
        for col in self.columns_:
            clean = X[col].astype(float).dropna().to_numpy()
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

    def _transform(self, X: pd.DataFrame) -> pd.DataFrame:
        for col, edges in self.edges_.items():
            values = X[col].astype(float)
            binned = pd.Series(np.digitize(values, edges), index=X.index, dtype=float).where(values.notna())
            if self.params["encoding"] == "onehot":
                for b in range(len(edges) + 1):
                    X[f"{col}_bin_{b}"] = (binned == b).astype(float)
            else:
                X[f"{col}_bin"] = binned
            if not self.params["keep_original"]:
                X = X.drop(columns=[col])
        return X
