"""The two synthetic samples, generated deterministically (same bytes on every machine and run)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SEED", "synthetic_imbalanced", "transactions_categorical"]

SEED = 42
"""Seed of both generators; changing it changes the published sample."""

ROWS = 10_000

_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO "
    "MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
).split()
_CATEGORY_ROOTS = (
    "grocery",
    "fuel",
    "travel",
    "dining",
    "electronics",
    "apparel",
    "health",
    "home",
    "games",
    "online",
)
_CATEGORY_KINDS = ("store", "service", "subscription", "marketplace", "wholesale")
_SYLLABLES = (
    "ash",
    "ber",
    "cal",
    "dor",
    "el",
    "fen",
    "glen",
    "har",
    "ing",
    "ton",
    "ville",
    "wood",
    "field",
    "port",
)


def synthetic_imbalanced() -> pd.DataFrame:
    """``feature_0``…``feature_19`` and ``target`` with classes 95:5 (scikit-learn ``make_classification``)."""
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=ROWS,
        n_features=20,
        n_informative=10,
        n_redundant=5,
        weights=[0.95, 0.05],
        flip_y=0.01,
        random_state=SEED,
    )
    frame = pd.DataFrame(x, columns=[f"feature_{i}" for i in range(x.shape[1])])
    frame["target"] = y.astype("int64")
    return frame


def _city_names(rng: np.random.Generator, count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        parts = rng.choice(len(_SYLLABLES), size=rng.integers(2, 4))
        name = "".join(_SYLLABLES[p] for p in parts).capitalize()
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def transactions_categorical() -> pd.DataFrame:
    """10,000 card transactions with high-cardinality strings and a rare ``is_fraud`` label.

    Fraud is more likely for large amounts, night hours and a few risky categories and merchants,
    so a model has something to learn; the rate is a few percent.
    """
    rng = np.random.default_rng(SEED)
    categories = [f"{root}_{kind}" for root in _CATEGORY_ROOTS for kind in _CATEGORY_KINDS]
    cities = _city_names(rng, 400)
    city_state = rng.integers(0, len(_STATES), size=len(cities))
    merchants = [f"M{n:05d}" for n in rng.choice(100_000, size=2_000, replace=False)]
    merchant_weight = 1.0 / np.arange(1, len(merchants) + 1) ** 0.8  # a few big merchants, a long tail
    merchant_idx = rng.choice(len(merchants), size=ROWS, p=merchant_weight / merchant_weight.sum())
    category_idx = rng.integers(0, len(categories), size=ROWS)
    city_idx = rng.integers(0, len(cities), size=ROWS)
    amount = np.round(rng.lognormal(mean=3.6, sigma=1.0, size=ROWS), 2)
    hour = rng.integers(0, 24, size=ROWS)
    day = rng.integers(0, 7, size=ROWS)
    risky_category = np.isin(category_idx, rng.choice(len(categories), size=5, replace=False))
    risky_merchant = np.isin(merchant_idx, rng.choice(len(merchants), size=60, replace=False))
    score = (
        -4.6
        + 1.1 * (amount > 150)
        + 0.9 * ((hour < 5) | (hour > 22))
        + 1.2 * risky_category
        + 1.5 * risky_merchant
        + 0.3 * (day >= 5)
    )
    is_fraud = rng.random(ROWS) < 1.0 / (1.0 + np.exp(-score))
    return pd.DataFrame(
        {
            "transaction_id": [f"TX{n:08d}" for n in rng.permutation(ROWS * 10)[:ROWS]],
            "merchant_id": [merchants[i] for i in merchant_idx],
            "category": [categories[i] for i in category_idx],
            "city": [cities[i] for i in city_idx],
            "state": [_STATES[city_state[i]] for i in city_idx],
            "amount": amount,
            "hour": hour.astype("int64"),
            "day_of_week": day.astype("int64"),
            "is_weekend": (day >= 5).astype("int64"),
            "is_fraud": is_fraud.astype("int64"),
        }
    )
