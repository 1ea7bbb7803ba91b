"""The base of every learned preprocessing step: it plans a library-only transformer on the training rows.

A step is an engine-side estimator: when fitted (on training rows only) it looks at the data
(which columns, which bounds, what to skip), builds a transformer made of library components only
(:mod:`executor.preprocess.portable`) and fits it. The pipeline the engine trains holds the steps;
the model it returns holds only their ``transformer_`` (see :func:`export_pipeline`), so it loads
without this project installed.
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from executor.echo import tag
from executor.errors import ExecutionError, WorkflowError
from executor.preprocess.columns import ColumnsNotFound
from executor.preprocess.vocab import CanonicalOp

__all__ = ["FrameStep", "export_pipeline"]


class FrameStep(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A pipeline step fitted on training rows only.

    ``op`` is the canonical op, ``node_id``/``field`` say where it came from (for messages),
    ``max_columns`` caps the width it may produce (``[data] max_columns``; 0 = no cap),
    ``target`` is the label column, never touched. Fitted steps expose ``notes_`` (what they did)
    and ``transformer_``: the fitted library-only transformer, or None when the step changes
    nothing.
    """

    def __init__(self, op: CanonicalOp | None = None, node_id: str | None = None, field: str | None = None,
                 max_columns: int = 0, target: str | None = None) -> None:
        self.op = op
        self.node_id = node_id
        self.field = field
        self.max_columns = max_columns
        self.target = target

    # -- subclass hooks ---------------------------------------------------------------------------
    def _plan(self, X: pd.DataFrame) -> Any:
        """An unfitted library-only transformer for ``X`` (training rows), or None for no change."""
        raise NotImplementedError

    def _fitted(self, transformer: Any, X: pd.DataFrame) -> None:
        """Called after ``transformer`` was fitted on ``X``: notes on what it learned."""

    # -- sklearn API ------------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        return self.op.params if self.op is not None else {}

    def fit(self, X: pd.DataFrame, y: Any = None) -> FrameStep:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> pd.DataFrame:
        self.notes_: list[str] = []
        with self._guard("fit"):
            transformer = self._plan(X)
            out = X if transformer is None else transformer.fit_transform(X)
            if transformer is not None:
                self._fitted(transformer, X)
        self.transformer_ = transformer
        self._check_width(out.shape[1])
        return out

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if self.transformer_ is None:
            return X
        with self._guard("transform"):
            return self.transformer_.transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        return None

    # -- helpers ----------------------------------------------------------------------------------
    def _check_width(self, width: int) -> None:
        """Refuse a step that would produce more than ``max_columns`` features (before or after fitting)."""
        if self.max_columns and width > self.max_columns:
            raise ExecutionError(
                f"{self._label()} would produce {width} features, above the worker's limit of"
                f" {self.max_columns} ([data] max_columns); select fewer columns or a lower degree",
                node_id=self.node_id, field=self.field, value=width)

    def _label(self) -> str:
        return f"operation {self.op.source!r}" if self.op is not None else f"step {type(self).__name__}"

    def _note(self, text: str) -> None:
        self.notes_.append(f"{tag(self.node_id)} {self.op.source if self.op else type(self).__name__}: {text}"
                           if self.node_id else text)

    def _guard(self, stage: str) -> _Guard:
        return _Guard(self, stage)


def export_pipeline(model: Pipeline) -> Pipeline:
    """The returned model: each fitted step's library-only transformer, then the fitted estimator.

    ``model`` is the engine's fitted pipeline (steps, then ``("model", estimator)``); steps that
    change nothing are left out. Nothing of this project is in the result.
    """
    steps = [(name, step.transformer_) for name, step in model.steps[:-1] if step.transformer_ is not None]
    return Pipeline([*steps, model.steps[-1]])


class _Guard:
    """Turns any exception inside a step into an ExecutionError naming the op and its node."""

    def __init__(self, step: FrameStep, stage: str) -> None:
        self.step = step
        self.stage = stage
        self._warnings = warnings.catch_warnings()

    def __enter__(self) -> None:
        self._warnings.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        self._warnings.__exit__(exc_type, exc, tb)
        if exc is None or isinstance(exc, (WorkflowError, MemoryError)):
            return False
        if isinstance(exc, OSError):  # e.g. EFBIG: the sandbox classifies it
            return False
        step = self.step
        if isinstance(exc, ColumnsNotFound):
            raise ExecutionError(f"{step._label()}: {exc}", node_id=step.node_id,
                                 field=f"{step.field}.params.columns" if step.field else "columns",
                                 value=exc.missing) from exc
        raise ExecutionError(f"{step._label()} failed to {self.stage}: {type(exc).__name__}: {exc}",
                             node_id=step.node_id, field=step.field) from exc
