"""Every sample id trains end to end in the engine (downloads served from a loopback copy)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from executor import run_workflow
from executor.datasets import catalog, sample_ids
from sandbox.context import JobContext
from tests.executor.test_remote_support import LocalServer, limits, server_fixture  # noqa: F401

pytestmark = pytest.mark.slow  # every sample dataset trained end to end

# id -> algorithm, problem type (the first of the sample's problem types)
ALGORITHMS = {
    "air_passengers": "random_forest",
    "boston_housing": "linear_regression",
    "breast_cancer": "logistic_regression",
    "california_housing": "random_forest",
    "credit_fraud": "decision_tree",
    "diabetes": "linear_regression",
    "digits": "knn",
    "imdb_reviews": "logistic_regression",
    "iris": "random_forest",
    "sms_spam": "naive_bayes",
    "synthetic_imbalanced": "xgboost",
    "titanic": "random_forest",
    "transactions_categorical": "decision_tree",
    "wine": "svm",
}


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def _published_copy(key: str) -> bytes:
    """A small file in the published format of each download, big enough to split and train."""
    rng = np.random.default_rng(0)
    if key == "california_housing":
        rows = [
            f"{-122 + rng.random():.3f},{37 + rng.random():.3f},{rng.integers(1, 50)},{rng.integers(500, 3000)},"
            f"{rng.integers(100, 500)},{rng.integers(300, 2000)},{rng.integers(100, 500)},{rng.random() * 10:.4f},"
            f"{rng.integers(50_000, 500_000)}"
            for _ in range(120)
        ]
        data = ("\n".join(rows) + "\n").encode()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            info = tarfile.TarInfo("CaliforniaHousing/cal_housing.data")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        return buffer.getvalue()
    if key == "titanic":
        head = "PassengerId,Survived,Pclass,Name,Sex,Age,SibSp,Parch,Ticket,Fare,Cabin,Embarked\n"
        rows = [
            f'{i},{i % 2},{1 + i % 3},"Doe, Mr. J{i}",{"male" if i % 3 else "female"},{"" if i % 5 == 0 else 20 + i % 40},'
            f"{i % 2},0,A/{i},{7 + i % 30}.25,{'C' + str(i) if i % 4 == 0 else ''},{'SCQ'[i % 3]}"
            for i in range(1, 121)
        ]
        return (head + "\n".join(rows) + "\n").encode()
    if key == "sms_spam":
        words = ["free", "win", "call", "prize", "hello", "lunch", "later", "home", "ok", "see"]
        lines = [
            f"{'spam' if i % 4 == 0 else 'ham'}\t"
            + " ".join(words[(i + j) % 5 if i % 4 == 0 else 5 + (i + j) % 5] for j in range(6))
            for i in range(120)
        ]
        return _zip("SMSSpamCollection", "\n".join(lines) + "\n")
    if key == "imdb_reviews":
        good, bad = ["great", "loved", "superb", "fun"], ["awful", "boring", "bad", "dull"]
        lines = [
            f"{' '.join((good if i % 2 else bad)[(i + j) % 4] for j in range(5))} film\t{i % 2}"
            for i in range(120)
        ]
        return _zip("sentiment labelled sentences/imdb_labelled.txt", "\n".join(lines) + "\n")
    if key == "credit_fraud":
        columns = ["Time", *[f"V{i}" for i in range(1, 29)], "Amount", "Class"]
        values = rng.normal(size=(400, 28))
        fraud = (np.arange(400) % 10 == 0).astype(int)
        values[:, 0] += 3 * fraud
        frame = pd.DataFrame(values, columns=columns[1:29])
        frame.insert(0, "Time", np.arange(400, dtype=float))
        frame["Amount"], frame["Class"] = rng.random(400) * 100, fraud
        return _zip("creditcard.csv", frame[columns].to_csv(index=False))
    raise KeyError(key)


def _workflow(key: str) -> dict[str, Any]:
    spec = catalog.SAMPLES[key]
    problem = spec.problem_types[0]
    metrics = ["accuracy", "f1"] if problem == "classification" else ["r2", "rmse"]
    nodes = [
        (
            "dataset-1",
            "dataset",
            {"dataset_id": key, "is_sample": True, "target_column": spec.target, "problem_type": problem},
        ),
        ("split-2", "split", {"test_size": 0.25, "random_seed": 0, "stratify": problem == "classification"}),
        ("model-3", "model", {"algorithm": ALGORITHMS[key], "hyperparameters": {}}),
        ("evaluate-4", "evaluate", {"selected_metrics": metrics}),
    ]
    return {
        "nodes": [{"id": i, "type": t, "config": c, "position": None} for i, t, c in nodes],
        "edges": [
            {"id": f"e{n}", "source": a, "target": b, "source_handle": None, "target_handle": None}
            for n, (a, b) in enumerate(
                [("dataset-1", "split-2"), ("split-2", "model-3"), ("model-3", "evaluate-4")]
            )
        ],
    }


def test_every_sample_id_has_an_algorithm_here() -> None:
    assert sorted(ALGORITHMS) == sample_ids()


@pytest.mark.parametrize("key", sorted(ALGORITHMS))
def test_every_sample_trains_and_is_scored(
    key: str, server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if key in catalog.DOWNLOADS:
        body = _published_copy(key)
        spec = dataclasses.replace(
            catalog.DOWNLOADS[key], url=server.serve(f"/{key}", body), sha256=hashlib.sha256(body).hexdigest()
        )
        monkeypatch.setitem(catalog.DOWNLOADS, key, spec)
    result = run_workflow(
        _workflow(key), limits=limits(cache_dir=str(tmp_path)), ctx=JobContext.local(tmpdir=tmp_path)
    )
    assert result["status"] == "completed", result.get("error")
    metrics = result["results"]["metrics"]
    assert metrics and all(np.isfinite(m["value"]) for m in metrics)
