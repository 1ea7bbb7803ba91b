"""Clustering leaves the label out: a sample's known label column, or a target the user named."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_iris
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from tests.executor import enginekit as kit


def _kmeans(target: str | None) -> dict:
    wf = kit.example("kmeans_clustering")
    kit.node(wf, "dataset-11")["config"]["target_column"] = target
    return wf


@pytest.mark.parametrize("target", [None, "target"])
def test_kmeans_on_iris_clusters_the_four_measurements_only(target: str | None) -> None:
    out = kit.run(_kmeans(target))
    assert out["status"] == "completed", out.get("error")
    res = out["results"]
    assert res["featuresCount"] == 4
    assert res["dataset"]["target"] == "target"
    assert any("label column 'target' is left out of the features" in w for w in res["warnings"])
    assert [c["name"] for c in res["modelUsage"]["columns"]] == list(load_iris(as_frame=True).data.columns)
    # the same as scikit-learn on the four measurements, scaled as the workflow says
    X = StandardScaler().fit_transform(load_iris().data)
    labels = KMeans(n_clusters=3, n_init=10, random_state=42).fit_predict(X)
    silhouette = next(m["value"] for m in res["metrics"] if m["key"] == "silhouette_score")
    assert silhouette == pytest.approx(silhouette_score(X, labels))


def test_a_user_dataset_without_a_named_target_clusters_every_column() -> None:
    rng = np.random.default_rng(0)
    records = [{"a": float(x), "b": float(y), "c": float(x + y)} for x, y in rng.normal(size=(60, 2))]
    out = kit.run(kit.inline_workflow(records, None, "clustering", algorithm="kmeans"))
    assert out["status"] == "completed", out.get("error")
    assert out["results"]["featuresCount"] == 3


def test_a_user_named_target_is_left_out_of_clustering() -> None:
    rng = np.random.default_rng(0)
    records = [{"a": float(x), "b": float(y), "group": int(x > 0)} for x, y in rng.normal(size=(60, 2))]
    out = kit.run(kit.inline_workflow(records, "group", "clustering", algorithm="kmeans"))
    assert out["status"] == "completed", out.get("error")
    assert out["results"]["featuresCount"] == 2
    assert any("label column 'group' is left out" in w for w in out["results"]["warnings"])
