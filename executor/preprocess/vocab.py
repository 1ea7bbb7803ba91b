"""The three preprocessing vocabularies (frontend, backend registry, feature engineering) → one canonical op."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from executor.echo import listing, shown, too_long

__all__ = ["OP_TYPES", "CanonicalOp", "OpParamError", "normalise_op"]

ROW_KINDS = frozenset({"duplicates", "outliers_remove", "drop_missing_rows", "drop_missing_columns", "drop_columns"})
"""Kinds that remove rows or columns; they run on the whole dataset before the split."""


class OpParamError(ValueError):
    """A param that cannot be used: ``field`` names it inside the op; ``hint`` says what is valid."""

    def __init__(self, field: str, message: str, value: Any = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.hint = hint


@dataclass(frozen=True)
class CanonicalOp:
    """One op in engine terms: a kind, its normalised params, and where it came from."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    """The op type's registry key, e.g. ``scale_minmax`` (sent as ``Scale_MinMax `` or so)."""

    @property
    def before_split(self) -> bool:
        return self.kind in ROW_KINDS


_COLUMN_KEYS = frozenset({"columns", "column"})
"""Params that hold column names: matched against the data as they are, never parsed, so not length-capped."""


def _get(params: dict[str, Any], *names: str, default: Any = None) -> Any:
    """The first of ``names`` set in ``params``; a string longer than ``[request] max_param_chars`` is refused."""
    for name in names:
        value = params.get(name)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            if isinstance(value, str) and name not in _COLUMN_KEYS:
                reason = too_long(value, name)
                if reason is not None:
                    raise OpParamError(name, reason, value)
            return value
    return default


def _num(params: dict[str, Any], names: tuple[str, ...], default: float, low: float | None = None,
         high: float | None = None) -> float:
    raw = _get(params, *names, default=default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise OpParamError(names[0], f"must be a number. Got {shown(raw)} instead.", raw) from None
    if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        rng = f"between {low} and {high}" if high is not None else f">= {low}"
        raise OpParamError(names[0], f"must be {rng}. Got {shown(raw)} instead.", raw)
    return value


def _choice(params: dict[str, Any], names: tuple[str, ...], default: str, options: tuple[str, ...]) -> str:
    raw = _get(params, *names, default=default)
    value = str(raw).strip().lower() if isinstance(raw, str) else raw
    if value not in options:
        raise OpParamError(names[0], f"must be one of {', '.join(options)}. Got {shown(raw)} instead.", raw)
    return str(value)


def _flag(params: dict[str, Any], names: tuple[str, ...], default: bool) -> bool:
    raw = _get(params, *names, default=default)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise OpParamError(names[0], f"must be true or false. Got {shown(raw)} instead.", raw)


def _cols(params: dict[str, Any], default: Any = None) -> Any:
    raw = _get(params, "columns", "column", default=default)
    if raw is None or isinstance(raw, str) or (isinstance(raw, list) and all(isinstance(c, str) for c in raw)):
        return raw
    raise OpParamError("columns", f"must be all_numeric, all_categorical, all or a list of column names."
                       f" Got {shown(raw)} instead.", raw)


_STRATEGY = {"mean": "mean", "median": "median", "mode": "most_frequent", "most_frequent": "most_frequent",
             "constant": "constant"}


def _fill(strategy: str | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(p: dict[str, Any]) -> dict[str, Any]:
        chosen = strategy or _choice(p, ("strategy",), "mean", tuple(_STRATEGY))
        return {"strategy": _STRATEGY[chosen], "columns": _cols(p),
                "fill_value": _get(p, "constantValue", "constant_value", "fill_value", "fillValue", default=0)}
    return build


def _scale(method: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(p: dict[str, Any]) -> dict[str, Any]:
        out = {"method": method, "columns": _cols(p, "all_numeric")}
        if method == "standard":
            out |= {"with_mean": _flag(p, ("withMean", "with_mean"), True),
                    "with_std": _flag(p, ("withStd", "with_std"), True)}
        if method == "minmax":
            low = _num(p, ("rangeMin", "range_min", "feature_range_min"), 0.0)
            high = _num(p, ("rangeMax", "range_max", "feature_range_max"), 1.0)
            if high <= low:
                raise OpParamError("rangeMax", f"must be above the range minimum {low}. Got {high} instead.", high)
            out["feature_range"] = (low, high)
        return out
    return build


def _onehot(p: dict[str, Any], drop_default: bool) -> dict[str, Any]:
    return {"columns": _cols(p, "all_categorical"),
            "drop_first": _flag(p, ("dropFirst", "drop_first"), drop_default),
            "handle_unknown": _choice(p, ("handleUnknown", "handle_unknown"), "ignore", ("error", "ignore"))}


def _outliers(method: str, names: tuple[str, ...], default: float, low: float, high: float,
              fixed_action: str | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(p: dict[str, Any]) -> dict[str, Any]:
        action = fixed_action or _choice(p, ("action",), "remove", ("remove", "clip"))
        return {"method": method, "threshold": _num(p, names, default, low, high), "action": action,
                "columns": _cols(p, "all_numeric")}
    return build


def _clip_pct(p: dict[str, Any]) -> dict[str, Any]:
    lo = _num(p, ("lower_percentile", "lowerPercentile"), 1.0, 0.0, 100.0)
    hi = _num(p, ("upper_percentile", "upperPercentile"), 99.0, 0.0, 100.0)
    if hi <= lo:
        raise OpParamError("upper_percentile", f"must be above lower_percentile {lo}. Got {hi} instead.", hi)
    return {"method": "percentile", "lower": lo, "upper": hi, "action": "clip", "columns": _cols(p, "all_numeric")}


def _math(func: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(p: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"func": func, "columns": _cols(p, [])}
        if func == "log":
            out |= {"base": _choice(p, ("logType", "log_type"), "natural", ("natural", "log10", "log2", "log1p")),
                    "negative": _choice(p, ("handleNegative",), "skip", ("skip", "absolute", "error")),
                    "suffix": str(_get(p, "suffix", default="_log"))}
        elif func == "power":
            power = _choice(p, ("power",), "square", ("square", "cube", "sqrt", "custom"))
            exponent = {"square": 2.0, "cube": 3.0, "sqrt": 0.5}.get(power)
            if exponent is None:
                exponent = _num(p, ("customPower", "custom_power"), 2.0, -10.0, 10.0)
            out |= {"exponent": exponent, "negative": _choice(p, ("handleNegative",), "skip",
                                                              ("skip", "absolute", "error")),
                    "suffix": str(_get(p, "suffix", default=f"_pow{exponent:g}"))}
        elif func == "exp":
            out |= {"large": _choice(p, ("handleLarge",), "clip", ("clip", "allow", "error")),
                    "suffix": str(_get(p, "suffix", default="_exp"))}
        else:
            out |= {"zero": _choice(p, ("handleZero",), "nan", ("nan", "skip", "error")),
                    "add": _num(p, ("addConstant", "add_constant"), 0.0),
                    "suffix": str(_get(p, "suffix", default="_recip"))}
        return out
    return build


def _poly(interaction: bool) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(p: dict[str, Any]) -> dict[str, Any]:
        degree = int(_num(p, ("degree",), 2, 2, 3))
        if not interaction and _flag(p, ("includeX3",), False):
            degree = max(degree, 3)
        only = interaction and not _flag(p, ("includePolynomial",), False)
        return {"degree": degree, "interaction_only": only, "columns": _cols(p, []),
                "include_bias": _flag(p, ("includeBias",), False)}
    return build


def _pairs(key: str, first: str, second: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(p: dict[str, Any]) -> dict[str, Any]:
        raw = _get(p, key, default=[])
        if not isinstance(raw, list) or not all(isinstance(r, dict) and isinstance(r.get(first), str)
                                                and isinstance(r.get(second), str) for r in raw):
            raise OpParamError(key, f"must be a list of {{{first}, {second}}} column-name pairs. Got {shown(raw)}.", raw)
        out: dict[str, Any] = {"pairs": [(r[first], r[second]) for r in raw]}
        if key == "ratios":
            out["zero"] = _choice(p, ("handleZero",), "nan", ("nan", "skip", "error"))
        else:
            out["absolute"] = _flag(p, ("includeAbsolute",), False)
        return out
    return build


def _sum(p: dict[str, Any]) -> dict[str, Any]:
    return {"columns": _cols(p, []), "name": str(_get(p, "featureName", default="sum_selected")),
            "average": _flag(p, ("includeAverage",), False)}


def _binning(strategy: str, default_bins: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(p: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": strategy, "columns": _cols(p, None),
                               "encoding": _choice(p, ("encoding",), "ordinal", ("ordinal", "onehot")),
                               "keep_original": _flag(p, ("keepOriginal", "keep_original"), True)}
        if strategy == "custom":
            raw = _get(p, "quantiles", default=[0.25, 0.5, 0.75])
            if isinstance(raw, str):
                reason = too_long(raw, "quantiles")  # [request] max_param_chars, before any split
                if reason is not None:
                    raise OpParamError("quantiles", reason, raw)
                raw = [q for q in raw.replace(" ", "").split(",") if q]
            try:
                qs = sorted({float(q) for q in raw})
            except (TypeError, ValueError):
                raise OpParamError("quantiles", f"must be numbers between 0 and 1. Got {shown(raw)}.", raw) from None
            if not qs or any(not 0 < q < 1 for q in qs):
                raise OpParamError("quantiles", f"must be numbers strictly between 0 and 1. Got {shown(raw)}.", raw)
            out["quantiles"] = qs
        else:
            out["bins"] = int(_num(p, ("bins", "n_bins"), default_bins, 2, 20))
        return out
    return build


def _simple(**fixed: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda p: {**fixed, "columns": _cols(p, fixed.get("columns"))}


_OPS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    # A. frontend preprocessing vocabulary
    "fill_missing": ("impute", _fill(None)),
    "scale_standard": ("scale", _scale("standard")),
    "scale_minmax": ("scale", _scale("minmax")),
    "scale_robust": ("scale", _scale("robust")),
    "encode_onehot": ("onehot", lambda p: _onehot(p, True)),
    "encode_label": ("ordinal", _simple(columns="all_categorical")),
    "remove_duplicates": ("duplicates", lambda p: {"columns": _cols(p, "all"),
                                                   "keep": _choice(p, ("keep",), "first", ("first", "last"))}),
    "remove_outliers_iqr": ("outliers", _outliers("iqr", ("threshold",), 1.5, 0.0, 1e6)),
    "remove_outliers_zscore": ("outliers", _outliers("zscore", ("threshold",), 3.0, 0.0, 1e6)),
    "drop_columns": ("drop_columns", _simple(columns=[])),
    # B. backend registry slugs
    "fill_missing_mean": ("impute", _fill("mean")),
    "fill_missing_median": ("impute", _fill("median")),
    "fill_missing_mode": ("impute", _fill("mode")),
    "fill_missing_constant": ("impute", _fill("constant")),
    "drop_missing_rows": ("drop_missing_rows", lambda p: {"threshold": _num(p, ("threshold",), 0, 0, 100)}),
    "drop_missing_columns": ("drop_missing_columns", lambda p: {"threshold": _num(p, ("threshold",), 50, 0, 100)}),
    "standard_scaler": ("scale", _scale("standard")),
    "robust_scaler": ("scale", _scale("robust")),
    "maxabs_scaler": ("scale", _scale("maxabs")),
    "minmax_scaler": ("scale", _scale("minmax")),
    "onehot_encoder": ("onehot", lambda p: _onehot(p, False)),
    "label_encoder": ("ordinal", _simple(columns="all_categorical")),
    "outlier_iqr": ("outliers", _outliers("iqr", ("iqr_multiplier", "threshold"), 1.5, 0.0, 1e6, "remove")),
    "outlier_zscore": ("outliers", _outliers("zscore", ("z_threshold", "threshold"), 3.0, 0.0, 1e6, "remove")),
    "outlier_clip": ("outliers", _clip_pct),
    # C. frontend feature engineering
    "log_transform": ("math", _math("log")),
    "power_transform": ("math", _math("power")),
    "exponential_transform": ("math", _math("exp")),
    "reciprocal_transform": ("math", _math("reciprocal")),
    "polynomial": ("polynomial", _poly(False)),
    "interaction": ("polynomial", _poly(True)),
    "ratio": ("ratio", _pairs("ratios", "numerator", "denominator")),
    "difference": ("difference", _pairs("differences", "col1", "col2")),
    "sum": ("sum", _sum),
    "binning_width": ("binning", _binning("uniform", 5)),
    "binning_frequency": ("binning", _binning("quantile", 4)),
    "binning_quantile": ("binning", _binning("custom", 4)),
}

OP_TYPES = tuple(sorted(_OPS))
"""Every op type accepted, from all three vocabularies."""


def valid_ops_hint() -> str:
    """The list of valid op types, as an error says it once (cut to ``[request] max_problems`` names)."""
    return f"Valid operations: {listing(OP_TYPES)}"


def normalise_op(op_type: str, params: dict[str, Any]) -> CanonicalOp:
    """The canonical op for ``op_type``; raises OpParamError (field ``type`` or the param) when unusable.

    The op's ``source`` is the registry key (``op_type`` case- and space-folded), never the raw text.
    """
    key = op_type.strip().lower() if isinstance(op_type, str) else op_type
    entry = _OPS.get(key) if isinstance(key, str) else None
    if entry is None:
        raise OpParamError("type", f"unknown preprocessing operation {shown(op_type)}", op_type,
                           hint=valid_ops_hint())
    kind, build = entry
    out = build(params)
    if kind == "outliers" and out["action"] == "remove":
        kind = "outliers_remove"
    return CanonicalOp(kind, out, key)
