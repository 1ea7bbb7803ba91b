"""K-Means plots: cluster scatter (2-D PCA), elbow (inertia vs k) and silhouette."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_samples

from executor.algorithms import inner_estimator
from executor.evaluation import Evaluation
from executor.plots._figure import PlotContext, PlotUnavailable, dense, new_figure, sample_rows, take

__all__ = ["cluster_scatter", "elbow", "silhouette"]

ELBOW_EXTRA_K = 4
"""The elbow plot tries k = 1 .. chosen k + this many (at least ELBOW_MIN_K values)."""
ELBOW_MIN_K = 8
ELBOW_N_INIT = 3
"""Restarts per k in the elbow plot: enough for a smooth curve, far cheaper than the model's own."""


def _clustered(ev: Evaluation, ctx: PlotContext) -> tuple[np.ndarray, np.ndarray]:
    if ev.cluster_labels is None:
        raise PlotUnavailable("no cluster labels were produced")
    labels = np.asarray(ev.cluster_labels)
    rows = sample_rows(len(labels), ctx.max_rows, ctx.seed)
    return dense(take(ev.transform(ev.X_test), rows)), labels[rows]


def cluster_scatter(ev: Evaluation, ctx: PlotContext) -> Figure:
    X, labels = _clustered(ev, ctx)
    fig = new_figure()
    ax = fig.add_subplot()
    centers = getattr(inner_estimator(ev.estimator), "cluster_centers_", None)
    if X.shape[1] >= 2:
        pca = PCA(n_components=2, random_state=ctx.seed).fit(X)
        xy = pca.transform(X)
        explained = pca.explained_variance_ratio_
        ax.set_xlabel(f"PC1 ({explained[0]:.0%} of variance)")
        ax.set_ylabel(f"PC2 ({explained[1]:.0%} of variance)")
        centers_xy = pca.transform(np.asarray(centers)) if centers is not None else None
    else:
        xy = np.column_stack([X[:, 0], np.zeros(len(X))])
        ax.set_xlabel("feature")
        centers_xy = np.column_stack([np.asarray(centers)[:, 0], np.zeros(len(centers))]) if centers is not None else None
    scatter = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=14, alpha=0.7)
    if centers_xy is not None:
        ax.scatter(centers_xy[:, 0], centers_xy[:, 1], marker="X", s=120, c="black", label="centres")
        ax.legend(loc="best")
    fig.colorbar(scatter, ax=ax, label="cluster")
    ax.set_title(f"Cluster Scatter Plot · {len(np.unique(labels))} clusters")
    return fig


def elbow(ev: Evaluation, ctx: PlotContext) -> Figure:
    est = inner_estimator(ev.estimator)
    chosen = int(getattr(est, "n_clusters", 0) or 0)
    rows = sample_rows(len(ev.X_train), ctx.max_rows, ctx.seed)
    X = dense(take(ev.transform(ev.X_train), rows))
    top = min(len(X), max(ELBOW_MIN_K, chosen + ELBOW_EXTRA_K))
    if top < 2:
        raise PlotUnavailable("there are too few rows to compare cluster counts")
    ks = list(range(1, top + 1))
    base = est if isinstance(est, KMeans) else KMeans(random_state=ctx.seed)
    inertias = [clone(base).set_params(n_clusters=k, n_init=ELBOW_N_INIT).fit(X).inertia_ for k in ks]
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot(ks, inertias, marker="o")
    if chosen in ks:
        ax.axvline(chosen, color="red", linestyle="--", linewidth=1, label=f"chosen k = {chosen}")
        ax.legend(loc="best")
    ax.set_xlabel("Number of clusters k")
    ax.set_ylabel("Inertia")
    ax.set_title("Elbow Plot" + (f" ({len(rows)} of {len(ev.X_train)} rows)" if len(rows) < len(ev.X_train) else ""))
    return fig


def silhouette(ev: Evaluation, ctx: PlotContext) -> Figure:
    X, labels = _clustered(ev, ctx)
    clusters = np.unique(labels)
    if not 2 <= clusters.size < len(labels):
        raise PlotUnavailable(f"silhouettes need between 2 and n-1 clusters (found {clusters.size})")
    values = silhouette_samples(X, labels)
    fig = new_figure()
    ax = fig.add_subplot()
    low = 0
    for c in clusters:
        part = np.sort(values[labels == c])
        ax.fill_betweenx(np.arange(low, low + len(part)), 0, part, alpha=0.7)
        ax.text(-0.05, low + len(part) / 2, str(c), ha="right", va="center", fontsize="small")
        low += len(part) + 10
    ax.axvline(values.mean(), color="red", linestyle="--", linewidth=1, label=f"mean {values.mean():.3f}")
    ax.set_xlabel("Silhouette coefficient")
    ax.set_ylabel("Rows, grouped by cluster")
    ax.set_yticks([])
    ax.legend(loc="best")
    ax.set_title("Silhouette Plot")
    return fig
