"""The page's event handlers: the quick-train form, uploads, runs with live progress and Stop, health.

A run is an async generator: it yields the progress block every :data:`TICK_SECONDS` while the
request waits for a slot or runs (place in line, step, the engine's ``detail`` and ``fraction``,
elapsed and remaining time), then the rendered result. Gradio's own progress overlay is off, so the
page has one progress indicator. A Stop button sets the run's cancel event (:class:`StopButtons`):
the sandbox stops the job and the run answers ``cancelled`` once no process of it is left.
"""

from __future__ import annotations

import asyncio
import html
import os
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

import gradio as gr
import orjson

from service import catalog as cat
from service.health_view import health_views
from service.http import StopButtons, run_watched
from service.preview import UploadPreview, UploadProblem, inspect_upload, preview_html, upload_limit
from service.progress import JobProgress, clock
from service.render import ResultFiles, View, render
from service.results import dumps
from service.uploads import UploadRefused, upload_root, uploaded_file
from service.worker import Worker

__all__ = ["PANEL_OUTPUTS", "Page", "TICK_SECONDS"]

TICK_SECONDS = 0.5
"""How often the progress block is redrawn while a job waits or runs."""

PANEL_OUTPUTS = ("run", "stop", "progress", "summary", "metrics", "plots", "messages", "model", "usage", "details", "raw")
"""The components a run updates, in the order its frames list them."""

_CACHED_PREVIEWS = 8
IDLE_SUMMARY = "Results appear here: the metrics, the plots and the trained model to download."


class Page:
    """Handlers bound to one worker; ``blocks`` is set once the page is built."""

    def __init__(self, worker: Worker, files: ResultFiles) -> None:
        self.worker = worker
        self.files = files
        self.blocks: gr.Blocks | None = None
        self.stops = StopButtons()
        self._previews: OrderedDict[tuple[str, int, float], UploadPreview] = OrderedDict()

    # -- limits as the page states them --------------------------------------------------------

    @property
    def upload_limit(self) -> tuple[int, str]:
        """The largest CSV the page trains on (bytes, 0 = none) and the limits.toml key that sets it."""
        s = self.worker.settings
        return upload_limit(s.data.max_dataset_mb, s.server.max_upload_mb)

    @property
    def upload_limit_bytes(self) -> int:
        return self.upload_limit[0]

    def upload_label(self) -> str:
        limit = self.upload_limit_bytes
        if not limit:
            return "…or upload a CSV (comma-separated)"
        return f"…or upload a CSV (comma-separated, up to {limit / (1 << 20):g} MB)"

    def guide(self) -> str:
        job = self.worker.settings.job
        limit = f", for up to {job.wall_clock_seconds:.0f} s" if job.wall_clock_seconds else ""
        return (f"Pick a sample dataset or upload a CSV, choose the column to predict and an algorithm, then press "
                f"**Train**. Each run trains in its own isolated sandbox{limit}; you can stop it at any time.")

    # -- uploads ------------------------------------------------------------------------------

    def inspect(self, path: str) -> UploadPreview:
        """The upload's preview, from its head (raises :class:`UploadProblem`)."""
        data = self.worker.settings.data
        limit, key = self.upload_limit
        preview, _head = inspect_upload(path, max_bytes=limit, limit_key=key, max_rows=data.max_rows,
                                        max_columns=data.max_columns)
        self._remember(path, preview)
        return preview

    def _key(self, path: str) -> tuple[str, int, float] | None:
        """A cache key for an upload: checked as an upload first, never opened (read_upload does that)."""
        try:
            info = os.stat(uploaded_file(path, upload_root()))
        except (UploadRefused, OSError):
            return None
        return (path, info.st_size, info.st_mtime)

    def _remember(self, path: str, preview: UploadPreview) -> None:
        key = self._key(path)
        if key is not None:
            self._previews[key] = preview
            while len(self._previews) > _CACHED_PREVIEWS:
                self._previews.popitem(last=False)

    def preview(self, path: str) -> UploadPreview:
        key = self._key(path)
        if key is not None and key in self._previews:
            self._previews.move_to_end(key)
            return self._previews[key]
        return self.inspect(path)

    def on_dataset(self, ds: str) -> tuple[Any, Any]:
        sample = cat.SAMPLES.get(ds, {})
        tgt = sample.get("target", "target")
        return gr.update(choices=[tgt], value=tgt), gr.update(value=sample.get("problem", "classification"))

    def on_upload(self, path: str | None, ds: str) -> tuple[Any, ...]:
        """(upload note, preview, preview box, target, problem type, left-out columns, sample picker)."""
        sample_free = gr.update(interactive=True, label="Sample dataset", elem_classes=[])
        if not path:
            target, problem = self.on_dataset(ds)
            return (gr.update(value="", visible=False), "", gr.update(visible=False), target, problem,
                    gr.update(choices=[], value=[], visible=False), sample_free)
        set_aside = gr.update(interactive=False, label="Sample dataset: not used while an upload is in use",
                              elem_classes=["set-aside"])
        try:
            preview = self.inspect(path)
        except UploadProblem as exc:
            note = gr.update(value=f"<p class='upload-error' role='alert'>{_esc(str(exc))}</p>", visible=True)
            return (note, "", gr.update(visible=False), gr.update(choices=[], value=None), gr.skip(),
                    gr.update(choices=[], value=[], visible=False), set_aside)
        target = preview.suggested_target()
        problem = preview.suggested_problem(target)
        left_out = [n for n in preview.identifiers if n != target]
        note = gr.update(visible=True, value=(
            f"<p class='upload-ok'>✓ {preview.rows_text} rows × {len(preview.columns)} columns read. Check the preview, "
            "the target and the columns left out, then press Train.</p>"))
        return (
            note,
            preview_html(preview, target=target, left_out=left_out, problem=problem),
            gr.update(visible=True, open=True, label=f"Your data: {preview.file_name}"),
            gr.update(choices=preview.names, value=target),
            gr.update(value=problem),
            gr.update(choices=[n for n in preview.names if n != target], value=left_out, visible=True),
            set_aside,
        )

    def on_target(self, path: str | None, target: str | None, problem: str, left_out: list[str] | None) -> tuple[Any, Any]:
        """(preview, left-out columns) redrawn for a new target or problem type."""
        if not path:
            return gr.skip(), gr.skip()
        try:
            preview = self.preview(path)
        except UploadProblem:
            return gr.skip(), gr.skip()
        kept = [n for n in left_out or [] if n != target]
        return (preview_html(preview, target=target, left_out=kept, problem=problem),
                gr.update(choices=[n for n in preview.names if n != target], value=kept))

    def on_left_out(self, path: str | None, target: str | None, problem: str, left_out: list[str] | None) -> Any:
        return self.on_target(path, target, problem, left_out)[0]

    def on_problem(self, pt: str) -> tuple[Any, Any, Any]:
        algos = algorithm_choices(pt)
        return (
            gr.update(choices=algos, value=algos[0][1] if algos else None),
            gr.update(choices=cat.metric_choices(pt), value=cat.METRICS[pt][:4]),
            gr.update(choices=cat.plot_choices(pt), value=cat.PLOTS[pt][:2]),
        )

    # -- runs ---------------------------------------------------------------------------------

    def quick_workflow(
        self, ds: str, up: str | None, tgt: str | None, pt: str, algo: str, ms: list[str] | None,
        ps: list[str] | None, ci: bool, cv: int | None, left_out: list[str] | None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The quick-train workflow and the files it passes by reference (raises :class:`UploadProblem`
        for an upload it cannot use).

        An upload is never inlined: its dataset node names no data, and the file, checked again here
        as an upload of this app (resolved, inside Gradio's upload folder, a regular file), goes to
        the job as ``files={node id: path}``.
        """
        files: dict[str, str] = {}
        name = None
        if up:
            preview = self.preview(up)
            problem = preview.target_problem(tgt, pt)
            if problem:
                raise UploadProblem(problem)
            if pt != "clustering" and preview.column(tgt) is None:
                raise UploadProblem("Choose the target column: the column the model learns to predict.")
            name = preview.file_name
            try:
                files[cat.DATASET_NODE] = str(uploaded_file(up, upload_root()))
            except UploadRefused as exc:
                raise UploadProblem(f"The upload cannot be used: {exc}.") from None
        workflow = cat.quick_workflow(dataset_id=ds, csv_text=None, uploaded=bool(up), target=tgt, problem_type=pt,
                                      algorithm=algo, metrics=list(ms or []), plots=list(ps or []),
                                      drop_columns=list(left_out or []), confidence_intervals=bool(ci),
                                      cv_folds=int(cv or 0), dataset_name=name)
        return workflow, files

    async def run_quick(self, ds: str, up: str | None, tgt: str | None, pt: str, algo: str, ms: list[str] | None,
                        ps: list[str] | None, ci: bool, cv: int | None, left_out: list[str] | None,
                        request: gr.Request) -> AsyncIterator[tuple[Any, ...]]:
        try:
            workflow, files = await asyncio.to_thread(self.quick_workflow, ds, up, tgt, pt, algo, ms, ps, ci, cv,
                                                      left_out)
        except UploadProblem as exc:
            view = View(ok=False, summary=f"### The upload cannot be used\n\n{_esc(str(exc))}")
            yield final_frame(view) + (gr.update(visible=bool(up)),)
            return
        first = True
        async for frame in self.stream(workflow, request, "quick", files=files):
            yield frame + ((gr.update(open=False) if first and up else gr.skip()),)  # the preview makes way
            first = False

    async def run_json(self, text: str, request: gr.Request) -> AsyncIterator[tuple[Any, ...]]:
        async for frame in self.stream(text, request, "json"):
            yield frame

    async def stream(self, raw: Any, request: gr.Request | None, panel: str,
                     files: dict[str, str] | None = None) -> AsyncIterator[tuple[Any, ...]]:
        """Frames of one run: running, progress ticks, then the result.

        ``files``: uploads passed to the job by reference (only the quick-train form's, checked).
        """
        settings = self.worker.settings
        progress = JobProgress(settings.job.wall_clock_seconds, settings.queue.request_deadline_seconds,
                               running_jobs=self.worker.admission.running)
        key = self.stops.key(request, panel)
        with self.stops.running(key) as cancel:
            task = asyncio.ensure_future(run_watched(self.worker, self.blocks, raw, request, progress.on_event,
                                                     cancel=cancel, on_place=progress.on_place, files=files))
            try:
                yield running_frame(progress)
                while True:
                    done, _ = await asyncio.wait({task}, timeout=TICK_SECONDS)
                    if done:
                        break
                    progress.stopping = cancel.is_set()
                    yield tick_frame(progress)
                text = task.result()
            except Exception as exc:  # a broken run still ends in a result, never a stuck page
                text = dumps({"status": "failed", "errorCode": "internal_error", "error": f"The page failed: {exc!r}."})
            finally:
                if not task.done():
                    cancel.set()
                    task.cancel()
            stopped = cancel.is_set()
        yield final_frame(self._view(text, stopped, progress))

    def _view(self, text: str, stopped: bool, progress: JobProgress) -> View:
        if stopped:
            try:
                env = orjson.loads(text)
            except orjson.JSONDecodeError:
                env = None
            if isinstance(env, dict) and env.get("errorCode") == "cancelled":
                env["error"] = (f"You pressed Stop after {clock(time.monotonic() - progress.arrival)}; the job was "
                                "stopped and none of its processes is left running.")
                text = dumps(env)
        return render(text, self.files)

    def stop(self, panel: str) -> Callable[[gr.Request], Any]:
        def stop_run(request: gr.Request) -> Any:
            if self.stops.stop(self.stops.key(request, panel)):
                return gr.update(value="Stopping…", interactive=False)
            return gr.skip()

        return stop_run

    def health(self) -> tuple[str, ...]:
        return health_views(self.worker.health())


def _esc(text: str) -> str:
    return html.escape(text)


def algorithm_choices(problem: str) -> list[tuple[str, str]]:
    return [(name, slug) for slug, (name, types) in cat.ALGORITHMS.items() if problem in types]


def running_frame(progress: JobProgress) -> tuple[Any, ...]:
    return (
        gr.update(interactive=False),
        gr.update(visible=True, interactive=True, value="Stop"),
        gr.update(value=progress.html(), visible=True),
        "",
        gr.update(visible=False),
        gr.update(visible=False),
        "",
        gr.update(visible=False, value=None),
        gr.update(value="", visible=False),
        "",
        None,
    )


def tick_frame(progress: JobProgress) -> tuple[Any, ...]:
    return (gr.skip(), gr.skip(), gr.update(value=progress.html(), visible=True)) + (gr.skip(),) * 8


def final_frame(view: View) -> tuple[Any, ...]:
    rows = view.metrics.get("data") if isinstance(view.metrics, dict) else view.metrics
    return (
        gr.update(interactive=True),
        gr.update(visible=False, interactive=True, value="Stop"),
        gr.update(value="", visible=False),
        view.summary,
        gr.update(value=view.metrics, visible=bool(rows)),
        gr.update(value=view.plots, visible=bool(view.plots)),
        view.warnings,
        gr.update(value=view.model_file, visible=bool(view.model_file)),
        gr.update(value=view.usage, visible=bool(view.usage)),
        view.details,
        view.raw,
    )
