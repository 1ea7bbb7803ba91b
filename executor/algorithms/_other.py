"""Neighbours, naive Bayes, the neural network and k-means."""

from __future__ import annotations

from typing import Any

from sklearn.cluster import KMeans
from sklearn.naive_bayes import BernoulliNB, ComplementNB, GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor

from executor.algorithms._base import AlgorithmSpec, BuildContext
from executor.params import Param, is_none, parse_batch_size, parse_hidden_layer_sizes

__all__ = ["OTHER_SPECS"]

_SEED = Param("int", None, low=0, none_ok=True)
_TREE_INDEXES = ("ball_tree", "kd_tree")
_MLP_VALIDATION_FRACTION = 0.1
"""scikit-learn's default share of training rows held out when early_stopping is on."""


def _build_knn(p: dict[str, Any], ctx: BuildContext) -> Any:
    if p["n_neighbors"] > ctx.n_samples:
        ctx.warn(f"n_neighbors={p['n_neighbors']} is more than the {ctx.n_samples} training rows;"
                 f" using {ctx.n_samples}")
        p["n_neighbors"] = max(1, ctx.n_samples)
    if p["metric"] != "minkowski":
        del p["p"]
    if p["metric"] == "cosine" and p["algorithm"] in _TREE_INDEXES:
        ctx.warn(f"algorithm {p['algorithm']!r} cannot use the cosine metric; 'brute' is used")
        p["algorithm"] = "brute"
    cls = KNeighborsClassifier if ctx.is_classifier else KNeighborsRegressor
    return cls(n_neighbors=p["n_neighbors"], weights=p["weights"], metric=p["metric"], p=p.get("p", 2),
               algorithm=p["algorithm"], leaf_size=p["leaf_size"], n_jobs=ctx.threads)


def _build_naive_bayes(p: dict[str, Any], ctx: BuildContext) -> Any:
    variant = p["variant"]
    if variant == "gaussian":
        del p["alpha"], p["fit_prior"]
        return GaussianNB(var_smoothing=p["var_smoothing"])
    del p["var_smoothing"]
    if variant == "bernoulli":
        return BernoulliNB(alpha=p["alpha"], fit_prior=p["fit_prior"])
    # Multinomial/complement NB model counts: fitted on the features as they are, as scikit-learn
    # would (negative features are refused by training.check_counts, naming them).
    nb = MultinomialNB if variant == "multinomial" else ComplementNB
    return nb(alpha=p["alpha"], fit_prior=p["fit_prior"])


def _build_neural_network(p: dict[str, Any], ctx: BuildContext) -> Any:
    layers = p["hidden_layer_sizes"]
    ceiling = ctx.caps.max_hidden_units
    if ceiling is not None and sum(layers) > ceiling:
        raise_units = sum(layers)
        ctx.warn(f"hidden layers of {raise_units} neurons in all are above the worker's limit of {ceiling};"
                 f" each layer is scaled down")
        layers = tuple(max(1, size * ceiling // raise_units) for size in layers)
        p["hidden_layer_sizes"] = layers
    ctx.cap(p, "max_iter", ctx.caps.max_iter, "epochs")
    batch = p["batch_size"]
    if isinstance(batch, int) and batch > ctx.n_samples:
        ctx.warn(f"batch_size={batch} is more than the {ctx.n_samples} training rows; using {ctx.n_samples}")
        p["batch_size"] = batch = max(1, ctx.n_samples)
    if p["early_stopping"]:
        held_out = int(ctx.n_samples * _MLP_VALIDATION_FRACTION)
        needed = max(2, ctx.n_classes or 0)
        if held_out < needed:
            ctx.warn(f"early_stopping needs at least {needed} validation rows ({_MLP_VALIDATION_FRACTION:.0%}"
                     f" of {ctx.n_samples} training rows gives {held_out}); it was turned off")
            p["early_stopping"] = False
    cls = MLPClassifier if ctx.is_classifier else MLPRegressor
    return cls(hidden_layer_sizes=layers, activation=p["activation"], learning_rate_init=p["learning_rate_init"],
               solver=p["solver"], alpha=p["alpha"], batch_size=batch, max_iter=p["max_iter"],
               early_stopping=p["early_stopping"], random_state=p["random_state"])


def _build_kmeans(p: dict[str, Any], ctx: BuildContext) -> Any:
    if p["n_clusters"] > ctx.n_samples:
        ctx.warn(f"n_clusters={p['n_clusters']} is more than the {ctx.n_samples} rows; using {ctx.n_samples}")
        p["n_clusters"] = max(1, ctx.n_samples)
    ctx.cap(p, "max_iter", ctx.caps.max_iter, "iterations")
    return KMeans(n_clusters=p["n_clusters"], init=p["init"], n_init=p["n_init"], max_iter=p["max_iter"],
                  algorithm=p["algorithm"], random_state=p["random_state"])


class _LayerSizes(Param):
    """``hidden_layer_sizes``: parsed by :func:`parse_hidden_layer_sizes`, never evaluated."""

    def coerce(self, value: Any, name: str) -> tuple[Any, list[str]]:
        if is_none(value):
            return self.default, [f"hyperparameter {name!r} was empty; the default {self.default!r} is used"]
        return parse_hidden_layer_sizes(value), []


class _BatchSize(Param):
    """``batch_size``: "auto" or a positive int (digit strings accepted)."""

    def coerce(self, value: Any, name: str) -> tuple[Any, list[str]]:
        return parse_batch_size(value), []


OTHER_SPECS = [
    AlgorithmSpec(
        "knn", "K-Nearest Neighbors", frozenset({"classification", "regression"}),
        {
            "n_neighbors": Param("int", 5, low=1),
            "weights": Param("str", "uniform", options=("uniform", "distance")),
            "metric": Param("str", "minkowski", options=("minkowski", "euclidean", "manhattan", "cosine", "chebyshev")),
            "p": Param("float", 2, low=1),
            "algorithm": Param("str", "auto", options=("auto", "ball_tree", "kd_tree", "brute")),
            "leaf_size": Param("int", 30, low=1),
        },
        _build_knn,
        uses_seed=False,
    ),
    AlgorithmSpec(
        "naive_bayes", "Naive Bayes", frozenset({"classification"}),
        {
            "variant": Param("str", "gaussian", options=("gaussian", "multinomial", "bernoulli", "complement")),
            "var_smoothing": Param("float", 1e-9, low=0),
            "alpha": Param("float", 1.0, low=0),
            "fit_prior": Param("bool", True),
        },
        _build_naive_bayes,
        uses_seed=False,
    ),
    AlgorithmSpec(
        "neural_network", "Neural Network", frozenset({"classification", "regression"}),
        {
            "hidden_layer_sizes": _LayerSizes("str", (100,)),
            "activation": Param("str", "relu", options=("relu", "tanh", "logistic", "identity")),
            "learning_rate_init": Param("float", 0.001, low=0, low_open=True),
            "solver": Param("str", "adam", options=("adam", "sgd", "lbfgs")),
            "alpha": Param("float", 1e-4, low=0),
            "batch_size": _BatchSize("str", "auto"),
            "max_iter": Param("int", 200, low=1),
            "early_stopping": Param("bool", True),
            "random_state": _SEED,
        },
        _build_neural_network,
    ),
    AlgorithmSpec(
        "kmeans", "K-Means Clustering", frozenset({"clustering"}),
        {
            "n_clusters": Param("int", 3, low=1),
            "init": Param("str", "k-means++", options=("k-means++", "random")),
            "n_init": Param("int", 10, low=1),
            "max_iter": Param("int", 300, low=1),
            "algorithm": Param("str", "lloyd", options=("lloyd", "elkan")),
            "random_state": _SEED,
        },
        _build_kmeans,
    ),
]
