"""Hypothesis strategies: workflows the platform sends (contract §1.2–§5), and hostile mutations of them.

``workflows()`` draws a well-formed workflow: dataset → [preprocessing] → [split] → model →
[evaluate] → [visualize], every config key in snake_case or camelCase, the sample dataset ids,
the 10 algorithm slugs with hyperparameters as the UI sends them (strings for selects, numbers,
nulls), metric and plot keys with their aliases, edges as the backend re-serialises them.
Training is kept cheap (small forests, few iterations) so many examples fit in the suite.

``mutated_workflows()`` applies 1–3 mutations to one: wrong types, missing keys, unknown keys,
huge numbers, NaN/inf, deep nesting, duplicate ids, cycles, unicode, huge strings, and
structural breakage of the envelope itself.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import strategies as st

SAMPLE_IDS = ["iris", "breast_cancer", "diabetes", "wine", "digits"]
OTHER_IDS = ["sample-iris", "sample-wine", "california_housing", "titanic", "no_such_dataset", "", "IRIS"]
PROBLEM_OF = {
    "iris": "classification",
    "breast_cancer": "classification",
    "wine": "classification",
    "digits": "classification",
    "diabetes": "regression",
}

ALGORITHMS = [
    "logistic_regression",
    "linear_regression",
    "decision_tree",
    "random_forest",
    "xgboost",
    "knn",
    "naive_bayes",
    "svm",
    "neural_network",
    "kmeans",
]

METRICS = [
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "balanced_accuracy",
    "matthews_corrcoef",
    "confusion_matrix",
    "mse",
    "rmse",
    "mae",
    "r2",
    "mape",
    "explained_variance",
    "silhouette_score",
    "davies_bouldin_index",
    "calinski_harabasz_index",
    "inertia",
    "f1_score",
    "r2_score",
    "auc",
    "auc_roc",
    "classification_report",
]
CHEAP_PLOTS = [
    "confusion_matrix",
    "roc_curve",
    "precision_recall_curve",
    "feature_importance",
    "coefficient_plot",
    "residual_plot",
    "prediction_vs_actual",
    "actual_vs_predicted",
    "residuals",
    "class_distribution",
    "residual_distribution",
    "cluster_scatter",
]
PLOTS = [
    *CHEAP_PLOTS,
    "learning_curve",
    "probability_calibration",
    "shap_summary",
    "shap_waterfall",
    "partial_dependence",
    "elbow_plot",
    "silhouette_plot",
]

OPS: dict[str, dict[str, Any]] = {
    "fill_missing": {
        "strategy": st.sampled_from(["mean", "median", "mode", "constant"]),
        "columns": st.sampled_from(["all_numeric", "all_categorical"]),
    },
    "scale_standard": {
        "columns": st.just("all_numeric"),
        "withMean": st.booleans(),
        "withStd": st.booleans(),
    },
    "scale_minmax": {"columns": st.just("all_numeric")},
    "scale_robust": {"columns": st.just("all_numeric")},
    "encode_onehot": {
        "columns": st.just("all_categorical"),
        "dropFirst": st.booleans(),
        "handleUnknown": st.sampled_from(["error", "ignore"]),
    },
    "encode_label": {"columns": st.just("all_categorical")},
    "remove_duplicates": {"columns": st.just("all"), "keep": st.sampled_from(["first", "last"])},
    "remove_outliers_iqr": {
        "columns": st.just("all_numeric"),
        "threshold": st.sampled_from([1.5, 3.0, 10.0]),
        "action": st.sampled_from(["remove", "clip"]),
    },
    "remove_outliers_zscore": {"columns": st.just("all_numeric"), "threshold": st.sampled_from([3.0, 5.0])},
    "drop_columns": {"columns": st.just([])},
    "fill_missing_mean": {},
    "fill_missing_median": {},
    "fill_missing_mode": {},
    "fill_missing_constant": {"fill_value": st.just("0")},
    "drop_missing_rows": {"threshold": st.integers(0, 100)},
    "drop_missing_columns": {"threshold": st.integers(0, 100)},
    "standard_scaler": {},
    "robust_scaler": {},
    "maxabs_scaler": {},
    "minmax_scaler": {"feature_range_min": st.just(0), "feature_range_max": st.just(1)},
    "onehot_encoder": {"drop_first": st.booleans(), "columns": st.just([])},
    "label_encoder": {"columns": st.just([])},
    "outlier_iqr": {"iqr_multiplier": st.sampled_from([1.5, 3.0])},
    "outlier_zscore": {"z_threshold": st.sampled_from([3, 5])},
    "outlier_clip": {"lower_percentile": st.just(1), "upper_percentile": st.just(99)},
    "log_transform": {
        "logType": st.sampled_from(["natural", "log10", "log2", "log1p"]),
        "columns": st.just([]),
        "handleNegative": st.sampled_from(["skip", "absolute"]),
    },
    "power_transform": {"power": st.sampled_from(["square", "cube", "sqrt"]), "columns": st.just([])},
    "polynomial": {"degree": st.just(2), "columns": st.just([])},
    "sum": {"columns": st.just([]), "featureName": st.just("sum_selected")},
}

# Hyperparameters as the UI sends them (contract §3), cheap ranges only.
HYPER: dict[str, dict[str, Any]] = {
    "logistic_regression": {
        "penalty": st.sampled_from(["l2", "l1", "elasticnet", "none"]),
        "C": st.floats(0.001, 100),
        "l1_ratio": st.floats(0, 1),
        "solver": st.sampled_from(["lbfgs", "liblinear", "newton-cg", "saga", "sag"]),
        "max_iter": st.sampled_from([50, 100]),
        "tol": st.just(1e-4),
        "class_weight": st.sampled_from(["none", "balanced"]),
        "fit_intercept": st.booleans(),
    },
    "linear_regression": {
        "regularization": st.sampled_from(["none", "ridge", "lasso", "elasticnet"]),
        "alpha": st.floats(0.0001, 100),
        "fit_intercept": st.booleans(),
        "l1_ratio": st.floats(0, 1),
        "max_iter": st.just(1000),
        "random_state": st.integers(0, 9999),
    },
    "decision_tree": {
        "max_depth": st.integers(1, 30),
        "criterion": st.sampled_from(["gini", "entropy"]),
        "min_samples_split": st.integers(2, 50),
        "min_samples_leaf": st.integers(1, 20),
        "max_features": st.sampled_from(["auto", "sqrt", "log2"]),
        "max_leaf_nodes": st.none() | st.integers(2, 100),
        "class_weight": st.sampled_from(["none", "balanced"]),
        "random_state": st.integers(0, 9999),
    },
    "random_forest": {
        "n_estimators": st.integers(10, 30),
        "max_depth": st.none() | st.integers(1, 50),
        "criterion": st.sampled_from(["gini", "entropy"]),
        "min_samples_split": st.integers(2, 20),
        "min_samples_leaf": st.integers(1, 20),
        "max_features": st.sampled_from(["sqrt", "log2", "auto"]),
        "bootstrap": st.booleans(),
        "class_weight": st.sampled_from(["none", "balanced"]),
        "random_state": st.just(42),
    },
    "xgboost": {
        "n_estimators": st.integers(10, 30),
        "max_depth": st.integers(1, 6),
        "learning_rate": st.floats(0.01, 1),
        "min_child_weight": st.integers(1, 20),
        "subsample": st.floats(0.5, 1),
        "colsample_bytree": st.floats(0.5, 1),
        "reg_alpha": st.floats(0, 10),
        "reg_lambda": st.floats(0, 10),
        "scale_pos_weight": st.floats(0.1, 100),
        "random_state": st.just(42),
    },
    "knn": {
        "n_neighbors": st.integers(1, 50),
        "weights": st.sampled_from(["uniform", "distance"]),
        "metric": st.sampled_from(["minkowski", "euclidean", "manhattan", "cosine"]),
        "p": st.integers(1, 5),
        "algorithm": st.sampled_from(["auto", "ball_tree", "kd_tree", "brute"]),
        "leaf_size": st.integers(10, 100),
    },
    "naive_bayes": {
        "variant": st.sampled_from(["gaussian", "multinomial", "bernoulli"]),
        "var_smoothing": st.just(1e-9),
        "alpha": st.floats(0, 10),
        "fit_prior": st.booleans(),
    },
    "svm": {
        "kernel": st.sampled_from(["rbf", "linear", "poly", "sigmoid"]),
        "C": st.floats(0.001, 100),
        "gamma": st.sampled_from(["scale", "auto"]),
        "degree": st.integers(1, 4),
        "probability": st.booleans(),
        "class_weight": st.sampled_from(["none", "balanced"]),
        "max_iter": st.sampled_from([-1, 500]),
        "random_state": st.just(42),
    },
    "neural_network": {
        "hidden_layer_sizes": st.sampled_from(["(50,)", "(100,)", "(100, 50)", "(16,)", "32,16", "8 8"]),
        "activation": st.sampled_from(["relu", "tanh", "logistic"]),
        "learning_rate_init": st.floats(0.0001, 0.1),
        "solver": st.sampled_from(["adam", "sgd", "lbfgs"]),
        "alpha": st.floats(0, 1),
        "batch_size": st.sampled_from(["auto", "32", "64", "128", "256"]),
        "max_iter": st.sampled_from([20, 50]),
        "early_stopping": st.booleans(),
        "random_state": st.just(42),
    },
    "kmeans": {
        "n_clusters": st.integers(2, 20),
        "init": st.sampled_from(["k-means++", "random"]),
        "n_init": st.integers(1, 5),
        "max_iter": st.sampled_from([100, 300]),
        "algorithm": st.sampled_from(["lloyd", "elkan"]),
        "random_state": st.just(42),
    },
}


def _key(draw: st.DrawFn, snake: str, camel: str) -> str:
    return draw(st.sampled_from([snake, camel]))


@st.composite
def _subset(draw: st.DrawFn, strategies: dict[str, Any], min_size: int = 0) -> dict[str, Any]:
    names = (
        draw(
            st.lists(
                st.sampled_from(sorted(strategies)), unique=True, min_size=min(min_size, len(strategies))
            )
        )
        if strategies
        else []
    )
    return {name: draw(strategies[name]) for name in names}


@st.composite
def workflows(draw: st.DrawFn, *, cheap_plots: bool = True) -> dict[str, Any]:
    """A well-formed workflow as the platform sends it."""
    n = draw(st.integers(10, 99))
    dataset_id = draw(st.sampled_from(SAMPLE_IDS))
    problem = PROBLEM_OF[dataset_id]
    algorithm = draw(st.sampled_from(ALGORITHMS))
    if algorithm == "kmeans":
        problem = draw(st.sampled_from(["clustering", problem]))
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []

    def node(kind: str, config: dict[str, Any]) -> str:
        nid = f"{kind}-{n + len(nodes)}"
        position = draw(
            st.none() | st.fixed_dictionaries({"x": st.floats(-1e3, 1e3), "y": st.floats(-1e3, 1e3)})
        )
        nodes.append({"id": nid, "type": kind, "config": config, "position": position})
        return nid

    def edge(src: str, dst: str) -> None:
        edges.append(
            {
                "id": f"xy-edge__{src}-{dst}",
                "source": src,
                "target": dst,
                "source_handle": None,
                "target_handle": None,
            }
        )

    ds_cfg: dict[str, Any] = {
        _key(draw, "dataset_id", "datasetId"): dataset_id,
        _key(draw, "dataset_name", "datasetName"): dataset_id.replace("_", " ").title(),
        _key(draw, "is_sample", "isSample"): True,
        _key(draw, "target_column", "targetColumn"): None
        if problem == "clustering" and draw(st.booleans())
        else "target",
        _key(draw, "problem_type", "problemType"): problem,
    }
    if draw(st.booleans()):
        ds_cfg.update({"rows": 150, "columns": 5})
    last = node("dataset", ds_cfg)
    propagated = {"inputDatasetId": dataset_id, "targetColumn": "target", "problemType": problem}

    if draw(st.integers(0, 3)) == 0:
        ops = draw(st.lists(st.sampled_from(sorted(OPS)), max_size=3))
        op_list = []
        for op in ops:
            params = draw(_subset(OPS[op]))
            op_list.append({"type": op, draw(st.sampled_from(["params", "config"])): params})
        pre = node("preprocessing", {"operations": op_list, **propagated})
        edge(last, pre)
        last = pre

    if draw(st.integers(0, 4)) > 0:
        fraction = draw(st.floats(0.1, 0.5))
        size = fraction if draw(st.booleans()) else round(fraction * 100)
        split_cfg = {
            _key(draw, "test_size", "testSize"): size,
            "stratify": draw(st.booleans()),
            "shuffle": draw(st.just(True) | st.booleans()),
            _key(draw, "random_seed", "randomSeed"): draw(st.integers(0, 9999)),
            **propagated,
        }
        split = node("split", split_cfg)
        edge(last, split)
        last = split

    model_cfg: dict[str, Any] = {
        "algorithm": algorithm,
        "hyperparameters": draw(_subset(HYPER[algorithm])),
        **propagated,
    }
    if draw(st.integers(0, 4)) == 0:
        model_cfg[_key(draw, "use_cross_validation", "useCrossValidation")] = True
        model_cfg[_key(draw, "cv_folds", "cvFolds")] = 3
    model = node("model", model_cfg)
    edge(last, model)

    if draw(st.integers(0, 3)) > 0:
        metrics = draw(st.lists(st.sampled_from(METRICS), min_size=1, max_size=6, unique=True))
        ev_cfg: dict[str, Any] = {_key(draw, "selected_metrics", "selectedMetrics"): metrics}
        if draw(st.booleans()):
            ev_cfg["showConfidenceIntervals"] = False
            ev_cfg["compareWithBaseline"] = draw(st.booleans())
        ev = node("evaluate", ev_cfg)
        edge(model, ev)
    if draw(st.integers(0, 2)) == 0:
        plots = draw(
            st.lists(st.sampled_from(CHEAP_PLOTS if cheap_plots else PLOTS), max_size=3, unique=True)
        )
        vis = node("visualize", {_key(draw, "selected_plots", "selectedPlots"): plots})
        edge(model, vis)

    order = draw(st.permutations(range(len(nodes))))  # canvas order is not topological
    return {"nodes": [nodes[i] for i in order], "edges": edges}


# -- mutations ----------------------------------------------------------------------------------

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\u202eevil",
            "名前",
            "🙂" * 10,
            "None",
            "null",
            "NaN",
            "-inf",
            "1e309",
            "__proto__",
            "../../etc/passwd",
            "${HF_TOKEN}",
            "{{7*7}}",
            "'; DROP TABLE x; --",
            "(100,)" * 50,
            "__import__('os').getpid() and (7,)",
        ]
    ),
)
HUGE_NUMBERS = st.sampled_from(
    [10**30, -(10**30), 2**63, -(2**63) - 1, 1e308, -1e308, 5e-324, 0, -1, 10**6, 10**9]
)
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    HOSTILE_TEXT,
    HUGE_NUMBERS,
    NON_FINITE,
)


def any_value(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
        max_leaves=max_leaves,
    )


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``obj`` (dict keys and list indexes)."""
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _parent(obj: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        obj = obj[part]
    return obj


def nested(depth: int, leaf: Any = 1) -> Any:
    value: Any = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


@st.composite
def _mutate_once(draw: st.DrawFn, wf: Any) -> Any:
    kind = draw(
        st.sampled_from(
            [
                "replace",
                "replace",
                "delete",
                "unknown_key",
                "huge_number",
                "non_finite",
                "deep",
                "duplicate_id",
                "cycle",
                "self_loop",
                "dangling_edge",
                "unicode",
                "huge_string",
                "node_type",
                "structure",
            ]
        )
    )
    if not isinstance(wf, dict) or not isinstance(wf.get("nodes"), list):
        kind = draw(st.sampled_from(["replace", "unknown_key", "structure"]))
    paths = _paths(wf)
    if kind in ("replace", "delete", "huge_number", "non_finite", "deep", "unicode", "huge_string") and paths:
        path = draw(st.sampled_from(paths))
        parent = _parent(wf, path)
        key = path[-1]
        if kind == "delete":
            del parent[key]
        else:
            parent[key] = {
                "replace": lambda: draw(any_value()),
                "huge_number": lambda: draw(HUGE_NUMBERS),
                "non_finite": lambda: draw(NON_FINITE),
                "deep": lambda: nested(draw(st.integers(20, 120))),
                "unicode": lambda: draw(
                    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30)
                ),
                "huge_string": lambda: "A" * draw(st.sampled_from([10_000, 200_000])),
            }[kind]()
        return wf
    if kind == "unknown_key":
        dicts = [wf, *[_parent(wf, p + ("x",)) for p in paths if isinstance(_parent(wf, p + ("x",)), dict)]]
        target = draw(st.sampled_from(dicts))
        target[draw(HOSTILE_TEXT)] = draw(any_value())
        return wf
    if not isinstance(wf, dict):
        return wf
    nodes = wf["nodes"] if isinstance(wf.get("nodes"), list) else []  # an earlier mutation may have broken it
    if kind == "structure":
        choice = draw(
            st.sampled_from(
                [
                    "nodes_none",
                    "nodes_dict",
                    "edges_str",
                    "empty",
                    "node_str",
                    "config_list",
                    "config_none",
                    "no_id",
                    "data_config",
                ]
            )
        )
        if choice == "nodes_none":
            wf["nodes"] = None
        elif choice == "nodes_dict":
            wf["nodes"] = {"0": nodes[0]} if nodes else {}
        elif choice == "edges_str":
            wf["edges"] = "dataset->model"
        elif choice == "empty":
            wf["nodes"], wf["edges"] = [], []
        elif nodes:
            i = draw(st.integers(0, len(nodes) - 1))
            if not isinstance(nodes[i], dict):
                return wf
            if choice == "node_str":
                nodes[i] = "dataset"
            elif choice == "config_list":
                nodes[i]["config"] = [nodes[i].get("config")]
            elif choice == "config_none":
                nodes[i]["config"] = None
            elif choice == "no_id":
                nodes[i].pop("id", None)
            elif choice == "data_config":  # W0 / direct callers: config under data.config
                nodes[i]["data"] = {"config": nodes[i].pop("config", {})}
        return wf
    dict_nodes = [n for n in nodes if isinstance(n, dict)]
    if not dict_nodes:
        return wf
    a = draw(st.sampled_from(dict_nodes))
    b = draw(st.sampled_from(dict_nodes))
    edges = wf.setdefault("edges", [])
    if not isinstance(edges, list):
        return wf
    if kind == "duplicate_id":
        b["id"] = a.get("id")
    elif kind == "cycle":
        edges.append(
            {
                "id": "back",
                "source": b.get("id"),
                "target": a.get("id"),
                "source_handle": None,
                "target_handle": None,
            }
        )
        edges.append(
            {
                "id": "forth",
                "source": a.get("id"),
                "target": b.get("id"),
                "source_handle": None,
                "target_handle": None,
            }
        )
    elif kind == "self_loop":
        edges.append({"id": "self", "source": a.get("id"), "target": a.get("id")})
    elif kind == "dangling_edge":
        edges.append({"id": "dangling", "source": a.get("id"), "target": draw(HOSTILE_TEXT)})
    elif kind == "node_type":
        a["type"] = draw(
            st.sampled_from(["trainTestSplit", "featureEngineering", "fault", "Model", "", "eval", 7, None])
        )
    return wf


@st.composite
def mutated_workflows(draw: st.DrawFn) -> Any:
    """A platform workflow broken in 1–3 ways (or, rarely, replaced by a non-object)."""
    if draw(st.integers(0, 30)) == 0:
        return draw(
            st.sampled_from([None, [], "workflow", 42, {"nodes": []}, {}, {"edges": []}, [{"nodes": []}]])
        )
    wf = copy.deepcopy(draw(workflows()))
    for _ in range(draw(st.integers(1, 3))):
        wf = draw(_mutate_once(wf))
    return wf


def any_workflow() -> st.SearchStrategy[Any]:
    """Mostly mutated, sometimes intact workflows."""
    return st.one_of(mutated_workflows(), mutated_workflows(), mutated_workflows(), workflows())
