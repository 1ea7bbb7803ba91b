"""AutoML worker: the Gradio app (UI + the one API endpoint ``predict``) of the Hugging Face Space.

Thin on purpose: it builds the page, hands every request to :class:`service.Worker`, and renders
the one JSON string that comes back. Routes, admission, deadlines and disconnects live in service/.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

import gradio as gr

from service import Worker
from service import catalog as cat
from service.config import ConfigError, load_settings
from service.http import build_app, make_predict, progress_bridge, run_watched, server_address
from service.memory import fix_mmap_threshold
from service.render import METRIC_HEADERS, ResultFiles, View, render
from service.results import dumps, failure
from service.server import serve
from service.uploads import UploadRefused, read_upload, upload_root

log = logging.getLogger("app")


def result_panel() -> list[gr.components.Component]:
    """The views of one result: summary or failure panel, metrics, plots, warnings, model, raw JSON."""
    summary = gr.Markdown("Run a workflow to see its results here.")
    metrics = gr.Dataframe(headers=METRIC_HEADERS, label="Metrics", interactive=False, elem_classes="metrics")
    plots = gr.Gallery(label="Plots", columns=3, height="auto", elem_classes="plots")
    warnings = gr.Markdown()
    model = gr.File(label="Model file (joblib)", interactive=False)
    with gr.Accordion("Raw JSON", open=False):
        raw = gr.JSON()
    return [summary, metrics, plots, warnings, model, raw]


def show(view: View) -> tuple[Any, ...]:
    return view.summary, view.metrics, view.plots, view.warnings, view.model_file, view.raw


def build_ui(worker: Worker, files: ResultFiles) -> gr.Blocks:
    """The page: Quick train, Workflow JSON, Limits and health; plus the hidden API endpoint."""
    examples = cat.examples()
    with gr.Blocks(title="AutoML Worker", delete_cache=(600, 3600)) as demo:
        gr.Markdown("# AutoML Worker\nTrain scikit-learn / XGBoost models from a workflow, each run in an isolated, limited sandbox.")

        async def run_view(raw: Any, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008 (Gradio injects it)
            text = await run_watched(worker, demo, raw, request, progress_bridge(progress))
            return show(render(text, files))

        with gr.Tab("Quick train"):
            with gr.Row():
                with gr.Column(scale=1):
                    dataset = gr.Dropdown([(v["name"], k) for k, v in cat.SAMPLES.items()], value="iris", label="Sample dataset")
                    upload = gr.File(label="…or upload a CSV", file_types=[".csv"], type="filepath")
                    target = gr.Dropdown(["target"], value="target", label="Target column", allow_custom_value=True)
                    problem = gr.Radio(cat.PROBLEM_TYPES, value="classification", label="Problem type")
                    algorithm = gr.Dropdown(_algorithms("classification"), value="random_forest", label="Algorithm")
                    metrics = gr.CheckboxGroup(cat.METRICS["classification"], value=cat.METRICS["classification"][:4], label="Metrics")
                    plots = gr.CheckboxGroup(cat.PLOTS["classification"], value=cat.PLOTS["classification"][:2], label="Plots")
                    train = gr.Button("Train", variant="primary", elem_id="train-button")
                with gr.Column(scale=2):
                    quick_out = result_panel()

            def quick(ds: str, up: str | None, tgt: str, pt: str, algo: str, ms: list[str], ps: list[str]) -> dict[str, Any]:
                csv_text = _read_csv(up, worker.settings.server.max_upload_mb * 1024 * 1024) if up else None
                return cat.quick_workflow(dataset_id=ds, csv_text=csv_text, target=tgt, problem_type=pt,
                                          algorithm=algo, metrics=ms, plots=ps)

            async def run_quick(
                ds: str, up: str | None, tgt: str, pt: str, algo: str, ms: list[str], ps: list[str],
                request: gr.Request, progress: gr.Progress = gr.Progress(),  # noqa: B008
            ) -> tuple[Any, ...]:
                try:
                    workflow = quick(ds, up, tgt, pt, algo, ms, ps)
                except UploadRefused as exc:
                    return show(render(dumps(failure("invalid_request", f"The upload was refused: {exc}.")), files))
                return await run_view(workflow, request, progress)

            dataset.change(_on_dataset, dataset, [target, problem], api_visibility="private")
            upload.change(_on_upload, [upload, dataset], target, api_visibility="private")
            problem.change(_on_problem, problem, [algorithm, metrics, plots], api_visibility="private")
            train.click(run_quick, [dataset, upload, target, problem, algorithm, metrics, plots], quick_out,
                        concurrency_limit=None, api_visibility="private")

        with gr.Tab("Workflow JSON"):
            with gr.Row():
                with gr.Column(scale=1):
                    first = next(iter(examples), None)
                    example = gr.Dropdown(list(examples), value=first, label="Example", elem_id="example-picker")
                    editor = gr.Code(examples.get(first or "", ""), language="json", label="Workflow JSON", lines=24, max_lines=30)
                    run = gr.Button("Run workflow", variant="primary", elem_id="run-workflow")
                with gr.Column(scale=2):
                    json_out = result_panel()
            example.change(lambda name: examples.get(name, ""), example, editor, api_visibility="private")
            run.click(run_view, editor, json_out, concurrency_limit=None, api_visibility="private")

        with gr.Tab("Limits and health"):
            refresh = gr.Button("Refresh")
            status = gr.Markdown()
            with gr.Row():
                guards = gr.Dataframe(headers=["layer", "active", "detail"], label="Guard layers", interactive=False)
                probes = gr.Dataframe(headers=["probe", "expected", "got", "ok", "detail"], label="Start-up self-check", interactive=False)
            recent = gr.Dataframe(headers=["at", "code", "seconds", "queue wait", "nodes", "node types"], label="Recent outcomes", interactive=False)
            with gr.Row():
                limits = gr.JSON(label="Active limits")
                container = gr.JSON(label="Container and template")
            health_out = [status, guards, probes, recent, limits, container]
            refresh.click(lambda: _health_views(worker), None, health_out, api_visibility="private")
            demo.load(lambda: _health_views(worker), None, health_out, api_visibility="private")

        # The API the platform backend calls: one string in, one JSON string out.
        api_in = gr.Textbox(visible=False)
        api_out = gr.Textbox(visible=False)
        api_button = gr.Button(visible=False)
        api_button.click(make_predict(worker, demo), api_in, api_out, api_name="predict", concurrency_limit=None,
                         preprocess=False)
    return demo


def _algorithms(problem: str) -> list[tuple[str, str]]:
    return [(name, slug) for slug, (name, types) in cat.ALGORITHMS.items() if problem in types]


def _on_dataset(ds: str) -> tuple[Any, Any]:
    sample = cat.SAMPLES.get(ds, {})
    tgt = sample.get("target", "target")
    return gr.update(choices=[tgt], value=tgt), gr.update(value=sample.get("problem", "classification"))


def _read_csv(path: str, max_bytes: int) -> str:
    """An uploaded CSV's text: only a regular file inside Gradio's upload folder is opened."""
    return read_upload(path, upload_root(), max_bytes).decode("utf-8", errors="replace")


def _on_upload(path: str | None, ds: str) -> Any:
    if not path:
        return _on_dataset(ds)[0]
    try:
        columns = cat.csv_columns(_read_csv(path, 65536))
    except UploadRefused:
        columns = []
    return gr.update(choices=columns, value=columns[-1] if columns else None)


def _on_problem(pt: str) -> tuple[Any, Any, Any]:
    algos = _algorithms(pt)
    return (
        gr.update(choices=algos, value=algos[0][1] if algos else None),
        gr.update(choices=cat.METRICS[pt], value=cat.METRICS[pt][:4]),
        gr.update(choices=cat.PLOTS[pt], value=cat.PLOTS[pt][:2]),
    )


def _health_views(worker: Worker) -> tuple[Any, ...]:
    h = worker.health()
    jobs = h["jobs"]
    status = (
        f"**Status:** `{h['status']}` · version {h['version']} · Gradio {h['gradio']} · template alive: "
        f"{h['template'].get('alive')} · **jobs running {jobs['running']} / {jobs['maxConcurrent']}, "
        f"waiting {jobs['waiting']} / {jobs['maxWaiting']}** · started {jobs['started']}"
    )
    if not h["selfCheck"]["ok"]:
        status += f"\n\n### ⚠️ Guards failing their self-check: {', '.join(h['selfCheck']['failing'])}"
    guards = [[g.get("name"), g.get("active"), g.get("detail") or g.get("reason") or ""] for g in h["guards"]]
    probes = [[p["name"], p["expected"], p["got"], p["ok"], p["detail"]] for p in h["selfCheck"]["probes"]]
    recent = [[r["at"], r["code"], r["seconds"], r["queueWaitSeconds"], r["nodes"], ", ".join(r["types"])]
              for r in h["recent"]]
    return status, guards, probes, recent, h["limits"], {"container": h["container"], "template": h["template"],
                                                          "calibrated": h["calibrated"]}


def main() -> None:
    """Load limits.toml, start the sandbox, serve UI and API (0.0.0.0:7860 on a Space)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stdout)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"start-up stopped: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # uvicorn shuts down gracefully on SIGTERM (a Space restarting), then re-raises the signal; by
    # default that would kill this process before the finally below stops the template and
    # removes the job and result dirs. Exit through Python instead.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    fix_mmap_threshold()  # large request bodies go back to the system once freed
    worker = Worker(settings).start()
    files = ResultFiles()
    try:
        app = build_app(worker, build_ui(worker, files), allowed_paths=[str(files.root)])
        host, port = server_address()
        log.info("serving on http://%s:%d (limits from %s)", host, port, settings.source)
        serve(app, host, port, settings.server)
    finally:
        worker.close()
        files.close()


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
