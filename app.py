"""AutoML worker: the Gradio app (UI + the one API endpoint ``predict``) of the Hugging Face Space.

Thin on purpose: it lays out the page and wires its events to :class:`service.page.Page` (uploads,
runs with progress and Stop, health), which hands every request to :class:`service.Worker` and
renders the one JSON string that comes back. Routes, admission, deadlines and disconnects live in
service/.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Any

from service.startup import EarlyStart

# `python app.py`: the worker (the sandbox's template importing the engine's libraries, then the
# self-check) starts now, in its own process and a thread, while this process imports Gradio.
EARLY = EarlyStart.begin() if __name__ == "__main__" else None

import gradio as gr  # noqa: E402

from service import Worker  # noqa: E402
from service import catalog as cat  # noqa: E402
from service.cluster import ClusterStartError  # noqa: E402
from service.config import ConfigError  # noqa: E402
from service.http import build_app, make_predict, server_address  # noqa: E402
from service.page import IDLE_SUMMARY, PANEL_OUTPUTS, Page, algorithm_choices  # noqa: E402
from service.render import METRIC_HEADERS, ResultFiles  # noqa: E402
from service.server import serve  # noqa: E402

log = logging.getLogger("app")


PROBLEM_CHOICES = [("Classification (a category)", "classification"), ("Regression (a number)", "regression"),
                   ("Clustering (groups, no target)", "clustering")]
CSS_FILE = Path(__file__).resolve().parent / "service" / "page.css"


def result_panel(prefix: str) -> dict[str, gr.components.Component]:
    """The views of one run: progress, summary or failure, metrics, plots, messages, model, details, raw JSON."""
    out: dict[str, gr.components.Component] = {}
    out["progress"] = gr.HTML(visible=False, elem_id=f"{prefix}-progress", elem_classes="progress-box")
    out["summary"] = gr.Markdown(IDLE_SUMMARY, elem_id=f"{prefix}-summary", elem_classes="summary")
    out["metrics"] = gr.Dataframe(headers=METRIC_HEADERS, label="Metrics", interactive=False, visible=False, wrap=True,
                                  elem_classes="metrics", elem_id=f"{prefix}-metrics")
    out["plots"] = gr.Gallery(label="Plots (click one to enlarge)", columns=2, height="auto", object_fit="contain",
                              allow_preview=True, visible=False, elem_classes="plots", elem_id=f"{prefix}-plots",
                              buttons=["download", "fullscreen"])
    out["messages"] = gr.Markdown(elem_classes="messages", elem_id=f"{prefix}-messages")
    out["model"] = gr.File(label="Trained model (joblib file)", interactive=False, visible=False, elem_id=f"{prefix}-model")
    out["usage"] = gr.Markdown(elem_classes="model-usage", elem_id=f"{prefix}-usage", visible=False)
    with gr.Accordion("Details: steps, timings, resources", open=False):
        out["details"] = gr.Markdown()
    with gr.Accordion("Raw JSON", open=False):
        out["raw"] = gr.JSON()
    return out


def build_ui(worker: Worker, files: ResultFiles) -> gr.Blocks:
    """The page: Quick train, Workflow JSON, Health; plus the hidden API endpoint."""
    examples = cat.examples()
    page = Page(worker, files)
    with gr.Blocks(title="AutoML Worker", delete_cache=(600, 3600)) as demo:
        page.blocks = demo
        gr.Markdown("# AutoML Worker", elem_id="title")
        gr.Markdown(page.guide(), elem_id="guide")

        with gr.Tab("Quick train"):
            with gr.Row(elem_id="quick-row"):
                with gr.Column(scale=5, min_width=320, elem_id="quick-form"):
                    with gr.Row(equal_height=True):
                        dataset = gr.Dropdown(cat.sample_choices(), value="iris", label="Sample dataset",
                                              elem_id="sample-picker", min_width=180)
                        target = gr.Dropdown(["target"], value="target", label="Target column (to predict)",
                                             allow_custom_value=True, elem_id="target", min_width=180)
                    upload = gr.File(label=page.upload_label(), file_types=[".csv"], type="filepath", height=90,
                                     elem_id="upload")
                    upload_note = gr.HTML(elem_id="upload-note", visible=False)
                    left_out = gr.Dropdown([], value=[], multiselect=True, visible=False, elem_id="left-out",
                                           label="Leave out of the features (e.g. row identifiers)")
                    with gr.Row(equal_height=True):
                        problem = gr.Dropdown(PROBLEM_CHOICES, value="classification", label="Problem type",
                                              elem_id="problem", min_width=180)
                        algorithm = gr.Dropdown(algorithm_choices("classification"), value="random_forest",
                                                label="Algorithm", elem_id="algorithm", min_width=180)
                    metrics = gr.Dropdown(cat.metric_choices("classification"), value=cat.METRICS["classification"][:4],
                                          multiselect=True, label="Metrics", elem_id="metrics-picker")
                    plots = gr.Dropdown(cat.plot_choices("classification"), value=cat.PLOTS["classification"][:2],
                                        multiselect=True, label="Plots", elem_id="plots-picker")
                    with gr.Row(equal_height=True):
                        cv = gr.Dropdown([("Off (one split)", 0), ("3 folds", 3), ("5 folds", 5),
                                          ("10 folds", 10)], value=0, label="Cross-validation", elem_id="cv",
                                         min_width=180)
                        ci = gr.Checkbox(False, label="95% confidence intervals", elem_id="ci", min_width=180)
                    with gr.Row():
                        train = gr.Button("Train", variant="primary", elem_id="train-button", scale=3)
                        quick_stop = gr.Button("Stop", variant="stop", visible=False, elem_id="quick-stop", scale=1)
                with gr.Column(scale=7, min_width=320, elem_id="quick-results"):
                    with gr.Accordion("Your data", open=True, visible=False, elem_id="preview-box") as preview_box:
                        preview = gr.HTML(elem_id="preview")
                    quick = result_panel("quick")

            quick_out = [train, quick_stop] + [quick[name] for name in PANEL_OUTPUTS[2:]] + [preview_box]
            form = [dataset, upload, target, problem, algorithm, metrics, plots, ci, cv, left_out]
            private: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None, "show_progress": "hidden"}
            dataset.change(page.on_dataset, dataset, [target, problem], **private)
            upload.change(page.on_upload, [upload, dataset], [upload_note, preview, preview_box, target, problem,
                                                              left_out, dataset], **private)
            target.change(page.on_target, [upload, target, problem, left_out], [preview, left_out], **private)
            left_out.change(page.on_left_out, [upload, target, problem, left_out], preview, **private)
            problem.change(page.on_problem, problem, [algorithm, metrics, plots], **private).then(
                page.on_left_out, [upload, target, problem, left_out], preview, **private)
            train.click(page.run_quick, form, quick_out, **private)  # its own progress block: one indicator
            quick_stop.click(page.stop("quick"), None, quick_stop, **private)

        with gr.Tab("Workflow JSON"):
            with gr.Row():
                with gr.Column(scale=2, min_width=320):
                    first = next(iter(examples), None)
                    example = gr.Dropdown(list(examples), value=first, label="Example", elem_id="example-picker")
                    editor = gr.Code(examples.get(first or "", ""), language="json", label="Workflow JSON", lines=18,
                                     max_lines=24, elem_id="editor")
                    with gr.Row():
                        run = gr.Button("Run workflow", variant="primary", elem_id="run-workflow", scale=3)
                        json_stop = gr.Button("Stop", variant="stop", visible=False, elem_id="json-stop", scale=1)
                with gr.Column(scale=3, min_width=320):
                    json_panel = result_panel("json")
            json_out = [run, json_stop] + [json_panel[name] for name in PANEL_OUTPUTS[2:]]
            example.change(lambda name: examples.get(name, ""), example, editor, **private)
            run.click(page.run_json, editor, json_out, **private)
            json_stop.click(page.stop("json"), None, json_stop, **private)

        with gr.Tab("Health", elem_id="health-tab"):
            refresh = gr.Button("Refresh", size="sm", elem_id="health-refresh")
            status = gr.HTML(elem_id="health-status")
            gr.Markdown("### Guard layers\nWhat stops a job that misbehaves, and whether each is active on this machine.")
            guards = gr.HTML(elem_id="health-guards")
            gr.Markdown("### Start-up self-check\nEach guard was provoked once at start-up; it passed if the job got the expected answer.")
            probes = gr.HTML(elem_id="health-probes")
            gr.Markdown("### Recent outcomes\nThe last requests: when, how they ended, how long they took (no request data).")
            recent = gr.HTML(elem_id="health-recent")
            with gr.Accordion("Limits in force (limits.toml)", open=False):
                limits = gr.HTML(elem_id="health-limits")
            with gr.Accordion("Container and warm template", open=False):
                container = gr.HTML(elem_id="health-container")
            health_out = [status, guards, probes, recent, limits, container]
            refresh.click(page.health, None, health_out, **private)
            demo.load(page.health, None, health_out, **private)

        # The API the platform backend calls: one string in, one JSON string out.
        api_in = gr.Textbox(visible=False)
        api_out = gr.Textbox(visible=False)
        api_button = gr.Button(visible=False)
        api_button.click(make_predict(worker, demo), api_in, api_out, api_name="predict", concurrency_limit=None,
                         preprocess=False)
    return demo


def main(early: EarlyStart | None = None) -> None:
    """Load limits.toml, start the sandbox, serve UI and API (0.0.0.0:7860 on a Space)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stdout)
    # uvicorn shuts down gracefully on SIGTERM (a Space restarting), then re-raises the signal; by
    # default that would kill this process before the finally below stops the template and
    # removes the job and result dirs. Exit through Python instead.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    early = early or EarlyStart.begin()
    files = ResultFiles()
    try:
        worker: Worker | None = None
        try:
            ui = build_ui(early.worker_unstarted(), files)  # while the worker starts
            worker = early.worker()
        except (ConfigError, ClusterStartError) as exc:
            print(f"start-up stopped: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        try:
            app = build_app(worker, ui, allowed_paths=[str(files.root)], css=CSS_FILE.read_text())
            host, port = server_address()
            log.info("serving on http://%s:%d (limits from %s)", host, port, worker.settings.source)
            serve(app, host, port, worker.settings.server)
        finally:
            worker.close()
    finally:
        files.close()


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main(EARLY)
