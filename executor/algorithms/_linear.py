"""Linear and kernel models: logistic regression, linear regression (OLS/ridge/lasso/elastic net), SVM."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.svm import SVC, SVR

from executor.algorithms._base import AlgorithmSpec, BuildContext
from executor.params import Param

__all__ = ["LINEAR_SPECS"]

_SEED = Param("int", None, low=0, none_ok=True)
_CLASS_WEIGHT = Param("str", None, options=("balanced",), none_ok=True)
_SVC_CALIBRATION_FOLDS = 3
"""Folds of out-of-fold decision values behind SVM probabilities (libsvm used 5; 3 costs less)."""
_LOGREG_SOLVERS = ("lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga")


def _build_logistic_regression(p: dict[str, Any], ctx: BuildContext) -> Any:
    penalty, solver = p["penalty"], p["solver"]
    multiclass = (ctx.n_classes or 2) > 2
    fixed = solver
    if penalty == "l1" and solver not in ("liblinear", "saga"):
        fixed = "saga"
    elif penalty == "elasticnet" and solver != "saga":
        fixed = "saga"
    elif penalty is None and solver == "liblinear":
        fixed = "lbfgs"
    if fixed == "liblinear" and multiclass:
        # liblinear cannot fit a multinomial model in scikit-learn >= 1.8.
        fixed = "saga" if penalty == "l1" else "lbfgs"
    if fixed != solver:
        ctx.warn(f"solver {solver!r} cannot fit penalty {penalty or 'none'!r}"
                 f"{' with more than two classes' if multiclass and solver == 'liblinear' else ''};"
                 f" solver {fixed!r} is used instead")
        p["solver"] = fixed
    # `penalty` is deprecated since scikit-learn 1.8: express it through l1_ratio and C.
    l1_ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": p["l1_ratio"], None: 0.0}[penalty]
    C = np.inf if penalty is None else p["C"]
    if penalty != "elasticnet":
        del p["l1_ratio"]
    if penalty is None:
        del p["C"]
    ctx.cap(p, "max_iter", ctx.caps.max_iter, "iterations")
    return LogisticRegression(
        C=C, l1_ratio=l1_ratio, solver=p["solver"], max_iter=p["max_iter"], tol=p["tol"],
        class_weight=p["class_weight"], fit_intercept=p["fit_intercept"], random_state=p["random_state"],
    )


def _build_linear_regression(p: dict[str, Any], ctx: BuildContext) -> Any:
    kind = p["regularization"]
    ctx.cap(p, "max_iter", ctx.caps.max_iter, "iterations")
    if kind == "none":
        for key in ("alpha", "l1_ratio", "max_iter", "random_state"):
            del p[key]
        return LinearRegression(fit_intercept=p["fit_intercept"], n_jobs=ctx.threads)
    if kind != "elasticnet":
        del p["l1_ratio"]
    if kind == "ridge":
        del p["random_state"]
        return Ridge(alpha=p["alpha"], fit_intercept=p["fit_intercept"], max_iter=p["max_iter"])
    common = dict(alpha=p["alpha"], fit_intercept=p["fit_intercept"], max_iter=p["max_iter"],
                  random_state=p["random_state"])
    if kind == "lasso":
        return Lasso(**common)
    return ElasticNet(l1_ratio=p["l1_ratio"], **common)


def _build_svm(p: dict[str, Any], ctx: BuildContext) -> Any:
    if p["kernel"] != "poly":
        del p["degree"]
    common = dict(kernel=p["kernel"], C=p["C"], gamma=p["gamma"], degree=p.get("degree", 3), max_iter=p["max_iter"])
    if ctx.is_classifier:
        del p["epsilon"]
        svc = SVC(class_weight=p["class_weight"], random_state=p["random_state"], **common)
        if not p["probability"]:
            return svc
        # SVC(probability=True) is deprecated in scikit-learn 1.9; the replacement it names is a
        # Platt-scaled CalibratedClassifierCV fitted on out-of-fold decision values.
        return CalibratedClassifierCV(svc, method="sigmoid", cv=_SVC_CALIBRATION_FOLDS, ensemble=False)
    # SVR has no probability, class_weight or random_state: those UI keys are dropped.
    for key in ("probability", "class_weight", "random_state"):
        del p[key]
    return SVR(epsilon=p["epsilon"], **common)


LINEAR_SPECS = [
    AlgorithmSpec(
        "logistic_regression", "Logistic Regression", frozenset({"classification"}),
        {
            "penalty": Param("str", "l2", options=("l2", "l1", "elasticnet"), none_ok=True),
            "C": Param("float", 1.0, low=0, low_open=True),
            "l1_ratio": Param("float", 0.5, low=0, high=1),
            "solver": Param("str", "lbfgs", options=_LOGREG_SOLVERS),
            "max_iter": Param("int", 100, low=1),
            "tol": Param("float", 1e-4, low=0, low_open=True),
            "class_weight": _CLASS_WEIGHT,
            "fit_intercept": Param("bool", True),
            "random_state": _SEED,
        },
        _build_logistic_regression,
    ),
    AlgorithmSpec(
        "linear_regression", "Linear Regression", frozenset({"regression"}),
        {
            "regularization": Param("str", "none", options=("none", "ridge", "lasso", "elasticnet"),
                                    aliases=(("none", "none"), ("null", "none"), ("", "none"))),
            "alpha": Param("float", 1.0, low=0),
            "fit_intercept": Param("bool", True),
            "l1_ratio": Param("float", 0.5, low=0, high=1),
            "max_iter": Param("int", 1000, low=1),
            "random_state": _SEED,
        },
        _build_linear_regression,
    ),
    AlgorithmSpec(
        "svm", "Support Vector Machine", frozenset({"classification", "regression"}),
        {
            "kernel": Param("str", "rbf", options=("rbf", "linear", "poly", "sigmoid")),
            "C": Param("float", 1.0, low=0, low_open=True),
            "gamma": Param("float", "scale", low=0, low_open=True, also=("scale", "auto")),
            "degree": Param("int", 3, low=1),
            "probability": Param("bool", True),
            "class_weight": _CLASS_WEIGHT,
            "max_iter": Param("int", -1, low=-1),
            "epsilon": Param("float", 0.1, low=0),
            "random_state": _SEED,
        },
        _build_svm,
    ),
]
