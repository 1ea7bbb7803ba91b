"""Common tests over the whole algorithm registry, and the normalisation of every UI value format."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from executor.algorithms import ALGORITHMS, ResourceCaps, algorithm_names, get_algorithm
from executor.errors import InvalidWorkflowError
from tests.executor.evalkit import SUITABLE, load

CASES = [(slug, pt) for slug, spec in sorted(ALGORITHMS.items()) for pt in sorted(spec.problem_types)]

DISPLAY_NAMES = {
    "logistic_regression": "Logistic Regression", "linear_regression": "Linear Regression",
    "decision_tree": "Decision Tree", "random_forest": "Random Forest", "xgboost": "XGBoost",
    "knn": "K-Nearest Neighbors", "naive_bayes": "Naive Bayes", "svm": "Support Vector Machine",
    "neural_network": "Neural Network", "kmeans": "K-Means Clustering",
}


def build(slug: str, pt: str, hp: dict | None = None, *, n_samples: int = 100, n_classes: int | None = 3, **kw):
    return get_algorithm(slug).build(pt, hp, threads=2, n_samples=n_samples, n_features=4,
                                     n_classes=n_classes if pt == "classification" else None, **kw)


def test_registry_holds_the_platforms_ten_algorithms_with_their_display_names():
    assert algorithm_names() == sorted(DISPLAY_NAMES)
    assert {slug: get_algorithm(slug).name for slug in algorithm_names()} == DISPLAY_NAMES


def test_unknown_algorithm_is_refused_listing_the_valid_names():
    with pytest.raises(InvalidWorkflowError, match="'pca' is not a known algorithm. Valid algorithms: decision_tree") as exc:
        get_algorithm("pca", node_id="model-15")
    assert exc.value.node_id == "model-15" and exc.value.field == "algorithm"


@pytest.mark.parametrize("slug, problem_type", CASES)
def test_every_algorithm_fits_and_predicts_each_problem_type_it_supports(slug, problem_type):
    X, y, _ = load(SUITABLE[problem_type])
    k = len(np.unique(y)) if problem_type == "classification" else None
    built = get_algorithm(slug).build(problem_type, None, threads=2, n_samples=len(X), n_features=X.shape[1], n_classes=k)
    model = Pipeline([("scale", StandardScaler()), ("model", built.estimator)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # ConvergenceWarning at default max_iter
        warnings.filterwarnings("error", category=FutureWarning)
        warnings.filterwarnings("error", category=DeprecationWarning)
        model.fit(X, None if problem_type == "clustering" else y)
    pred = model.predict(X)
    assert pred.shape == (len(X),)
    if problem_type == "classification":
        assert set(np.unique(pred)) <= set(np.unique(y))
    assert built.params.get("random_state", 42) == 42 or "random_state" not in built.params


@pytest.mark.parametrize("slug, problem_type", CASES)
def test_effective_params_are_json_and_use_the_seed_and_threads(slug, problem_type):
    import json

    built = build(slug, problem_type, seed_default=7)
    json.dumps(built.params)
    if "random_state" in built.estimator.get_params():
        assert built.params.get("random_state", 7) == 7
    parallel = {k: v for k, v in built.estimator.get_params().items() if k.split("__")[-1] in ("n_jobs", "nthread")}
    # None = sequential (LogisticRegression's n_jobs has no effect since 1.8; the SVM's calibration
    # folds would run in loky processes): never -1, never more than the job's threads.
    assert all(v in (None, 2) for v in parallel.values()), parallel
    if slug in ("random_forest", "knn", "xgboost"):
        assert set(parallel.values()) == {2}


@pytest.mark.parametrize("slug, problem_type", [
    ("logistic_regression", "regression"), ("linear_regression", "classification"), ("naive_bayes", "regression"),
    ("kmeans", "classification"), ("random_forest", "clustering"),
])
def test_algorithm_refuses_a_problem_type_it_cannot_do(slug, problem_type):
    with pytest.raises(InvalidWorkflowError, match=f"cannot be used for '{problem_type}' problems") as exc:
        build(slug, problem_type, node_id="model-3")
    assert exc.value.field == "algorithm" and exc.value.node_id == "model-3"


def test_random_state_zero_is_kept_not_replaced_by_the_default_seed():
    assert build("random_forest", "classification", {"random_state": 0}).estimator.random_state == 0


# (slug, problem type, UI hyperparameters, expected estimator params (sklearn names), warning fragment or None)
NORMALISATION = [
    ("logistic_regression", "classification", {"class_weight": "none"}, {"class_weight": None}, None),
    ("logistic_regression", "classification", {"class_weight": "None"}, {"class_weight": None}, None),
    ("logistic_regression", "classification", {"class_weight": "null"}, {"class_weight": None}, None),
    ("logistic_regression", "classification", {"class_weight": "balanced"}, {"class_weight": "balanced"}, None),
    ("logistic_regression", "classification", {"penalty": "none", "solver": "lbfgs"}, {"C": np.inf, "l1_ratio": 0.0}, None),
    ("logistic_regression", "classification", {"penalty": "none", "solver": "liblinear"}, {"solver": "lbfgs"}, "solver 'lbfgs'"),
    ("logistic_regression", "classification", {"penalty": "l1", "solver": "lbfgs"}, {"solver": "saga", "l1_ratio": 1.0}, "solver 'saga'"),
    ("logistic_regression", "classification", {"penalty": "elasticnet", "solver": "liblinear", "l1_ratio": 0.3},
     {"solver": "saga", "l1_ratio": 0.3}, "solver 'saga'"),
    ("logistic_regression", "classification", {"penalty": "l2", "l1_ratio": 0.7}, {"l1_ratio": 0.0}, None),
    ("logistic_regression", "classification", {"penalty": "l2", "solver": "liblinear"}, {"solver": "lbfgs"}, "more than two classes"),
    ("logistic_regression", "classification", {"C": None}, {"C": 1.0}, "was empty"),
    ("logistic_regression", "classification", {"max_iter": 500.0}, {"max_iter": 500}, None),
    ("logistic_regression", "classification", {"max_iter": 150.5}, {"max_iter": 150}, "rounded to 150"),
    ("linear_regression", "regression", {"regularization": "none", "alpha": 3}, {"fit_intercept": True}, None),
    ("linear_regression", "regression", {"regularization": "ridge", "alpha": 3}, {"alpha": 3.0}, None),
    ("linear_regression", "regression", {"regularization": "lasso", "alpha": 0.5}, {"alpha": 0.5}, None),
    ("linear_regression", "regression", {"regularization": "elasticnet", "l1_ratio": 0.2}, {"l1_ratio": 0.2}, None),
    ("decision_tree", "classification", {"max_features": "auto"}, {"max_features": None}, None),
    ("decision_tree", "regression", {"criterion": "gini"}, {"criterion": "squared_error"}, "squared_error"),
    ("decision_tree", "regression", {"criterion": "entropy"}, {"criterion": "squared_error"}, "squared_error"),
    ("decision_tree", "classification", {"max_leaf_nodes": None}, {"max_leaf_nodes": None}, None),
    ("decision_tree", "classification", {"max_depth": 5.0, "min_samples_split": "4"}, {"max_depth": 5, "min_samples_split": 4}, None),
    ("random_forest", "classification", {"max_depth": None, "max_features": "auto"}, {"max_depth": None, "max_features": None}, None),
    ("random_forest", "regression", {"class_weight": "balanced", "criterion": "gini"}, {"criterion": "squared_error"}, None),
    ("random_forest", "classification", {"n_estimators": None}, {"n_estimators": 100}, "was empty"),
    ("xgboost", "classification", {"scale_pos_weight": 3}, {"tree_method": "hist", "nthread": 2, "n_jobs": 2}, "binary"),
    ("knn", "classification", {"metric": "cosine", "algorithm": "kd_tree"}, {"algorithm": "brute"}, "'brute'"),
    ("knn", "classification", {"metric": "euclidean", "p": 3}, {"metric": "euclidean", "p": 2}, None),
    ("knn", "classification", {"n_neighbors": 500}, {"n_neighbors": 100}, "more than the 100 training rows"),
    ("naive_bayes", "classification", {"variant": "bernoulli", "alpha": 0.5}, {"alpha": 0.5}, None),
    ("svm", "regression", {"probability": True, "class_weight": "balanced", "random_state": 1, "kernel": "poly", "degree": 2},
     {"kernel": "poly", "degree": 2}, None),
    ("svm", "classification", {"probability": False, "gamma": "auto", "class_weight": "None"},
     {"gamma": "auto", "class_weight": None}, None),
    ("neural_network", "classification", {"hidden_layer_sizes": "(100,)"}, {"hidden_layer_sizes": (100,)}, None),
    ("neural_network", "classification", {"hidden_layer_sizes": "(100, 50)"}, {"hidden_layer_sizes": (100, 50)}, None),
    ("neural_network", "classification", {"hidden_layer_sizes": [64, 32]}, {"hidden_layer_sizes": (64, 32)}, None),
    ("neural_network", "classification", {"hidden_layer_sizes": (8,)}, {"hidden_layer_sizes": (8,)}, None),
    ("neural_network", "classification", {"hidden_layer_sizes": 30}, {"hidden_layer_sizes": (30,)}, None),
    ("neural_network", "classification", {"hidden_layer_sizes": "100,50"}, {"hidden_layer_sizes": (100, 50)}, None),
    ("neural_network", "classification", {"hidden_layer_sizes": "100 50"}, {"hidden_layer_sizes": (100, 50)}, None),
    ("neural_network", "classification", {"batch_size": "auto"}, {"batch_size": "auto"}, None),
    ("neural_network", "classification", {"batch_size": "64"}, {"batch_size": 64}, None),
    ("neural_network", "regression", {"batch_size": "256"}, {"batch_size": 100}, "batch_size=256"),
    ("neural_network", "classification", {"early_stopping": True}, {"early_stopping": True}, None),
    ("kmeans", "clustering", {"n_clusters": 500}, {"n_clusters": 100}, "more than the 100 rows"),
    ("kmeans", "clustering", {"n_clusters": 4.0, "init": "random", "algorithm": "elkan"},
     {"n_clusters": 4, "init": "random", "algorithm": "elkan"}, None),
]


@pytest.mark.parametrize("slug, problem_type, hp, expected, warning", NORMALISATION)
def test_ui_values_are_normalised(slug, problem_type, hp, expected, warning):
    built = build(slug, problem_type, hp)
    params = built.estimator.get_params()
    for key, value in expected.items():
        candidates = [v for k, v in params.items() if k == key or k.endswith(f"__{key}")]
        assert value in candidates, (key, candidates)
    if warning is None:
        assert not [w for w in built.warnings if "rounded" in w or "instead" in w]
    else:
        assert any(warning in w for w in built.warnings), built.warnings


def test_logistic_regression_never_uses_the_deprecated_penalty_parameter():
    for penalty in ("l1", "l2", "elasticnet", "none"):
        assert build("logistic_regression", "classification", {"penalty": penalty}).estimator.penalty == "deprecated"


def test_multinomial_and_complement_naive_bayes_are_the_plain_scikit_learn_models():
    from sklearn.naive_bayes import ComplementNB, MultinomialNB

    for variant, cls in (("multinomial", MultinomialNB), ("complement", ComplementNB)):
        built = build("naive_bayes", "classification", {"variant": variant, "alpha": 0.5})
        assert type(built.estimator) is cls and built.estimator.alpha == 0.5  # nothing rescales the features
        assert not built.warnings


def test_params_that_do_not_apply_are_dropped_from_the_effective_params():
    assert "l1_ratio" not in build("logistic_regression", "classification", {"penalty": "l2"}).params
    assert "p" not in build("knn", "classification", {"metric": "manhattan"}).params
    svr = build("svm", "regression", {"probability": True, "class_weight": "balanced"}).params
    assert not {"probability", "class_weight", "random_state"} & set(svr)
    assert "class_weight" not in build("decision_tree", "regression").params


def test_resource_caps_from_the_caller_clamp_with_a_warning():
    caps = ResourceCaps(max_estimators=50, max_hidden_units=64, max_iter=300)
    rf = build("random_forest", "classification", {"n_estimators": 500}, caps=caps)
    assert rf.estimator.n_estimators == 50 and any("limit of 50" in w for w in rf.warnings)
    nn = build("neural_network", "classification", {"hidden_layer_sizes": "(256, 128, 64)", "max_iter": 2000}, caps=caps)
    assert sum(nn.estimator.hidden_layer_sizes) <= 64 and nn.estimator.max_iter == 300


def test_early_stopping_is_turned_off_when_too_few_rows_remain_for_validation():
    built = build("neural_network", "classification", {"early_stopping": True}, n_samples=20)
    assert built.estimator.early_stopping is False and any("early_stopping" in w for w in built.warnings)


def test_unknown_hyperparameters_are_ignored_with_a_warning():
    built = build("knn", "classification", {"n_neighbors": 3, "colour": "blue"})
    assert any("'colour' is not used" in w for w in built.warnings)


BAD = [
    ("logistic_regression", {"C": -1}, "hyperparameters.C", "must be a float in (0, inf]"),
    ("logistic_regression", {"solver": "adam"}, "hyperparameters.solver", "one of 'lbfgs'"),
    ("logistic_regression", {"penalty": "l3"}, "hyperparameters.penalty", "Got 'l3' instead"),
    ("random_forest", {"n_estimators": "many"}, "hyperparameters.n_estimators", "an int in [1, inf]"),
    ("random_forest", {"bootstrap": "maybe"}, "hyperparameters.bootstrap", "true or false"),
    ("knn", {"n_neighbors": 0}, "hyperparameters.n_neighbors", "Got 0 instead"),
    ("xgboost", {"subsample": 1.5}, "hyperparameters.subsample", "(0, 1]"),
    ("svm", {"gamma": "huge"}, "hyperparameters.gamma", "'scale', 'auto'"),
    ("neural_network", {"hidden_layer_sizes": "(0,)"}, "hyperparameters.hidden_layer_sizes", "positive integer"),
    ("neural_network", {"hidden_layer_sizes": "[[1]]"}, "hyperparameters.hidden_layer_sizes", "layer sizes"),
    ("neural_network", {"batch_size": "-3"}, "hyperparameters.batch_size", "'auto' or a positive integer"),
    ("neural_network", {"max_iter": float("inf")}, "hyperparameters.max_iter", "Got inf instead"),
]


@pytest.mark.parametrize("slug, hp, field, match", BAD)
def test_invalid_values_are_refused_naming_node_field_and_value(slug, hp, field, match):
    problem_type = "classification"
    with pytest.raises(InvalidWorkflowError) as exc:
        build(slug, problem_type, hp, node_id="model-15")
    assert exc.value.field == field and exc.value.node_id == "model-15"
    assert match in str(exc.value)
    assert str(exc.value).startswith(f"[model-15 · {get_algorithm(slug).name}] {field}:")


def test_all_problems_of_one_node_are_reported_together():
    with pytest.raises(InvalidWorkflowError, match=r"\(3 problems\)") as exc:
        build("xgboost", "classification", {"max_depth": 0, "learning_rate": "fast", "subsample": 2}, node_id="model-2")
    fields = [p.field for p in exc.value.problems]
    assert fields == ["hyperparameters.max_depth", "hyperparameters.learning_rate", "hyperparameters.subsample"]


def test_the_eval_attack_string_is_refused_and_nothing_runs(monkeypatch):
    import builtins
    import os

    calls: list[str] = []
    monkeypatch.setattr(os, "getpid", lambda: calls.append("getpid") or 1)
    real_import = builtins.__import__
    monkeypatch.setattr(builtins, "eval", lambda *a, **k: calls.append("eval"))
    monkeypatch.setattr(builtins, "exec", lambda *a, **k: calls.append("exec"))
    attack = "__import__('os').getpid() and (7,)"
    with pytest.raises(InvalidWorkflowError, match=r"hidden_layer_sizes: must be layer sizes") as exc:
        build("neural_network", "classification", {"hidden_layer_sizes": attack}, node_id="model-9")
    assert exc.value.value == attack
    assert calls == [] and builtins.__import__ is real_import
