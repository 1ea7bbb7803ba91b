"""Training: the train/test split, the fitted pipeline, cross-validation folds and their Evaluations."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.naive_bayes import ComplementNB, MultinomialNB
from sklearn.pipeline import Pipeline
from threadpoolctl import ThreadpoolController

from executor.algorithms import AlgorithmSpec, BuiltModel, inner_estimator
from executor.echo import clip, listing, tag
from executor.errors import ExecutionError, InvalidWorkflowError, WorkflowError
from executor.evaluation import Evaluation
from executor.preprocess import export_pipeline
from executor.progress import Progress
from executor.schema import SplitConfig

__all__ = [
    "DEFAULT_CV_FOLDS",
    "DEFAULT_SEED",
    "DEFAULT_TEST_SIZE",
    "SplitResult",
    "Trained",
    "check_counts",
    "evaluate_fitted",
    "parallel",
    "split_rows",
    "test_fraction",
    "train_model",
    "trial_count",
]

DEFAULT_TEST_SIZE = 0.2
"""Test share when the split node omits it, or when there is no split node (contract §2.2)."""
DEFAULT_SEED = 42
"""Seed when the split node omits it (0 is a valid seed)."""
DEFAULT_CV_FOLDS = 5
"""Folds when ``cvFolds`` is absent (the UI default)."""
DEFAULT_TRIALS = 50
"""Search trials when ``optuna_trials`` is absent (the backend schema's default)."""


_pools: ThreadpoolController | None = None
"""The BLAS/OpenMP libraries of this process, found once: ``threadpool_limits()`` rescans them on
every call (~6 ms each, several times per model). Libraries loaded later still start capped: the
sandbox sets their thread variables (OMP_NUM_THREADS, ...) in every job's environment."""


@contextlib.contextmanager
def parallel(threads: int) -> Iterator[None]:
    """All joblib work on ``threads`` threads (never loky processes), BLAS/OpenMP pools capped the same."""
    global _pools
    if _pools is None:
        _pools = ThreadpoolController()
    with joblib.parallel_config(backend="threading", n_jobs=threads), _pools.limit(limits=threads):
        yield


def test_fraction(raw: float | None) -> float:
    """``test_size`` as a fraction: None → default, a value above 1 is a percent."""
    if raw is None:
        return DEFAULT_TEST_SIZE
    return raw / 100.0 if raw > 1 else float(raw)


@dataclass
class SplitResult:
    """Row positions of the training and test sets, and the seed used."""

    train: np.ndarray
    test: np.ndarray
    seed: int
    notes: list[str] = field(default_factory=list)


def split_rows(y: np.ndarray | None, n_rows: int, cfg: SplitConfig | None, problem_type: str,
               *, node_id: str | None) -> SplitResult:
    """Split row positions as the split node says (or 0.2 / 42 when there is none)."""
    notes: list[str] = []
    index = np.arange(n_rows)
    if problem_type == "clustering":
        if cfg is not None:
            notes.append(f"{tag(node_id)} clustering uses every row; the split node is not applied")
        return SplitResult(index, np.array([], dtype=int), DEFAULT_SEED, notes)
    if cfg is None:
        notes.append(f"no split node: {DEFAULT_TEST_SIZE:.0%} of the rows are held out for testing"
                     f" (seed {DEFAULT_SEED})")
    size = test_fraction(cfg.test_size if cfg else None)
    seed = DEFAULT_SEED if cfg is None or cfg.random_seed is None else int(cfg.random_seed)
    shuffle = True if cfg is None or cfg.shuffle is None else bool(cfg.shuffle)
    stratify = bool(cfg and cfg.stratify)
    n_test = int(np.ceil(size * n_rows))
    if n_test < 1 or n_rows - n_test < 2:
        raise ExecutionError(f"{n_rows} row(s) cannot be split with test_size {size:g}: the training set needs at"
                             " least 2 rows and the test set 1", node_id=node_id, field="test_size", value=size)
    strat = None
    if stratify and problem_type != "classification":
        notes.append(f"{tag(node_id)} stratify applies to classification only; ignored for {problem_type}")
    elif stratify and not shuffle:
        notes.append(f"{tag(node_id)} stratify needs shuffle; the split is not stratified")
    elif stratify:
        strat = y
    try:
        train, test = train_test_split(index, test_size=size, random_state=seed, shuffle=shuffle, stratify=strat)
    except ValueError as exc:
        if strat is None:
            raise ExecutionError(f"the split failed: {exc}", node_id=node_id, field="test_size") from exc
        notes.append(f"{tag(node_id)} stratified split impossible ({exc}); split without stratification")
        train, test = train_test_split(index, test_size=size, random_state=seed, shuffle=shuffle)
    return SplitResult(np.asarray(train), np.asarray(test), seed, notes)


@dataclass
class Trained:
    """One model node's outcome: the holdout Evaluation, CV fold Evaluations, and timings."""

    node_id: str
    spec: AlgorithmSpec
    built: BuiltModel
    evaluation: Evaluation
    folds: list[Evaluation] = field(default_factory=list)
    mode: str = "single"
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    search: dict[str, Any] = field(default_factory=dict)


def evaluate_fitted(model: Pipeline, spec: AlgorithmSpec, problem_type: str, X_train: pd.DataFrame,
                    X_test: pd.DataFrame, y_train: np.ndarray | None, y_test: np.ndarray | None,
                    class_names: list[str] | None, threads: int, seed: int) -> Evaluation:
    """Predictions and scores of a fitted pipeline, bundled for metrics and plots.

    ``model`` is the engine's fitted pipeline (steps, then the estimator); the Evaluation's
    ``model`` is what is returned to the user, its library-only export (:func:`export_pipeline`),
    and every prediction is the estimator's on the test rows as the exported steps transform them.
    """
    estimator = model.steps[-1][1]
    prep = Pipeline(model.steps[:-1])
    with parallel(threads):
        X_seen = prep.transform(X_test)
    feature_names = [str(c) for c in X_seen.columns]
    ev = Evaluation(problem_type=problem_type, algorithm=spec.slug, algorithm_name=spec.name,
                    model=export_pipeline(model), estimator=estimator, transform=prep.transform,
                    feature_names=feature_names, X_train=X_train, X_test=X_test, y_train=y_train, y_test=y_test,
                    class_names=class_names, threads=threads, seed=seed, refit=model)
    with parallel(threads):
        ev.y_pred = np.asarray(estimator.predict(X_seen))
        if problem_type == "clustering":
            ev.cluster_labels = ev.y_pred
            return ev
        if problem_type == "classification":
            for kind, method in (("proba", "predict_proba"), ("decision", "decision_function")):
                if hasattr(estimator, method):
                    try:
                        ev.y_score, ev.score_kind = np.asarray(getattr(estimator, method)(X_seen)), kind
                        break
                    except (AttributeError, NotImplementedError):
                        continue
    return ev


def check_counts(estimator: Any, X: pd.DataFrame, *, node_id: str, label: str) -> None:
    """Multinomial and complement naive Bayes model counts: refuse negative features, naming them.

    The model is fitted on the features as they are, as scikit-learn would; nothing rescales
    them (that would change what the model computes).
    """
    model = inner_estimator(estimator)
    if not isinstance(model, (MultinomialNB, ComplementNB)):
        return
    values = X.to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lowest = np.nanmin(values, axis=0) if len(values) else np.zeros(values.shape[1])
    bad = [(str(X.columns[i]), float(lowest[i])) for i in np.flatnonzero(lowest < 0)]
    if not bad:
        return
    variant = "multinomial" if isinstance(model, MultinomialNB) else "complement"
    shown_cols = listing(f"{clip(name)} (min {low:.3g})" for name, low in bad)
    raise ExecutionError(
        f"{variant} naive Bayes models counts and needs non-negative features, as scikit-learn does;"
        f" {len(bad)} feature(s) are negative after preprocessing: {shown_cols}. Remove the scaling that"
        " centres them (standard or robust scaling) or choose the gaussian or bernoulli variant",
        node_id=node_id, field="hyperparameters.variant", value=variant, label=label,
        details={"reason": "negative_features", "columns": [clip(name) for name, _ in bad[:20]]})


def _fit(steps: list[tuple[str, Any]], estimator: Any, X: pd.DataFrame, y: np.ndarray | None,
         threads: int, node_id: str, label: str, notes: list[str] | None = None) -> Pipeline:
    prep = Pipeline([(name, clone(step)) for name, step in steps])
    model = clone(estimator)
    try:
        with parallel(threads), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            X_seen = prep.fit_transform(X, y)
            check_counts(model, X_seen, node_id=node_id, label=label)
            model.fit(X_seen, y)
        for w in caught:
            if issubclass(w.category, ConvergenceWarning) and notes is not None:
                text = f"{tag(node_id)} {label} did not converge: {str(w.message).splitlines()[0]}"
                if text not in notes:
                    notes.append(text)
    except (WorkflowError, MemoryError, OSError):
        raise
    except Exception as exc:
        raise ExecutionError(f"training failed: {type(exc).__name__}: {exc}", node_id=node_id, field="algorithm",
                             label=label) from exc
    return Pipeline([*prep.steps, ("model", model)])


def _folds(y: np.ndarray | None, k: int, problem_type: str, seed: int, node_id: str,
           notes: list[str]) -> Any:
    if problem_type == "classification" and y is not None:
        smallest = int(np.bincount(y).min()) if len(y) else 0
        if smallest < k:
            if smallest < 2:
                notes.append(f"{tag(node_id)} a class has fewer than 2 rows: cross-validation folds are not stratified")
                return KFold(n_splits=k, shuffle=True, random_state=seed)
            notes.append(f"{tag(node_id)} cvFolds={k} is more than the smallest class ({smallest} rows); using {smallest}")
            k = smallest
        return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return KFold(n_splits=k, shuffle=True, random_state=seed)


def trial_count(cfg: Any, limits: Any) -> int:
    """Search trials a model node asks for, capped by ``[search] max_trials``."""
    return int(min(cfg.optuna_trials or DEFAULT_TRIALS, limits.search.max_trials))


def train_model(*, node_id: str, spec: AlgorithmSpec, built: BuiltModel, steps: list[tuple[str, Any]],
                problem_type: str, X: pd.DataFrame, y: np.ndarray | None, split: SplitResult,
                class_names: list[str] | None, threads: int, cv_folds: int | None,
                progress: Progress | None = None) -> Trained:
    """Fit on the training rows (and on each CV fold when ``cv_folds`` is set).

    ``progress`` gets "fold i of k" as each fold starts, then the final fit.
    """
    progress = progress or Progress.silent()
    notes: list[str] = []
    started = time.perf_counter()
    folds: list[Evaluation] = []
    mode = "single"
    if cv_folds is not None:
        if problem_type == "clustering":
            notes.append(f"{tag(node_id)} cross-validation does not apply to clustering; trained once on every row")
        else:
            if cv_folds < 2 or cv_folds > len(X):
                raise InvalidWorkflowError(f"cvFolds must be between 2 and the {len(X)} rows. Got {cv_folds}.",
                                           node_id=node_id, field="cvFolds", value=cv_folds, label=spec.name)
            splitter = _folds(y, cv_folds, problem_type, split.seed, node_id, notes)
            k = splitter.get_n_splits()
            folds_part = progress.part(0, k / (k + 1))
            for i, (tr, te) in enumerate(splitter.split(X, y), start=1):
                folds_part.step(i, k, "fold")
                m = _fit(steps, built.estimator, X.iloc[tr], y[tr] if y is not None else None, threads, node_id,
                         spec.name)
                folds.append(evaluate_fitted(m, spec, problem_type, X.iloc[tr], X.iloc[te],
                                             y[tr] if y is not None else None, y[te] if y is not None else None,
                                             class_names, threads, split.seed))
            mode = "cross_validation"
            progress.say("fit on the training rows", k / (k + 1))
    X_train = X.iloc[split.train]
    X_test = X.iloc[split.test] if len(split.test) else X_train
    y_train = y[split.train] if y is not None else None
    y_test = y[split.test] if y is not None and len(split.test) else None
    model = _fit(steps, built.estimator, X_train, y_train, threads, node_id, spec.name, notes)
    seconds = time.perf_counter() - started
    ev = evaluate_fitted(model, spec, problem_type, X_train, X_test, y_train, y_test, class_names, threads,
                         split.seed)
    return Trained(node_id, spec, built, ev, folds, mode, seconds, notes)
