"""Test helper: a small fitted :class:`Evaluation` built the way the engine builds one."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from executor.algorithms import get_algorithm
from executor.evaluation import Evaluation

DATASETS = {
    "iris": datasets.load_iris,
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
    "wine": datasets.load_wine,
}
"""Bundled sample datasets (no network)."""

SUITABLE = {"classification": "iris", "regression": "diabetes", "clustering": "iris"}


def load(name: str, rows: int | None = None) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    bunch = DATASETS[name](as_frame=True)
    X, y = bunch.data, bunch.target.to_numpy()
    names = [str(n) for n in getattr(bunch, "target_names", [])]
    if rows is not None and rows < len(X):
        keep = np.random.default_rng(0).choice(len(X), size=rows, replace=False)
        X, y = X.iloc[np.sort(keep)].reset_index(drop=True), y[np.sort(keep)]
    return X, y, names


def make_evaluation(
    algorithm: str,
    problem_type: str,
    dataset: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    *,
    rows: int | None = None,
    seed: int = 42,
    threads: int = 1,
) -> Evaluation:
    """Split, scale, fit ``algorithm`` and fill an Evaluation as E1's engine does."""
    X, y, names = load(dataset or SUITABLE[problem_type], rows)
    if problem_type == "clustering":
        X_train, X_test = train_test_split(X, test_size=0.25, random_state=seed)
        y_train = y_test = None
    else:
        stratify = y if problem_type == "classification" else None
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=stratify)
    k = len(np.unique(y)) if problem_type == "classification" else None
    built = get_algorithm(algorithm).build(problem_type, hyperparameters, threads=threads, n_samples=len(X_train),
                                           n_features=X.shape[1], n_classes=k, seed_default=seed)
    model = Pipeline([("scale", StandardScaler().set_output(transform="pandas")), ("model", built.estimator)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train, y_train)
    estimator = model.steps[-1][1]
    ev = Evaluation(
        problem_type=problem_type, algorithm=algorithm, algorithm_name=get_algorithm(algorithm).name,
        model=model, estimator=estimator, transform=model[:-1].transform, feature_names=list(X.columns),
        X_train=X_train, X_test=X_test, y_train=y_train, y_test=y_test, threads=threads, seed=seed,
        class_names=names if problem_type == "classification" else None,
    )
    if problem_type == "clustering":
        ev.cluster_labels = model.predict(X_test)
        return ev
    ev.y_pred = model.predict(X_test)
    if problem_type == "classification":
        if hasattr(model, "predict_proba"):
            try:
                ev.y_score, ev.score_kind = model.predict_proba(X_test), "proba"
            except AttributeError:
                pass
        if ev.y_score is None and hasattr(model, "decision_function"):
            ev.y_score, ev.score_kind = model.decision_function(X_test), "decision"
    return ev
