"""The :class:`Evaluation` bundle: everything metrics and plots need about one trained model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Evaluation"]


@dataclass
class Evaluation:
    """One fitted model and the data to score and draw it with.

    ``model`` is the fitted whole pipeline (learned preprocessing + estimator) made of library
    components only, the model returned to the user: it takes the raw feature frames
    ``X_train``/``X_test``. ``estimator`` is its last step and ``transform`` maps raw features to
    what the estimator sees, whose column names are ``feature_names``. ``refit`` is the engine's
    own pipeline of the same fit: cloned and fitted again (learning curves), it learns every
    preprocessing choice anew from the rows it is given.
    Classification targets are encoded as ints 0..k-1; ``class_names[i]`` is the label of class i.
    For clustering ``y_*`` are None and ``cluster_labels`` holds the labels of ``X_test`` rows.
    """

    problem_type: str
    """"classification", "regression" or "clustering"."""
    algorithm: str
    """Registry slug, e.g. "random_forest"."""
    algorithm_name: str
    model: Any
    estimator: Any
    transform: Callable[[pd.DataFrame], Any]
    feature_names: list[str]
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: np.ndarray | None = None
    y_test: np.ndarray | None = None
    y_pred: np.ndarray | None = None
    """Predictions on ``X_test`` (encoded ints for classification)."""
    y_score: np.ndarray | None = None
    """``predict_proba`` (n, k) on ``X_test``, else ``decision_function``, else None."""
    score_kind: str | None = None
    """"proba", "decision" or None: what ``y_score`` holds."""
    class_names: list[str] | None = None
    cluster_labels: np.ndarray | None = None
    threads: int = 1
    seed: int = 42
    refit: Any = None
    """The engine's pipeline (its steps plan the preprocessing anew when fitted); None = ``model``."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Room for step-specific data (e.g. CV fold scores) without changing this class."""
