"""Run a validated workflow node by node (in graph order) and assemble the result envelope."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from executor.echo import clip, listing, shown, tag, text_limits_in_force
from executor.errors import ExecutionError, InvalidWorkflowError, WorkflowError
from executor.graph import Graph
from executor.limits import EngineLimits
from executor.progress import Progress
from executor.results import encode_model, finite, model_result
from executor.schema import DatasetConfig, EvaluateConfig, FaultConfig, VisualizeConfig
from executor.scoring import score_model
from executor.training import Trained
from executor.validate import Plan, validate_workflow
from executor.workbench import Workbench
from sandbox.errors import limit_error

__all__ = ["run_workflow"]


class _Run:
    """State of one run: datasets loaded, models trained, per-node statuses and warnings."""

    def __init__(self, plan: Plan, limits: EngineLimits, ctx: Any, files: dict[str, Path] | None = None) -> None:
        self.plan = plan
        self.graph: Graph = plan.graph
        self.limits = limits
        self.ctx = ctx
        self.warnings: list[str] = list(plan.warnings)
        self.nodes: list[dict[str, Any]] = []
        self.bench = Workbench(plan, limits, ctx, self.warnings, files)
        self.trained: dict[str, Trained] = {}
        self.metrics: dict[str, list[dict[str, Any]]] = {}
        self.plots: dict[str, list[dict[str, Any]]] = {}
        self.extra: dict[str, dict[str, Any]] = {}
        self.current: str | None = None
        self.progress = Progress.silent()
        """Detail events of the running node (folds, trials, plots)."""
        self.skipped: list[str] = []
        self.outputs: dict[str, Any] = {}
        """What a node returned that the result shows as-is (fault nodes, e.g. report_env)."""
        models = self.graph.of_type("model")
        self.used = {nid for m in models for nid in self.graph.chain(m)}
        for m in models:
            evaluates, visuals = self.graph.attachments(m)
            self.used.update(evaluates, visuals)

    def run(self) -> dict[str, Any]:
        order = self.graph.order
        for i, nid in enumerate(order):
            node = self.graph.nodes[nid]
            self.current = nid
            event = {"type": "progress", "node": nid, "nodeType": node.type, "index": i, "total": len(order)}
            self.ctx.emit(event)
            self.progress = Progress(self.ctx.emit, event)
            started = time.perf_counter()
            status = self._node(nid, node.type, node.config)
            entry = {"id": nid, "type": node.type, "status": status, "seconds": round(time.perf_counter() - started, 4)}
            if nid in self.outputs:
                entry["output"] = self.outputs[nid]
            self.nodes.append(entry)
        self.current = None
        if len(self.skipped) == 1:
            self.warnings.append(f"{tag(self.skipped[0])} is not connected to any model and was skipped")
        elif self.skipped:  # one warning, however many nodes
            self.warnings.append(f"nodes {listing(self.skipped)} are not connected to any model and were skipped")
        return self._envelope()

    def _node(self, nid: str, ntype: str, cfg: Any) -> str:
        if ntype == "fault":
            from sandbox.faults import run_fault  # testing only; validation refused it unless enabled

            assert isinstance(cfg, FaultConfig)
            params = {k: v for k, v in cfg.model_dump().items() if k != "kind"}
            output = run_fault(cfg.kind, params, self.ctx)
            if output is not None:
                self.outputs[nid] = output
            return "completed"
        if nid not in self.used:
            self.skipped.append(nid)
            return "skipped"
        if ntype == "dataset":
            assert isinstance(cfg, DatasetConfig)
            self.bench.load(nid, cfg)
        elif ntype == "model":
            self.trained[nid] = self.bench.train(nid, progress=self.progress)
        elif ntype == "evaluate":
            assert isinstance(cfg, EvaluateConfig)
            for model_id in self._models_of(nid, 0):
                self._evaluate(model_id, cfg.selected_metrics or [], cfg)
        elif ntype == "visualize":
            assert isinstance(cfg, VisualizeConfig)
            models = self._models_of(nid, 1)
            for j, model_id in enumerate(models):
                self._visualize(model_id, cfg.selected_plots or [], self.progress.part(j / len(models), 1 / len(models)))
        return "completed"

    def _models_of(self, nid: str, which: int) -> list[str]:
        return [m for m in self.graph.of_type("model") if nid in self.graph.attachments(m)[which]]

    def _evaluate(self, model_id: str, requested: list[str], cfg: EvaluateConfig | None) -> None:
        trained = self.trained[model_id]
        if not requested:
            from executor.metrics import default_metrics

            requested = default_metrics(trained.evaluation.problem_type)
        metrics, notes, extra = score_model(trained, requested, cfg, limits=self.limits,
                                            remaining_seconds=self.ctx.remaining_seconds())
        self.extra.setdefault(model_id, {}).update(extra)
        have = {m["key"] for m in self.metrics.setdefault(model_id, [])}
        self.metrics[model_id] += [m for m in metrics if m["key"] not in have]
        self._note(model_id, notes)

    def _visualize(self, model_id: str, requested: list[str], progress: Progress) -> None:
        from executor.plots import render_plots

        trained = self.trained[model_id]
        try:
            plots, notes = render_plots(requested, trained.evaluation, dpi=self.limits.output.plot_dpi,
                                        max_rows=self.limits.output.max_explain_rows, progress=progress)
        except (WorkflowError, MemoryError, OSError):
            raise
        except Exception as exc:
            raise ExecutionError(f"plotting failed: {type(exc).__name__}: {exc}", node_id=model_id,
                                 label=trained.spec.name) from exc
        have = {p["key"] for p in self.plots.setdefault(model_id, [])}
        self.plots[model_id] += [p for p in plots if p["key"] not in have]
        self._note(model_id, notes)

    def _note(self, model_id: str, notes: list[str]) -> None:
        label = f"[{clip(model_id)} · {self.trained[model_id].spec.name}] " if len(self.trained) > 1 else ""
        self.bench.warn([label + note for note in notes])

    def _envelope(self) -> dict[str, Any]:
        ids = list(self.trained)
        if not ids:
            return {"status": "completed", "results": {"warnings": self.warnings, "nodes": self.nodes,
                                                        "creditsUsed": 0}}
        for model_id in ids:
            if model_id not in self.metrics:
                self.warnings.append(f"{tag(model_id)} has no evaluate node: the default metrics are reported")
                self._evaluate(model_id, [], None)
        entries = []
        budget = float(self.limits.output.max_model_mb)
        for model_id in ids:
            trained = self.trained[model_id]
            b64, size, note = encode_model(trained.evaluation.model, max_mb=self.limits.output.max_model_mb,
                                           budget_mb=budget)
            budget -= size / (1 << 20) if b64 else 0
            if note:
                self._note(model_id, [note])
            entry = model_result(trained, metrics=self.metrics.get(model_id, []),
                                 plots=self.plots.get(model_id, []), model_base64=b64, warnings=self.warnings)
            entries.append({**entry, **finite(self.extra.get(model_id, {}), self.warnings, "baseline")})
        results = dict(entries[0])
        results["dataset"] = self.bench.dataset_summary(ids[0])
        if len(entries) > 1:
            entries[0] = {**entries[0], "model_base64": None}  # sent once, at the top level
            results["models"] = entries
        results["nodes"] = self.nodes
        results["warnings"] = self.warnings
        return {"status": "completed", "results": results}


def run_workflow(
    workflow: dict[str, Any] | str, *, limits: EngineLimits, ctx: Any, files: dict[str, str] | None = None
) -> dict[str, Any]:
    """Validate and run ``workflow``; returns the API envelope and never raises, but for a limit.

    ``files`` maps dataset node ids to plain file names in ``ctx.tmpdir`` (the job's own dir): the
    node's data is that CSV file (the page's upload, passed by the parent beside the payload, never
    named by the workflow), parsed like inline CSV under the same ``[data]`` caps.

    An exception a limit caused (see :func:`sandbox.errors.limit_error`), even wrapped in an
    :class:`ExecutionError` by a node, is re-raised for the sandbox to report as that limit.

    The ``[request]`` text limits (``limits.text``) are in force for the whole run: every message,
    problem list and warning it builds is cut by them (see :mod:`executor.echo`).
    """
    with text_limits_in_force(limits.text):
        run: _Run | None = None
        try:
            plan = validate_workflow(workflow, fault_injection=bool(ctx.fault_injection))
            run = _Run(plan, limits, ctx, _job_files(files, plan, ctx))
            return run.run()
        except Exception as exc:
            if limit_error(exc) is not None:
                raise
            if isinstance(exc, WorkflowError):
                return exc.to_result()
            return _unexpected(exc, run)


def _job_files(files: Any, plan: Plan, ctx: Any) -> dict[str, Path]:
    """``files`` checked: each key a dataset node of the plan, each value a plain name in the job's dir."""
    if not files:
        return {}
    from sandbox.files import FilesRefused, check_file_name

    if not isinstance(files, dict):
        raise InvalidWorkflowError(f"the job's files must map dataset node ids to file names, not {type(files).__name__}",
                                   field="files")
    out = {}
    for nid, name in files.items():
        node = plan.graph.nodes.get(nid) if isinstance(nid, str) else None
        if node is None or node.type != "dataset":
            raise InvalidWorkflowError(f"a file was passed for {shown(nid)}, which is not a dataset node of the workflow",
                                       field="files", value=nid)
        try:
            out[nid] = Path(ctx.tmpdir) / check_file_name(name, reserved="payload.json")
        except FilesRefused as exc:
            raise InvalidWorkflowError(str(exc), node_id=nid, field="files") from None
    return out


def _unexpected(exc: BaseException, run: _Run | None) -> dict[str, Any]:
    node = run.current if run is not None else None
    label = None
    if run is not None and node is not None and node in run.plan.specs:
        label = run.plan.specs[node].name
    err = ExecutionError(f"unexpected error: {type(exc).__name__}: {exc}", node_id=node, label=label)
    err.__cause__ = exc
    return err.to_result()
