"""The result the platform reads (contract §6): camelCase fields, a capped joblib model, nothing non-finite."""

from __future__ import annotations

import base64
import json
import math
import pickle
import zlib
from typing import Any

import numpy as np

from executor.training import Trained

__all__ = ["MODEL_FILE", "encode_model", "envelope_json", "finite", "model_result", "model_usage", "to_json"]

MODEL_FILE = "model.joblib"
"""The file name the usage snippet loads (the platform serves the model under its own name)."""
_LIBRARIES = ("joblib", "numpy", "pandas", "sklearn", "xgboost")

_MB = 1 << 20
_COMPRESS = 3
"""zlib level: most of the size gain of 9 at a fraction of the time."""


def encode_model(model: Any, *, max_mb: int, budget_mb: float | None = None) -> tuple[str | None, int, str | None]:
    """(base64 of a zlib-compressed joblib model file made in memory, its size in bytes, warning).

    The file is what ``joblib.dump(model, f, compress=("zlib", 3))`` writes, a zlib stream of the
    model's pickle, except that the pickle comes from the C pickler (``joblib.dump`` pickles in
    pure Python: 8x slower for a 100-tree forest, same size). ``joblib.load`` reads it (it
    detects zlib by its header), and so does ``pickle.loads(zlib.decompress(...))``.
    ``max_mb`` is ``[output] max_model_mb`` (0 = never return the model); ``budget_mb`` is what is
    left of it when several models share one result.
    """
    if max_mb <= 0:
        return None, 0, "the trained model is not returned ([output] max_model_mb = 0)"
    data = zlib.compress(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL), _COMPRESS)
    size = len(data)
    cap = max_mb if budget_mb is None else min(max_mb, budget_mb)
    if size > cap * _MB:
        return None, size, (f"the trained model is {size / _MB:.1f} MB compressed, above the {cap:g} MB cap"
                            " ([output] max_model_mb); model_base64 is omitted")
    return base64.b64encode(data).decode("ascii"), size, None


def finite(value: Any, warnings: list[str], where: str) -> Any:
    """``value`` as JSON-able data with every non-finite float replaced by None (and a warning)."""
    if isinstance(value, dict):
        return {str(k): finite(v, warnings, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v, warnings, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return finite(value.tolist(), warnings, where)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            warnings.append(f"{where} was not a finite number ({value}); replaced by null")
            return None
        return float(value)
    return value


def _clean_metrics(metrics: list[dict[str, Any]], warnings: list[str]) -> list[dict[str, Any]]:
    out, seen = [], set()
    for m in metrics:
        value = m.get("value")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(float(value)):
            warnings.append(f"metric {m.get('key')!r} has no finite value ({value!r}) and is omitted")
            continue
        if m["key"] in seen:
            continue
        seen.add(m["key"])
        out.append(m)
    return out


def _versions(uses_xgboost: bool) -> dict[str, str]:
    """Versions of the libraries the model file needs (it loads best with the same ones)."""
    import sys

    names = {"sklearn": "scikit-learn"}
    out = {}
    for module in _LIBRARIES:
        if module == "xgboost" and not uses_xgboost:
            continue
        version = getattr(sys.modules.get(module), "__version__", None)
        if version is not None:
            out[names.get(module, module)] = str(version)
    return out


def model_usage(trained: Trained) -> dict[str, Any]:
    """What a person needs to use the model file: its input columns and dtypes, and how to load it.

    ``columns`` are the raw columns the pipeline reads (the dataset's columns after the row and
    column filters, the target left out), in order; ``snippet`` loads the file and predicts.
    """
    ev = trained.evaluation
    columns = [{"name": str(c), "dtype": str(ev.X_train[c].dtype)} for c in ev.X_train.columns]
    predicts = {"classification": "class indices: classes[i] is the label of index i",
                "regression": "the target value", "clustering": "cluster ids"}[ev.problem_type]
    snippet = ("import joblib, pandas as pd\n"
               f'model = joblib.load("{MODEL_FILE}"); print(model.predict(pd.read_csv("new_rows.csv")))')
    usage: dict[str, Any] = {
        "columns": columns,
        "snippet": snippet,
        "predicts": predicts,
        "classes": list(ev.class_names) if ev.class_names is not None else None,
        "probabilities": hasattr(ev.model, "predict_proba") and ev.score_kind == "proba",
        "libraries": _versions(ev.algorithm == "xgboost"),
        "notes": ["The file holds scikit-learn, XGBoost, numpy and pandas objects only: it loads with joblib"
                  " where those libraries are installed (the versions listed are the ones it was made with).",
                  "It takes the raw columns listed (extra columns are ignored) and applies every learned"
                  " preprocessing step itself; row filters (duplicates, outliers, missing rows) ran on the"
                  " training data only."],
    }
    return usage


def model_result(trained: Trained, *, metrics: list[dict[str, Any]], plots: list[dict[str, Any]],
                 model_base64: str | None, warnings: list[str]) -> dict[str, Any]:
    """One trained model's fields, exactly as contract §6.1 names them."""
    ev = trained.evaluation
    test_rows = 0 if ev.problem_type == "clustering" else len(ev.X_test)
    result: dict[str, Any] = {
        "nodeId": trained.node_id,
        "algorithm": trained.spec.slug,
        "algorithmName": trained.spec.name,
        "problemType": ev.problem_type,
        "trainingMode": trained.mode,
        "trainingTimeSeconds": round(float(trained.seconds), 4),
        "hyperparameters": finite(trained.built.params, warnings, "hyperparameters"),
        "metrics": _clean_metrics(metrics, warnings),
        "plots": plots,
        "trainSamples": int(len(ev.X_train)),
        "testSamples": int(test_rows),
        "featuresCount": int(len(ev.feature_names)),
        "creditsUsed": 0,
        "model_base64": model_base64,
        "model_path": None,
        "modelUsage": model_usage(trained) if model_base64 is not None else None,
    }
    if trained.search:
        result["search"] = finite(trained.search, warnings, "search")
    return result


def to_json(envelope: dict[str, Any]) -> str:
    """The exact JSON text the API returns (strict JSON: no NaN/Infinity tokens)."""
    return json.dumps(envelope, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def envelope_json(envelope: dict[str, Any]) -> str:
    """:func:`to_json` after replacing any non-finite number with null (a last line of defence)."""
    try:
        return to_json(envelope)
    except ValueError:
        notes: list[str] = []
        clean = finite(envelope, notes, "result")
        if isinstance(clean.get("results"), dict):
            clean["results"].setdefault("warnings", []).extend(notes)
        return to_json(clean)
