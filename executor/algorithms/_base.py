"""The algorithm spec: declared hyperparameter constraints, one validator, and a builder per algorithm."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from executor.echo import listing, shown
from executor.errors import InvalidWorkflowError, Problem
from executor.params import Param, ParamError

__all__ = ["AlgorithmSpec", "BuildContext", "BuiltModel", "ResourceCaps", "inner_estimator"]

PROBLEM_TYPES = ("classification", "regression", "clustering")


@dataclass(frozen=True)
class BuiltModel:
    """An unfitted estimator, the effective (coerced, JSON-able) hyperparameters and warnings."""

    estimator: Any
    params: dict[str, Any]
    warnings: list[str]


@dataclass(frozen=True)
class ResourceCaps:
    """Optional ceilings that protect the job's memory budget; None = no ceiling.

    Values come from limits.toml ``[model]`` (:meth:`from_limits`; never literals here). A larger
    request is clamped with a warning.
    """

    max_estimators: int | None = None
    """Most trees in a forest or boosting ensemble."""
    max_hidden_units: int | None = None
    """Most neurons summed over a neural network's hidden layers."""
    max_iter: int | None = None
    """Most optimiser iterations or epochs."""

    @classmethod
    def from_limits(cls, limits: Any) -> ResourceCaps:
        """The caps of a ``[model]`` table (:class:`executor.limits.ModelLimits`); 0 means no ceiling."""
        return cls(max_estimators=limits.max_estimators or None, max_hidden_units=limits.max_hidden_units or None,
                   max_iter=limits.max_iter or None)


@dataclass
class BuildContext:
    """What a builder knows about the run, and where it records warnings."""

    algorithm_name: str
    problem_type: str
    threads: int
    n_samples: int
    n_features: int
    n_classes: int | None
    caps: ResourceCaps
    warnings: list[str] = field(default_factory=list)

    @property
    def is_classifier(self) -> bool:
        return self.problem_type == "classification"

    def warn(self, message: str) -> None:
        self.warnings.append(f"{self.algorithm_name}: {message}")

    def cap(self, params: dict[str, Any], key: str, ceiling: int | None, what: str) -> None:
        """Clamp ``params[key]`` to ``ceiling`` (a limit from the caller) with a warning."""
        value = params.get(key)
        if ceiling is not None and isinstance(value, int) and value > ceiling:
            self.warn(f"{key}={value} is above the worker's limit of {ceiling} {what}; using {ceiling}")
            params[key] = ceiling


Builder = Callable[[dict[str, Any], BuildContext], Any]
"""Turns coerced hyperparameters into an unfitted estimator; edits the dict to the effective values."""


@dataclass(frozen=True)
class AlgorithmSpec:
    """One registry entry: display name, problem types, declared constraints and a builder."""

    slug: str
    name: str
    problem_types: frozenset[str]
    _parameter_constraints: Mapping[str, Param]
    _builder: Builder
    uses_seed: bool = True
    """True when the algorithm has a ``random_state`` (filled from the seed when absent)."""

    def supports(self, problem_type: str | None) -> bool:
        """True when this algorithm can be trained for ``problem_type``."""
        return problem_type in self.problem_types

    def parameter_names(self) -> list[str]:
        """The hyperparameter keys this algorithm understands."""
        return sorted(self._parameter_constraints)

    def build(
        self,
        problem_type: str,
        hyperparameters: Mapping[str, Any] | None,
        *,
        threads: int,
        n_samples: int,
        n_features: int,
        n_classes: int | None,
        seed_default: int = 42,
        node_id: str | None = None,
        caps: ResourceCaps | None = None,
    ) -> BuiltModel:
        """Validate and normalise ``hyperparameters`` and return the unfitted estimator.

        Every problem found in the values is reported at once in one InvalidWorkflowError
        (field ``hyperparameters.<key>``). Normalisations that change what the user asked for
        are reported in ``BuiltModel.warnings``.
        """
        if not self.supports(problem_type):
            supported = ", ".join(sorted(self.problem_types))
            raise InvalidWorkflowError(
                f"{self.name} cannot be used for {shown(problem_type)} problems (it supports: {supported})",
                node_id=node_id,
                field="algorithm",
                value=self.slug,
                label=self.name,
            )
        if hyperparameters is not None and not isinstance(hyperparameters, Mapping):
            raise InvalidWorkflowError(
                f"must be an object of hyperparameters. Got {type(hyperparameters).__name__} instead.",
                node_id=node_id,
                field="hyperparameters",
                value=hyperparameters,
                label=self.name,
            )
        ctx = BuildContext(
            self.name, problem_type, max(1, int(threads)), int(n_samples), int(n_features),
            n_classes, caps or ResourceCaps(),
        )
        params = self._coerce(dict(hyperparameters or {}), ctx, node_id)
        if self.uses_seed and params.get("random_state") is None:
            params["random_state"] = int(seed_default)
        estimator = self._builder(params, ctx)
        return BuiltModel(estimator, _jsonable_params(params), ctx.warnings)

    def _coerce(self, raw: dict[str, Any], ctx: BuildContext, node_id: str | None) -> dict[str, Any]:
        problems: list[Problem] = []
        params: dict[str, Any] = {}
        for key, constraint in self._parameter_constraints.items():
            if key not in raw:
                params[key] = constraint.default
                continue
            try:
                value, notes = constraint.coerce(raw[key], key)
            except ParamError as exc:
                problems.append(Problem(str(exc), node_id, f"hyperparameters.{key}", raw[key]))
                continue
            params[key] = value
            for note in notes:
                ctx.warn(note)
        unused = [key for key in raw if key not in self._parameter_constraints]
        if len(unused) == 1:
            ctx.warn(f"hyperparameter {shown(unused[0])} is not used by this algorithm and was ignored")
        elif unused:  # one warning for all of them, however many were sent
            ctx.warn(f"hyperparameters {listing(unused, quote=True)} are not used by this algorithm and were"
                     " ignored")
        if problems:
            first = problems[0]
            raise InvalidWorkflowError(
                f"invalid hyperparameters for {self.name}" if len(problems) > 1 else first.message,
                node_id=node_id,
                field=first.field,
                value=first.value,
                label=self.name,
                problems=problems,
            )
        return params


def _jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, float) and not math.isfinite(value):
            value = None
        out[key] = value
    return out


def inner_estimator(estimator: Any) -> Any:
    """The model that holds learned attributes (``coef_``, ``feature_importances_``).

    Unwraps a Pipeline (its last step) and a fitted single-model CalibratedClassifierCV (the
    SVM behind Platt-scaled probabilities).
    """
    seen = 0
    while seen < 8:  # wrappers nest at most a few levels; the bound only guards against cycles
        seen += 1
        steps = getattr(estimator, "steps", None)
        if steps:
            estimator = steps[-1][1]
            continue
        calibrated = getattr(estimator, "calibrated_classifiers_", None)
        if calibrated and len(calibrated) == 1:
            estimator = calibrated[0].estimator
            continue
        break
    return estimator
