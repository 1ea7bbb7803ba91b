"""One source for every default: the code's defaults and the shipped limits.toml cannot disagree."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor.algorithms import ResourceCaps, get_algorithm
from executor.limits import EngineLimits, ModelLimits
from service.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent


def test_the_code_defaults_are_the_shipped_file() -> None:
    """An operator reads limits.toml; a test, a tool or the warm-up uses ``Settings()``: same values."""
    shipped = load_settings(REPO / "limits.toml")
    assert Settings().model_dump() == shipped.model_dump()


def test_the_engine_gets_every_engine_table_from_the_settings() -> None:
    settings = load_settings(REPO / "limits.toml")
    engine = EngineLimits.model_validate(settings.engine_limits())
    assert engine.data == settings.data and engine.search == settings.search and engine.model == settings.model
    assert engine.text.max_echo_chars == settings.request.max_echo_chars
    # the engine's own defaults are the file's too; the cache dir alone arrives resolved (a job's HOME
    # is its temp dir, so the parent names the directory)
    assert engine.download.cache_dir == str(settings.download.cache_path().absolute())
    assert engine.model_copy(update={"download": settings.download}) == EngineLimits()


@pytest.mark.parametrize(
    ("limits", "algorithm", "hyper", "param", "expected"),
    [
        (ModelLimits(max_estimators=50), "random_forest", {"n_estimators": 500}, "n_estimators", 50),
        (ModelLimits(max_estimators=0), "random_forest", {"n_estimators": 500}, "n_estimators", 500),
        (ModelLimits(max_iter=100), "logistic_regression", {"max_iter": 5000}, "max_iter", 100),
    ],
    ids=["trees-capped", "zero-is-no-cap", "iterations-capped"],
)
def test_model_ceilings_from_limits_clamp_with_a_warning(
    limits: ModelLimits, algorithm: str, hyper: dict, param: str, expected: int
) -> None:
    built = get_algorithm(algorithm).build("classification", hyper, threads=1, n_samples=100, n_features=4,
                                           n_classes=3, caps=ResourceCaps.from_limits(limits))
    assert built.params[param] == expected
    assert bool(built.warnings) == (expected != hyper[param])
