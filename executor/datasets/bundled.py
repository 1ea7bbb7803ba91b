"""The sample datasets that ship with scikit-learn, shaped like the platform's loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from executor.errors import DatasetError

if TYPE_CHECKING:
    from . import LoadedDataset

__all__ = ["SAMPLES", "SampleSpec", "load_sample"]


@dataclass(frozen=True)
class SampleSpec:
    """A catalog entry: display name, default target and problem types (contract §7)."""

    name: str
    target: str | None
    problem_types: tuple[str, ...]
    loader: Callable[[], pd.DataFrame]
    source: str


def _sklearn(loader_name: str, column_names: Callable[[Any], list[str]] | None = None) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import sklearn.datasets as skd

        bunch = getattr(skd, loader_name)()
        columns = column_names(bunch) if column_names else list(bunch.feature_names)
        frame = pd.DataFrame(bunch.data, columns=columns)
        frame["target"] = bunch.target
        return frame

    return load


def _digit_columns(bunch: Any) -> list[str]:
    return [f"pixel_{i // 8}_{i % 8}" for i in range(bunch.data.shape[1])]


SAMPLES: dict[str, SampleSpec] = {
    "iris": SampleSpec("Iris", "target", ("classification",), _sklearn("load_iris"), "scikit-learn (bundled)"),
    "breast_cancer": SampleSpec(
        "Breast Cancer Wisconsin", "target", ("classification",), _sklearn("load_breast_cancer"), "scikit-learn (bundled)"
    ),
    "diabetes": SampleSpec("Diabetes", "target", ("regression",), _sklearn("load_diabetes"), "scikit-learn (bundled)"),
    "wine": SampleSpec("Wine", "target", ("classification",), _sklearn("load_wine"), "scikit-learn (bundled)"),
    "digits": SampleSpec(
        "Digits", "target", ("classification", "image"), _sklearn("load_digits", _digit_columns), "scikit-learn (bundled)"
    ),
}


def load_sample(key: str, *, node_id: str | None) -> LoadedDataset:
    from . import LoadedDataset

    spec = SAMPLES[key]
    try:
        frame = spec.loader()
    except Exception as exc:  # a broken install, not the user's fault: still a coded answer
        raise DatasetError(f"Sample dataset {key!r} could not be loaded: {exc}", node_id=node_id, field="dataset_id") from exc
    return LoadedDataset(
        frame=frame,
        name=spec.name,
        source=f"sample:{key}",
        default_target=spec.target,
        problem_types=list(spec.problem_types),
    )
