"""Parsers that turn each download sample's published file into the platform's table.

Archives are read member by member in memory (``extractfile`` / ``ZipFile.open``): nothing is
extracted to a path, and a member larger than ``[data] max_dataset_mb`` is refused before it is read.
"""

from __future__ import annotations

import io
import tarfile
import zipfile

import numpy as np
import pandas as pd

from executor.limits import EngineLimits

from .formats import read_csv_bytes

__all__ = [
    "CREDIT_FRAUD_ROWS",
    "california_housing",
    "credit_fraud",
    "imdb_reviews",
    "sms_spam",
    "titanic",
]

_MB = 1 << 20

CREDIT_FRAUD_ROWS = 10_000
"""Rows of the credit_fraud sample: every fraud plus a seeded choice of normal transactions."""
CREDIT_FRAUD_SEED = 42


def _member_cap(limits: EngineLimits) -> int | None:
    return limits.data.max_dataset_mb * _MB if limits.data.max_dataset_mb else None


def _zip_member(data: bytes, name: str, limits: EngineLimits) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = [i for i in archive.infolist() if i.filename == name or i.filename.rsplit("/", 1)[-1] == name]
        infos = [i for i in infos if not i.filename.startswith("__MACOSX/")]
        if not infos:
            raise KeyError(f"{name!r} is not in the archive")
        cap = _member_cap(limits)
        if cap and infos[0].file_size > cap:
            raise ValueError(f"{name!r} unpacks to {infos[0].file_size} bytes, over [data] max_dataset_mb")
        with archive.open(infos[0]) as member:
            return member.read(cap + 1 if cap else -1)


def california_housing(data: bytes, limits: EngineLimits) -> pd.DataFrame:
    """``cal_housing.tgz`` (Pace & Barry 1997) shaped as scikit-learn's ``fetch_california_housing``."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.getmember("CaliforniaHousing/cal_housing.data")
        cap = _member_cap(limits)
        if not member.isfile() or (cap and member.size > cap):
            raise ValueError("cal_housing.data is missing or over [data] max_dataset_mb")
        handle = archive.extractfile(member)
        assert handle is not None
        raw = np.loadtxt(handle, delimiter=",")
    # source columns: longitude, latitude, age, rooms, bedrooms, population, households, income, value
    households = raw[:, 6]
    frame = pd.DataFrame(
        {
            "MedInc": raw[:, 7],
            "HouseAge": raw[:, 2],
            "AveRooms": raw[:, 3] / households,
            "AveBedrms": raw[:, 4] / households,
            "Population": raw[:, 5],
            "AveOccup": raw[:, 5] / households,
            "Latitude": raw[:, 1],
            "Longitude": raw[:, 0],
            "target": raw[:, 8] / 100_000.0,
        }
    )
    return frame


def titanic(data: bytes, limits: EngineLimits) -> pd.DataFrame:
    """Kaggle's Titanic ``train.csv``: 891 passengers, 12 columns."""
    return read_csv_bytes(data, limits.data)


def _tab_lines(text: str, *, label_first: bool) -> list[tuple[str, str]]:
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        left, sep, right = line.partition("\t") if label_first else line.rpartition("\t")
        if not sep:
            raise ValueError(f"line without a tab: {line[:60]!r}")
        rows.append((left.strip(), right.strip()))
    return rows


def sms_spam(data: bytes, limits: EngineLimits) -> pd.DataFrame:
    """UCI SMS Spam Collection: ``label`` (ham/spam) TAB ``message`` per line."""
    text = _zip_member(data, "SMSSpamCollection", limits).decode("utf-8", "replace")
    return pd.DataFrame(_tab_lines(text, label_first=True), columns=["label", "message"])


def imdb_reviews(data: bytes, limits: EngineLimits) -> pd.DataFrame:
    """UCI Sentiment Labelled Sentences, IMDb part: 1000 reviews, ``sentiment`` positive/negative."""
    text = _zip_member(data, "imdb_labelled.txt", limits).decode("utf-8", "replace")
    rows = _tab_lines(text, label_first=False)
    names = {"1": "positive", "0": "negative"}
    if any(label not in names for _, label in rows):
        raise ValueError("imdb_labelled.txt has a label other than 0 or 1")
    return pd.DataFrame([(review, names[label]) for review, label in rows], columns=["review", "sentiment"])


def credit_fraud(data: bytes, limits: EngineLimits) -> pd.DataFrame:
    """ULB credit card fraud (284,807 rows) cut to 10,000: every fraud plus seeded normal rows.

    Read in chunks so the full table never sits in memory; the normal rows kept are the ones with
    the smallest seeded uniform draws, so the cut is the same on every machine.
    """
    body = _zip_member(data, "creditcard.csv", limits) if data[:2] == b"PK" else data
    rng = np.random.default_rng(CREDIT_FRAUD_SEED)
    frauds, normals = [], []
    for chunk in pd.read_csv(io.BytesIO(body), chunksize=50_000):
        draw = rng.random(len(chunk))
        is_fraud = chunk["Class"].to_numpy() == 1
        frauds.append(chunk[is_fraud])
        kept = chunk[~is_fraud].assign(_draw=draw[~is_fraud])
        normals.append(kept.nsmallest(CREDIT_FRAUD_ROWS, "_draw"))
    fraud = pd.concat(frauds)
    normal = (
        pd.concat(normals).nsmallest(max(CREDIT_FRAUD_ROWS - len(fraud), 0), "_draw").drop(columns="_draw")
    )
    frame = pd.concat([fraud, normal]).sort_values("Time", kind="stable").reset_index(drop=True)
    frame["Class"] = frame["Class"].astype("int64")
    return frame
