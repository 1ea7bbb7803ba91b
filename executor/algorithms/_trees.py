"""Tree models: decision tree, random forest and XGBoost (hist, nthread = the job's threads)."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from xgboost import XGBClassifier, XGBRegressor

from executor.algorithms._base import AlgorithmSpec, BuildContext
from executor.params import Param

__all__ = ["TREE_SPECS"]

_SEED = Param("int", None, low=0, none_ok=True)
_CLASS_WEIGHT = Param("str", None, options=("balanced", "balanced_subsample"), none_ok=True)
_CLASSIFIER_CRITERIA = ("gini", "entropy", "log_loss")
_REGRESSOR_CRITERIA = ("squared_error", "friedman_mse", "absolute_error", "poisson")
_MAX_FEATURES = Param("float", None, low=0, low_open=True, also=("sqrt", "log2"), none_ok=True,
                      aliases=(("auto", None), ("all", None)))


def _tree_common(p: dict[str, Any], ctx: BuildContext) -> dict[str, Any]:
    """Criterion, max_features and class_weight made valid for the problem type."""
    criterion = p["criterion"]
    if ctx.is_classifier and criterion not in _CLASSIFIER_CRITERIA:
        ctx.warn(f"criterion {criterion!r} is for regression; 'gini' is used for classification")
        p["criterion"] = "gini"
    elif not ctx.is_classifier and criterion not in _REGRESSOR_CRITERIA:
        ctx.warn(f"criterion {criterion!r} is for classification; 'squared_error' is used for regression")
        p["criterion"] = "squared_error"
    if not ctx.is_classifier:
        p.pop("class_weight", None)
    max_features = p["max_features"]
    if isinstance(max_features, float) and max_features > 1:
        if max_features != int(max_features):
            ctx.warn(f"max_features={max_features} is neither a fraction nor a count; using {round(max_features)}")
        p["max_features"] = max_features = min(int(round(max_features)), max(ctx.n_features, 1))
    out = dict(criterion=p["criterion"], max_depth=p["max_depth"], min_samples_split=p["min_samples_split"],
               min_samples_leaf=p["min_samples_leaf"], max_features=max_features, random_state=p["random_state"])
    if ctx.is_classifier:
        out["class_weight"] = p["class_weight"]
    return out


def _build_decision_tree(p: dict[str, Any], ctx: BuildContext) -> Any:
    if p.get("class_weight") == "balanced_subsample":
        ctx.warn("class_weight 'balanced_subsample' is for forests; 'balanced' is used")
        p["class_weight"] = "balanced"
    kwargs = _tree_common(p, ctx)
    cls = DecisionTreeClassifier if ctx.is_classifier else DecisionTreeRegressor
    return cls(max_leaf_nodes=p["max_leaf_nodes"], **kwargs)


def _build_random_forest(p: dict[str, Any], ctx: BuildContext) -> Any:
    ctx.cap(p, "n_estimators", ctx.caps.max_estimators, "trees")
    kwargs = _tree_common(p, ctx)
    cls = RandomForestClassifier if ctx.is_classifier else RandomForestRegressor
    return cls(n_estimators=p["n_estimators"], bootstrap=p["bootstrap"], n_jobs=ctx.threads, **kwargs)


def _build_xgboost(p: dict[str, Any], ctx: BuildContext) -> Any:
    ctx.cap(p, "n_estimators", ctx.caps.max_estimators, "trees")
    binary = ctx.is_classifier and (ctx.n_classes or 2) <= 2
    if not binary:
        if p["scale_pos_weight"] != 1:
            ctx.warn("scale_pos_weight applies only to binary classification and was ignored")
        del p["scale_pos_weight"]
    kwargs: dict[str, Any] = dict(
        n_estimators=p["n_estimators"], max_depth=p["max_depth"], learning_rate=p["learning_rate"],
        min_child_weight=p["min_child_weight"], subsample=p["subsample"], colsample_bytree=p["colsample_bytree"],
        reg_alpha=p["reg_alpha"], reg_lambda=p["reg_lambda"], random_state=p["random_state"],
        tree_method="hist", n_jobs=ctx.threads, nthread=ctx.threads, verbosity=0,
    )
    if binary:
        kwargs["scale_pos_weight"] = p["scale_pos_weight"]
    return XGBClassifier(**kwargs) if ctx.is_classifier else XGBRegressor(**kwargs)


_CRITERION = Param("str", "gini", options=_CLASSIFIER_CRITERIA + _REGRESSOR_CRITERIA,
                   aliases=(("mse", "squared_error"), ("mae", "absolute_error")))

TREE_SPECS = [
    AlgorithmSpec(
        "decision_tree", "Decision Tree", frozenset({"classification", "regression"}),
        {
            "max_depth": Param("int", 5, low=1, none_ok=True),
            "criterion": _CRITERION,
            "min_samples_split": Param("int", 2, low=2),
            "min_samples_leaf": Param("int", 1, low=1),
            "max_features": _MAX_FEATURES,
            "max_leaf_nodes": Param("int", 20, low=2, none_ok=True),
            "class_weight": _CLASS_WEIGHT,
            "random_state": _SEED,
        },
        _build_decision_tree,
    ),
    AlgorithmSpec(
        "random_forest", "Random Forest", frozenset({"classification", "regression"}),
        {
            "n_estimators": Param("int", 100, low=1),
            "max_depth": Param("int", 10, low=1, none_ok=True),
            "criterion": _CRITERION,
            "min_samples_split": Param("int", 2, low=2),
            "min_samples_leaf": Param("int", 1, low=1),
            "max_features": Param("float", "sqrt", low=0, low_open=True, also=("sqrt", "log2"), none_ok=True,
                                  aliases=(("auto", None), ("all", None))),
            "bootstrap": Param("bool", True),
            "class_weight": _CLASS_WEIGHT,
            "random_state": _SEED,
        },
        _build_random_forest,
    ),
    AlgorithmSpec(
        "xgboost", "XGBoost", frozenset({"classification", "regression"}),
        {
            "n_estimators": Param("int", 100, low=1),
            "max_depth": Param("int", 6, low=1),
            "learning_rate": Param("float", 0.1, low=0, low_open=True),
            "min_child_weight": Param("float", 1.0, low=0),
            "subsample": Param("float", 1.0, low=0, high=1, low_open=True),
            "colsample_bytree": Param("float", 1.0, low=0, high=1, low_open=True),
            "reg_alpha": Param("float", 0.0, low=0),
            "reg_lambda": Param("float", 1.0, low=0),
            "scale_pos_weight": Param("float", 1.0, low=0, low_open=True),
            "random_state": _SEED,
        },
        _build_xgboost,
    ),
]
