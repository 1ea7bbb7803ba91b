"""The algorithm registry: slug → :class:`AlgorithmSpec` for the platform's 10 algorithms."""

from __future__ import annotations

from executor.algorithms._base import AlgorithmSpec, BuiltModel, ResourceCaps, inner_estimator
from executor.algorithms._linear import LINEAR_SPECS
from executor.algorithms._other import OTHER_SPECS
from executor.algorithms._trees import TREE_SPECS
from executor.echo import listing, shown
from executor.errors import InvalidWorkflowError

__all__ = [
    "ALGORITHMS",
    "AlgorithmSpec",
    "BuiltModel",
    "ResourceCaps",
    "algorithm_names",
    "get_algorithm",
    "inner_estimator",
]

ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.slug: spec
    for spec in sorted([*LINEAR_SPECS, *TREE_SPECS, *OTHER_SPECS], key=lambda s: s.slug)
}
"""Every algorithm the worker trains, keyed by the platform's slug."""


def algorithm_names() -> list[str]:
    """The valid algorithm slugs, sorted."""
    return sorted(ALGORITHMS)


def get_algorithm(slug: str, *, node_id: str | None = None) -> AlgorithmSpec:
    """The spec for ``slug`` (case-insensitive); an unknown slug is an InvalidWorkflowError listing the valid ones."""
    key = slug.strip().lower() if isinstance(slug, str) else slug
    spec = ALGORITHMS.get(key) if isinstance(key, str) else None
    if spec is None:
        raise InvalidWorkflowError(
            f"{shown(slug)} is not a known algorithm",
            node_id=node_id,
            field="algorithm",
            value=slug,
            hint=f"Valid algorithms: {listing(algorithm_names())}",
        )
    return spec
