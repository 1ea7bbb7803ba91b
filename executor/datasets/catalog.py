"""The 14 sample datasets of contract §7: name, default target, problem types, hints, and how each loads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from executor.limits import EngineLimits

from . import bundled, generated, parsers
from .downloads import DownloadSpec, load_download

__all__ = ["DOWNLOADS", "SAMPLES", "SampleSpec"]


@dataclass(frozen=True)
class SampleSpec:
    """A catalog entry. ``load(limits, warnings)`` returns the table; download entries may add warnings."""

    name: str
    target: str | None
    problem_types: tuple[str, ...]
    origin: str
    """How it loads: ``bundled`` (a package on disk), ``generated``, or ``download``."""
    load: Callable[[EngineLimits, list[str]], pd.DataFrame]
    text_columns: tuple[str, ...] = ()
    date_columns: tuple[str, ...] = field(default=())


def _offline(make: Callable[[], pd.DataFrame]) -> Callable[[EngineLimits, list[str]], pd.DataFrame]:
    return lambda _limits, _warnings: make()


DOWNLOADS: dict[str, DownloadSpec] = {
    "california_housing": DownloadSpec(
        "california_housing",
        "https://ndownloader.figshare.com/files/5976036",
        "aaa5c9a6afe2225cc2aed2723682ae403280c4a3695a2ddda4ffb5d8215ea681",
        parsers.california_housing,
    ),
    "titanic": DownloadSpec(
        "titanic",
        "https://raw.githubusercontent.com/datasciencedojo/datasets/f0ccab6a7ceafdff780052166fb6fab3311398eb/titanic.csv",
        "4a437fde05fe5264e1701a7387ac6fb75393772ba38bb2c9c566405af5af4bd7",
        parsers.titanic,
    ),
    "sms_spam": DownloadSpec(
        "sms_spam",
        "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",
        None,
        parsers.sms_spam,
    ),
    "imdb_reviews": DownloadSpec(
        "imdb_reviews",
        "https://archive.ics.uci.edu/static/public/331/sentiment+labelled+sentences.zip",
        None,
        parsers.imdb_reviews,
    ),
    "credit_fraud": DownloadSpec(
        "credit_fraud",
        "https://maxhalford.github.io/files/datasets/creditcardfraud.zip",
        None,
        parsers.credit_fraud,
    ),
}
"""Samples no package ships: fetched on first use (see docs/datasets.md for each source and hash)."""


def _download(key: str) -> Callable[[EngineLimits, list[str]], pd.DataFrame]:
    # Looked up at call time so tests (and operators) can point an entry at another pinned copy.
    return lambda limits, warnings: load_download(DOWNLOADS[key], limits, warnings)


_SK = "bundled"
SAMPLES: dict[str, SampleSpec] = {
    "iris": SampleSpec("Iris", "target", ("classification",), _SK, _offline(bundled.sklearn_loader("load_iris"))),
    "breast_cancer": SampleSpec(
        "Breast Cancer Wisconsin", "target", ("classification",), _SK,
        _offline(bundled.sklearn_loader("load_breast_cancer")),
    ),
    "diabetes": SampleSpec(
        "Diabetes Progression", "target", ("regression",), _SK, _offline(bundled.sklearn_loader("load_diabetes"))
    ),
    "wine": SampleSpec("Wine", "target", ("classification",), _SK, _offline(bundled.sklearn_loader("load_wine"))),
    "digits": SampleSpec(
        "Digits (Mini-MNIST)", "target", ("classification", "image"), _SK,
        _offline(bundled.sklearn_loader("load_digits", bundled.digit_columns)),
    ),
    "california_housing": SampleSpec(
        "California Housing", "target", ("regression",), "download", _download("california_housing")
    ),
    "titanic": SampleSpec("Titanic", "Survived", ("classification",), "download", _download("titanic")),
    "boston_housing": SampleSpec("Boston Housing", "MEDV", ("regression",), _SK, _offline(bundled.boston_housing)),
    "air_passengers": SampleSpec(
        "Air Passengers", "Passengers", ("regression", "time_series"), _SK, _offline(bundled.air_passengers),
        date_columns=("Month",),
    ),
    "sms_spam": SampleSpec(
        "SMS Spam Collection", "label", ("classification", "nlp"), "download", _download("sms_spam"),
        text_columns=("message",),
    ),
    "imdb_reviews": SampleSpec(
        "IMDb Movie Reviews (Small)", "sentiment", ("classification", "nlp"), "download", _download("imdb_reviews"),
        text_columns=("review",),
    ),
    "credit_fraud": SampleSpec(
        "Credit Card Fraud (Downsampled)", "Class", ("classification",), "download", _download("credit_fraud")
    ),
    "synthetic_imbalanced": SampleSpec(
        "Synthetic Imbalanced Classification", "target", ("classification",), "generated",
        _offline(generated.synthetic_imbalanced),
    ),
    "transactions_categorical": SampleSpec(
        "High-Cardinality Transactions", "is_fraud", ("classification",), "generated",
        _offline(generated.transactions_categorical),
    ),
}  # fmt: skip
