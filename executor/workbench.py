"""From a model's data chain to a trained model: load, resolve the target, filter, split, build, fit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from executor.algorithms import ResourceCaps
from executor.echo import clip, clip_message, shown, tag
from executor.errors import ExecutionError, InvalidWorkflowError
from executor.limits import EngineLimits
from executor.preprocess import PlannedOp, apply_filters, build_steps, collect_notes
from executor.problem import encode_target, resolve_target
from executor.progress import Progress
from executor.schema import DatasetConfig, ModelConfig, SplitConfig
from executor.training import DEFAULT_CV_FOLDS, Trained, split_rows, train_model, trial_count
from executor.validate import Plan

__all__ = ["PARALLEL_MIN_ROWS", "Prepared", "Workbench"]

PARALLEL_MIN_ROWS = 2000
"""Scheduling policy (not a limit): below this many training rows a model trains on one thread,
because starting and joining worker threads costs more than the work they would share."""


@dataclass
class Prepared:
    """A model's data after filters: features, encoded target, split and facts for the result."""

    X: pd.DataFrame
    y: Any
    problem_type: str
    target: str | None
    class_names: list[str] | None
    planned: list[PlannedOp]
    split_cfg: SplitConfig | None
    split_node: str | None
    dataset: dict[str, Any]


class Workbench:
    """Loads each dataset once and turns each model node's chain into a :class:`Trained`."""

    def __init__(self, plan: Plan, limits: EngineLimits, ctx: Any, warnings: list[str],
                 files: dict[str, Path] | None = None) -> None:
        self.plan = plan
        self.limits = limits
        self.ctx = ctx
        self.files = dict(files or {})
        """Dataset node id → the CSV file the parent passed for it, in the job's dir."""
        self.warnings = warnings
        self.loaded: dict[str, Any] = {}
        self.summaries: dict[str, dict[str, Any]] = {}
        self._seen = set(warnings)

    def warn(self, notes: list[str]) -> None:
        """Add ``notes`` to the run's warnings, each once (a set, so many notes cost linear time), each cut."""
        for note in notes:
            text = clip_message(note)
            if text not in self._seen:
                self._seen.add(text)
                self.warnings.append(text)

    def load(self, nid: str, cfg: DatasetConfig) -> None:
        """Load the dataset node's data (a file passed for it, inline, URL or sample) under the data limits."""
        from executor.datasets import DatasetRequest, load_dataset

        req = DatasetRequest(dataset_id=cfg.dataset_id, is_sample=cfg.is_sample, url=cfg.dataset_url,
                             data=cfg.data, file=self.files.get(nid), name=cfg.dataset_name, node_id=nid)
        loaded = load_dataset(req, limits=self.limits, ctx=self.ctx)
        self.loaded[nid] = loaded
        self.warn([f"{tag(nid)} {w}" for w in loaded.warnings])

    def _fallbacks(self, chain: list[str]) -> tuple[str | None, str | None]:
        target = problem = None
        for nid in reversed(chain[1:]):
            cfg = self.plan.configs.get(nid)
            target = target or getattr(cfg, "target_column", None)
            problem = problem or getattr(cfg, "problem_type", None)
        return target, problem

    def prepare(self, model_id: str) -> Prepared:
        """Resolve the target, run the row filters and encode the labels for one model."""
        graph = self.plan.graph
        chain = graph.chain(model_id)
        ds_id = chain[0]
        ds_cfg = self.plan.configs[ds_id]
        assert isinstance(ds_cfg, DatasetConfig)
        loaded = self.loaded[ds_id]
        model_cfg = self.plan.configs[model_id]
        assert isinstance(model_cfg, ModelConfig)
        spec = self.plan.specs[model_id]
        fb_target, fb_problem = self._fallbacks(chain)
        target = resolve_target(
            loaded.frame, dataset_id=ds_id, target=ds_cfg.target_column,
            target_given="target_column" in ds_cfg.model_fields_set, problem_type=ds_cfg.problem_type,
            fallback_target=fb_target, fallback_problem=fb_problem,
            default_target=getattr(loaded, "default_target", None),
            algorithm_clusters="clustering" in spec.problem_types)
        self.warn([f"{tag(ds_id)} {n}" for n in target.notes])
        planned = [op for nid in chain if graph.nodes[nid].type == "preprocessing"
                   for op in self.plan.ops.get(nid, [])]
        splits = [nid for nid in chain if graph.nodes[nid].type == "split"]
        if len(splits) > 1:
            self.warn([f"{tag(model_id)} {len(splits)} split nodes on the path; the last, {clip(splits[-1])}, is used"])
        frame, notes = apply_filters(loaded.frame, planned, target.column)
        self.warn(notes)
        y = None
        class_names = None
        if target.problem_type != "clustering":
            assert target.column is not None
            missing = frame[target.column].isna()
            if missing.any():
                self.warn([f"{tag(ds_id)} {int(missing.sum())} row(s) without a target value were dropped"])
                frame = frame[~missing]
            y, class_names = encode_target(frame[target.column], target.problem_type, node_id=ds_id)
            if class_names is not None and len(class_names) < 2:
                raise ExecutionError(f"the target {shown(target.column)} has a single class ({shown(class_names[0])});"
                                     " classification needs at least two", node_id=ds_id, field="target_column")
        X = frame.drop(columns=[target.column]) if target.column is not None else frame
        if X.shape[1] == 0:
            raise InvalidWorkflowError("no feature columns are left after preprocessing", node_id=ds_id,
                                       field="columns")
        summary = {"rows": int(len(frame)), "columns": int(loaded.frame.shape[1]), "target": target.column,
                   "classes": class_names, "name": getattr(loaded, "name", None) or ds_cfg.dataset_name,
                   "source": getattr(loaded, "source", None)}
        split_cfg = self.plan.configs[splits[-1]] if splits else None
        assert split_cfg is None or isinstance(split_cfg, SplitConfig)
        return Prepared(X.reset_index(drop=True), y, target.problem_type, target.column, class_names, planned,
                        split_cfg, splits[-1] if splits else None, summary)

    def train(self, model_id: str, progress: Progress | None = None) -> Trained:
        """Prepare, split, build the estimator and fit it (with CV or search when asked).

        ``progress`` gets the search's trials, then the folds, then the final fit, each stage a
        share of the node proportional to its number of fits.
        """
        progress = progress or Progress.silent()
        prep = self.prepare(model_id)
        self.summaries[model_id] = prep.dataset
        cfg = self.plan.configs[model_id]
        assert isinstance(cfg, ModelConfig)
        spec = self.plan.specs[model_id]
        split = split_rows(prep.y, len(prep.X), prep.split_cfg, prep.problem_type,
                           node_id=prep.split_node or model_id)
        self.warn(split.notes)
        folds = (cfg.cv_folds or DEFAULT_CV_FOLDS) if cfg.use_cross_validation else None
        n_train = len(split.train)
        if folds:
            n_train = min(n_train, len(prep.X) - math.ceil(len(prep.X) / folds))
        loaded = self.loaded[self.plan.graph.chain(model_id)[0]]
        steps = build_steps(prep.planned, prep.target, max_columns=self.limits.data.max_columns,
                            text_columns=list(getattr(loaded, "text_columns", None) or []),
                            date_columns=list(getattr(loaded, "date_columns", None) or []))
        hyper = cfg.hyperparameters
        search: dict[str, Any] = {}
        trials = trial_count(cfg, self.limits) if cfg.use_optuna else 0
        fits = trials + (folds or 0) + 1
        if cfg.use_optuna:
            from executor.search import run_search

            hyper, search, notes = run_search(
                spec=spec, cfg=cfg, steps=steps, prep=prep, split=split, limits=self.limits, ctx=self.ctx,
                model_id=model_id, progress=progress.part(0, trials / fits))
            self.warn(notes)
        threads = self.ctx.threads if n_train >= PARALLEL_MIN_ROWS else 1
        built = spec.build(prep.problem_type, hyper, threads=threads, n_samples=n_train,
                           n_features=prep.X.shape[1], n_classes=len(prep.class_names) if prep.class_names else None,
                           seed_default=split.seed, node_id=model_id, caps=ResourceCaps.from_limits(self.limits.model))
        self.warn([f"{tag(model_id)} {w}" for w in built.warnings])
        trained = train_model(node_id=model_id, spec=spec, built=built, steps=steps, problem_type=prep.problem_type,
                              X=prep.X, y=prep.y, split=split, class_names=prep.class_names,
                              threads=self.ctx.threads, cv_folds=folds,
                              progress=progress.part(trials / fits, 1 - trials / fits))
        if search:
            trained.mode = "optuna"
            trained.search = search
            trained.seconds += float(search.get("seconds", 0.0))
        self.warn(trained.notes)
        self.warn(collect_notes(trained.evaluation.refit.steps[:-1]))
        return trained

    def dataset_summary(self, model_id: str) -> dict[str, Any]:
        """``dataset`` of the result: rows, columns, target, classes (of the model's dataset)."""
        return self.summaries.get(model_id, {})
