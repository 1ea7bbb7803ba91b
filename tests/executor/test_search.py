"""Hyperparameter search: trials capped by limits, metric choice, a budget that ends inside the deadline."""

from __future__ import annotations

import time

import pytest

from executor import EngineLimits
from executor.limits import SearchLimits
from executor.search import SEARCH_SPACES
from sandbox import JobContext
from tests.executor import enginekit as kit

pytestmark = pytest.mark.slow  # Optuna searches: tens of trainings per test


def _search(name: str, **model: object) -> dict:
    wf = kit.example(name)
    kit.node(wf, "model-15")["config"].update({"use_optuna": True, **model})
    return wf


@pytest.mark.parametrize("name", ["random_forest_classification", "linear_regression_regression",
                                  "kmeans_clustering", "svm_regression", "naive_bayes_classification"])
def test_search_reports_optuna_mode_trials_and_best_params(name: str) -> None:
    res = kit.run(_search(name, optuna_trials=3))["results"]
    assert res["trainingMode"] == "optuna"
    assert res["search"]["trials"] == 3 and res["search"]["stoppedBy"] == "trials"
    assert set(res["search"]["bestParams"]) <= set(res["hyperparameters"])


def test_every_algorithm_has_a_search_space() -> None:
    from executor.algorithms import algorithm_names

    assert set(SEARCH_SPACES) == set(algorithm_names())


def test_trials_are_capped_by_the_limits() -> None:
    limits = EngineLimits(search=SearchLimits(max_trials=2))
    res = kit.run(_search("iris_random_forest", optunaTrials=500), limits=limits)["results"]
    assert res["search"]["trials"] == 2
    assert any("max_trials" in w for w in res["warnings"])


@pytest.mark.parametrize("metric, used, direction", [("f1_score", "f1", "maximize"), ("log_loss", "log_loss", "minimize"),
                                                     ("rmse", "accuracy", "maximize")])
def test_the_search_metric_is_honoured_or_replaced_with_a_warning(metric: str, used: str, direction: str) -> None:
    res = kit.run(_search("iris_random_forest", optuna_trials=2, optuna_metric=metric))["results"]
    assert (res["search"]["metric"], res["search"]["direction"]) == (used, direction)


def test_a_tiny_budget_stops_the_search_inside_the_deadline() -> None:
    """The search gets budget_fraction (10 %) of the time left and stops there, so the rest of the run
    (the final fit, metrics, plots) still ends before the deadline.

    The deadline is measured, not guessed: 10x what the same run takes here with one trial (at least
    3 s), so on a busy machine the rest of the run still fits in the 90 % left after the search.
    """
    from executor import run_workflow

    started = time.monotonic()
    run_workflow(_search("random_forest_classification", optuna_trials=1), limits=EngineLimits(),
                 ctx=JobContext.local(threads=1))
    one_trial = time.monotonic() - started
    ctx = JobContext.local(threads=1, wall_clock_seconds=max(3.0, 10 * one_trial))
    limits = EngineLimits(search=SearchLimits(budget_fraction=0.1))
    out = run_workflow(_search("random_forest_classification", optuna_trials=200), limits=limits, ctx=ctx)
    search = out["results"]["search"]
    assert search["stoppedBy"] == "time" and 1 <= search["trials"] < 200
    assert ctx.remaining_seconds() > 0  # the whole run, search included, ended before the deadline


def test_same_seed_same_search() -> None:
    a = kit.run(_search("iris_random_forest", optuna_trials=3))["results"]["search"]["bestParams"]
    b = kit.run(_search("iris_random_forest", optuna_trials=3))["results"]["search"]["bestParams"]
    assert a == b
