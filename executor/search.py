"""Hyperparameter search (``use_optuna``): an Optuna study over a declared space, inside a time budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from executor.algorithms import ResourceCaps
from executor.echo import shown, tag
from executor.errors import InvalidWorkflowError, WorkflowError
from executor.limits import EngineLimits
from executor.metrics import METRICS, canonical_metric
from executor.progress import Progress
from executor.schema import ModelConfig
from executor.training import DEFAULT_TRIALS, SplitResult, evaluate_fitted, parallel, trial_count

__all__ = ["DEFAULT_TRIALS", "LOWER_IS_BETTER", "SEARCH_SPACES", "VALIDATION_SHARE", "run_search"]

VALIDATION_SHARE = 0.25
"""Share of the training rows each trial is scored on; the test rows are never seen by the search."""
LOWER_IS_BETTER = frozenset({"mse", "rmse", "mae", "mape", "log_loss", "davies_bouldin_index", "inertia"})
_DEFAULT_METRIC = {"classification": "accuracy", "regression": "r2", "clustering": "silhouette_score"}

Space = Callable[[Any, str], dict[str, Any]]


def _lr(t: Any, pt: str) -> dict[str, Any]:
    return {"C": t.suggest_float("C", 1e-3, 100, log=True), "penalty": "l2", "solver": "lbfgs"}


def _linreg(t: Any, pt: str) -> dict[str, Any]:
    return {"regularization": t.suggest_categorical("regularization", ["none", "ridge", "lasso", "elasticnet"]),
            "alpha": t.suggest_float("alpha", 1e-4, 100, log=True)}


def _dt(t: Any, pt: str) -> dict[str, Any]:
    out = {"max_depth": t.suggest_int("max_depth", 1, 30), "min_samples_split": t.suggest_int("min_samples_split", 2, 50),
           "min_samples_leaf": t.suggest_int("min_samples_leaf", 1, 20), "max_leaf_nodes": None}
    if pt == "classification":
        out["criterion"] = t.suggest_categorical("criterion", ["gini", "entropy"])
    return out


def _rf(t: Any, pt: str) -> dict[str, Any]:
    return {"n_estimators": t.suggest_int("n_estimators", 10, 300, step=10), "max_depth": t.suggest_int("max_depth", 2, 30),
            "min_samples_split": t.suggest_int("min_samples_split", 2, 20),
            "min_samples_leaf": t.suggest_int("min_samples_leaf", 1, 20),
            "max_features": t.suggest_categorical("max_features", ["sqrt", "log2"])}


def _xgb(t: Any, pt: str) -> dict[str, Any]:
    return {"n_estimators": t.suggest_int("n_estimators", 10, 300, step=10), "max_depth": t.suggest_int("max_depth", 1, 12),
            "learning_rate": t.suggest_float("learning_rate", 0.01, 1.0, log=True),
            "subsample": t.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": t.suggest_float("colsample_bytree", 0.5, 1.0),
            "min_child_weight": t.suggest_int("min_child_weight", 1, 20)}


def _knn(t: Any, pt: str) -> dict[str, Any]:
    return {"n_neighbors": t.suggest_int("n_neighbors", 1, 50),
            "weights": t.suggest_categorical("weights", ["uniform", "distance"]), "p": t.suggest_int("p", 1, 2)}


def _nb(t: Any, pt: str) -> dict[str, Any]:
    return {"variant": "gaussian", "var_smoothing": t.suggest_float("var_smoothing", 1e-12, 1e-3, log=True)}


def _svm(t: Any, pt: str) -> dict[str, Any]:
    return {"C": t.suggest_float("C", 1e-3, 100, log=True),
            "kernel": t.suggest_categorical("kernel", ["rbf", "linear", "poly", "sigmoid"]),
            "gamma": t.suggest_categorical("gamma", ["scale", "auto"])}


def _nn(t: Any, pt: str) -> dict[str, Any]:
    return {"hidden_layer_sizes": t.suggest_categorical("hidden_layer_sizes", ["(50,)", "(100,)", "(100, 50)",
                                                                              "(128, 64, 32)"]),
            "activation": t.suggest_categorical("activation", ["relu", "tanh", "logistic"]),
            "alpha": t.suggest_float("alpha", 1e-6, 1.0, log=True),
            "learning_rate_init": t.suggest_float("learning_rate_init", 1e-4, 1e-1, log=True)}


def _kmeans(t: Any, pt: str) -> dict[str, Any]:
    return {"n_clusters": t.suggest_int("n_clusters", 2, 20), "init": t.suggest_categorical("init", ["k-means++", "random"])}


SEARCH_SPACES: dict[str, Space] = {
    "logistic_regression": _lr, "linear_regression": _linreg, "decision_tree": _dt, "random_forest": _rf,
    "xgboost": _xgb, "knn": _knn, "naive_bayes": _nb, "svm": _svm, "neural_network": _nn, "kmeans": _kmeans,
}
"""Per-algorithm search spaces (the frontend's slider ranges); params not searched keep the node's values."""


def _metric(cfg: ModelConfig, problem_type: str, notes: list[str], model_id: str) -> str:
    default = _DEFAULT_METRIC[problem_type]
    if not cfg.optuna_metric:
        return default
    key = canonical_metric(cfg.optuna_metric)
    spec = METRICS.get(key)
    if spec is None or spec.problem_type != problem_type:
        notes.append(f"{tag(model_id)} optuna_metric {shown(cfg.optuna_metric)} does not apply to {problem_type};"
                     f" the search optimises {default}")
        return default
    return key


def run_search(*, spec: Any, cfg: ModelConfig, steps: list[tuple[str, Any]], prep: Any, split: SplitResult,
               limits: EngineLimits, ctx: Any, model_id: str,
               progress: Progress | None = None) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(best hyperparameters merged over the node's, search summary, warnings).

    ``progress`` gets "trial i of n" as each trial starts.
    """
    progress = progress or Progress.silent()
    import optuna

    from executor.metrics import compute_metrics

    notes: list[str] = []
    requested = cfg.optuna_trials or DEFAULT_TRIALS
    n_trials = trial_count(cfg, limits)
    if n_trials < requested:
        notes.append(f"{tag(model_id)} optuna_trials={requested} is above the worker's limit; {n_trials} trials at most"
                     " ([search] max_trials)")
    remaining = ctx.remaining_seconds()
    budget = None if remaining is None else limits.search.budget_fraction * remaining
    metric = _metric(cfg, prep.problem_type, notes, model_id)
    direction = "minimize" if metric in LOWER_IS_BETTER else "maximize"
    X, y = prep.X.iloc[split.train], None if prep.y is None else prep.y[split.train]
    if prep.problem_type == "clustering":
        tr = va = np.arange(len(X))
    else:
        strat = y if prep.problem_type == "classification" and np.bincount(y).min() >= 2 else None
        try:
            tr, va = train_test_split(np.arange(len(X)), test_size=VALIDATION_SHARE, random_state=split.seed,
                                      stratify=strat)
        except ValueError:
            tr, va = train_test_split(np.arange(len(X)), test_size=VALIDATION_SHARE, random_state=split.seed)
    X_tr, X_va = X.iloc[tr], X.iloc[va]
    y_tr = None if y is None else y[tr]
    y_va = None if y is None else y[va]
    prep_pipe = Pipeline([(n, clone(s)) for n, s in steps])
    with parallel(ctx.threads):
        Xt_tr = prep_pipe.fit_transform(X_tr, y_tr)
    base = dict(cfg.hyperparameters or {})
    space = SEARCH_SPACES[spec.slug]
    started = time.monotonic()

    def objective(trial: Any) -> float:
        progress.step(trial.number + 1, n_trials, "trial")
        params = {**base, **space(trial, prep.problem_type)}
        try:
            built = spec.build(prep.problem_type, params, threads=ctx.threads, n_samples=len(tr),
                               n_features=Xt_tr.shape[1], n_classes=len(prep.class_names) if prep.class_names else None,
                               seed_default=split.seed, node_id=model_id,
                               caps=ResourceCaps.from_limits(limits.model))
            with parallel(ctx.threads):
                est = clone(built.estimator).fit(Xt_tr, y_tr)
            model = Pipeline([*prep_pipe.steps, ("model", est)])
            ev = evaluate_fitted(model, spec, prep.problem_type, X_tr, X_va, y_tr, y_va, prep.class_names,
                                 ctx.threads, split.seed)
            values, _ = compute_metrics([metric], ev)
        except (MemoryError, OSError):
            raise
        except (InvalidWorkflowError, WorkflowError, ValueError, ArithmeticError) as exc:
            raise optuna.TrialPruned(str(exc)) from exc
        value = next((m["value"] for m in values if m["key"] == metric), None)
        if value is None:
            raise optuna.TrialPruned(f"{metric} could not be computed")
        return float(value)

    def stop_in_time(study: Any, trial: Any) -> None:
        done = len(study.trials)
        elapsed = time.monotonic() - started
        # stop before a trial that would likely end past the budget (trials are not interrupted)
        if budget is not None and elapsed + elapsed / max(done, 1) > budget:
            study.stop()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=split.seed))
    study.optimize(objective, n_trials=n_trials, timeout=budget, callbacks=[stop_in_time], catch=())
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        notes.append(f"{tag(model_id)} no search trial completed; the node's own hyperparameters are used")
        return base, {"trials": 0, "trialsRequested": requested, "metric": metric}, notes
    best = {**base, **space(optuna.trial.FixedTrial(study.best_params), prep.problem_type)}
    elapsed = time.monotonic() - started
    summary = {"trials": len(study.trials), "trialsCompleted": len(complete), "trialsRequested": requested,
               "metric": metric, "direction": direction, "bestValue": float(study.best_value),
               "bestParams": study.best_params, "seconds": round(elapsed, 3),
               "budgetSeconds": None if budget is None else round(budget, 3),
               "stoppedBy": "trials" if len(study.trials) >= n_trials else "time"}
    notes.append(f"{tag(model_id)} Optuna ran {len(study.trials)} trial(s) in {elapsed:.1f}s optimising {metric} on a"
                 f" {VALIDATION_SHARE:.0%} validation share of the training rows; the best parameters are used")
    return best, summary, notes
