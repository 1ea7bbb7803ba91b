"""Uploads go to the job by reference: the page passes its checked upload as a file, never inlined.

    page (Page.on_upload / run_quick) ── preview from a bounded head ──▶ Worker.submit(files={node: path})
        ──▶ Sandbox.run(files={"upload-0.csv": path}) ──▶ the engine reads the copy in its own dir

The page's handlers run in-process against a real worker (a stand-in Gradio upload folder via
``GRADIO_TEMP_DIR``); the API's side (a client's workflow naming a file) is checked on the parent
with a recording sandbox (no process) and end to end through ``Worker.submit``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from executor.limits import DataLimits
from sandbox import Outcome, Usage
from service.config import Settings

MAX_DATASET_MB = 10
MAX_ROWS = 200_000
SETTINGS = Settings(data=DataLimits(max_rows=MAX_ROWS, max_dataset_mb=MAX_DATASET_MB))
OLD_INLINE_CAP = 4 << 20
"""What a request could carry inline before (``[request] max_request_kb`` = 4096)."""


def numeric_csv(path: Path, rows: int, features: int = 6, seed: int = 0) -> Path:
    """A classification table whose target is one feature's sign (cheap for any tree), written fast."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    y = (X[:, 0] > 0).astype(int)
    header = ",".join(f"f{i}" for i in range(features)) + ",target"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt=["%.6f"] * features + ["%d"], header=header,
               comments="")
    return path


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A stand-in for Gradio's upload folder (``service.uploads.upload_root`` reads GRADIO_TEMP_DIR)."""
    root = tmp_path_factory.mktemp("gradio-uploads").resolve()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", str(root))
        yield root


@pytest.fixture(scope="module")
def started_worker(upload_dir: Path) -> Iterator[Any]:
    from service.worker import Worker

    worker = Worker(SETTINGS, self_check=False).start()
    try:
        yield worker
    finally:
        worker.close()


def make_page(worker: Any) -> Any:
    from service.page import Page
    from service.render import ResultFiles

    return Page(worker, ResultFiles())


async def _last_frame(page: Any, up: str, target: str = "target", algorithm: str = "decision_tree") -> tuple[Any, ...]:
    frames = [f async for f in page.run_quick("iris", up, target, "classification", algorithm, ["accuracy"], [],
                                              False, 0, [], None)]
    return frames[-1]


def _submit(worker: Any, body: Any, **kwargs: Any) -> dict[str, Any]:
    return json.loads(asyncio.run(worker.submit(body, **kwargs)))


def _workflow(dataset: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    from service import catalog

    wf = catalog.quick_workflow(dataset_id="upload", csv_text=None, uploaded=True, target="target",
                                problem_type="classification", algorithm="decision_tree", metrics=["accuracy"],
                                plots=[])
    wf["nodes"][0]["config"].update(dataset or {})
    return {**wf, **top}


# -- the page ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_page_trains_on_a_csv_over_the_old_inline_cap(started_worker: Any, upload_dir: Path) -> None:
    path = numeric_csv(upload_dir / "big.csv", rows=90_000)
    assert path.stat().st_size > OLD_INLINE_CAP + (512 << 10)
    page = make_page(started_worker)
    note = page.on_upload(str(path), "iris")[0]["value"]
    assert "✓ about 90,000 rows × 7 columns read" in note, note  # estimated from the lines: exact here
    final = asyncio.run(_last_frame(page, str(path)))
    answer = final[10]  # the answer the page rendered (raw panel)
    assert answer["status"] == "completed", answer.get("error")
    assert answer["results"]["dataset"]["rows"] == 90_000 and answer["results"]["dataset"]["source"] == "file"
    assert "Completed" in final[3]
    record = started_worker.recent[0]
    assert record["code"] == "completed" and record["workflow"]["types"][0] == "dataset"


def test_the_page_refuses_a_csv_over_max_dataset_mb_naming_the_limit(upload_dir: Path) -> None:
    from service.worker import Worker

    worker = Worker(SETTINGS, self_check=False)  # never started: the refusal needs no job
    page = make_page(worker)
    assert page.upload_label() == f"…or upload a CSV (comma-separated, up to {MAX_DATASET_MB} MB)"
    path = upload_dir / "huge.csv"
    path.write_bytes(b"a,b,target\n" + b"1.25,2.5,1\n" * ((MAX_DATASET_MB + 1) * (1 << 20) // 11))
    note = page.on_upload(str(path), "iris")[0]
    expected = f"files up to {MAX_DATASET_MB} MB can be trained here ([data] max_dataset_mb)"
    assert expected in note["value"]
    final = asyncio.run(_last_frame(page, str(path)))
    assert "The upload cannot be used" in final[3] and expected in final[3]
    assert worker.counts == {}  # no request was submitted


def test_the_page_passes_only_a_checked_upload_by_reference_and_inlines_nothing(upload_dir: Path,
                                                                                  tmp_path: Path) -> None:
    from service import catalog
    from service.preview import UploadProblem
    from service.worker import Worker

    page = make_page(Worker(SETTINGS, self_check=False))
    path = numeric_csv(upload_dir / "small.csv", rows=200)
    workflow, files = page.quick_workflow("iris", str(path), "target", "classification", "decision_tree",
                                          ["accuracy"], [], False, 0, [])
    assert files == {catalog.DATASET_NODE: str(path.resolve())}
    config = workflow["nodes"][0]["config"]
    assert "data" not in config and config["is_sample"] is False and "small.csv" not in json.dumps(config["dataset_id"])
    outside = numeric_csv(tmp_path / "host.csv", rows=50)  # not an upload of this app
    with pytest.raises(UploadProblem, match="was not uploaded to this app"):
        page.quick_workflow("iris", str(outside), "target", "classification", "decision_tree", [], [], False, 0, [])


# -- Worker.submit(files=) through a real sandbox ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("rows", "pad_mb", "code", "needle"),
    [
        (500, 0, None, None),
        (MAX_ROWS + 10, 0, "dataset_error", f"over the limit of {MAX_ROWS}"),
        (100, MAX_DATASET_MB + 1, "dataset_error", f"over the limit of {MAX_DATASET_MB} MB"),
    ],
    ids=["read", "over-max-rows", "over-max-dataset-mb"],
)
def test_a_file_passed_to_submit_is_read_under_the_data_caps(started_worker: Any, tmp_path: Path, rows: int,
                                                             pad_mb: int, code: str | None, needle: str | None) -> None:
    if rows > 10_000:
        path = tmp_path / "rows.csv"
        path.write_bytes(b"f0,target\n" + b"0.5,1\n-0.5,0\n" * (rows // 2 + 1))
    else:
        path = numeric_csv(tmp_path / "data.csv", rows=rows)
    if pad_mb:
        with path.open("ab") as handle:  # blank lines: bytes the parser skips, so only the size cap can refuse
            handle.write(b"\n" * (pad_mb << 20))
    answer = _submit(started_worker, _workflow(), files={"dataset-1": str(path)})
    if code is None:
        assert answer["status"] == "completed", answer.get("error")
        assert answer["results"]["dataset"]["rows"] == rows
    else:
        assert answer["status"] == "failed" and answer["errorCode"] == code, answer
        assert needle in answer["error"] and answer["errorDetails"].get("nodeId") == "dataset-1"


@pytest.mark.slow
def test_a_bad_files_argument_gets_a_code_not_internal_error(started_worker: Any, tmp_path: Path) -> None:
    path = numeric_csv(tmp_path / "data.csv", rows=100)
    gone = _submit(started_worker, _workflow(), files={"dataset-1": str(tmp_path / "missing.csv")})
    assert gone["errorCode"] == "invalid_request" and "cannot be read" in gone["error"]
    not_dataset = _submit(started_worker, _workflow(), files={"model-4": str(path)})
    assert not_dataset["errorCode"] == "invalid_workflow" and "not a dataset node" in not_dataset["error"]


# -- the API cannot name a file --------------------------------------------------------------------


class _Recorder:
    """A sandbox stand-in that records what the worker asks of it (no process)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def run(self, target: str, payload: Any, **kwargs: Any) -> Outcome:
        self.calls.append((payload, kwargs))
        value = {"status": "completed", "results": {}}
        return Outcome(ok=True, job_id="rec", value=value, usage=Usage(), result=json.dumps(value).encode(),
                       status="completed")

    def close(self) -> None:
        pass


SECRET = "/etc/hostname"


@pytest.mark.parametrize(
    "body",
    [
        _workflow(files={"dataset-1": SECRET}),
        {"workflow": _workflow(), "files": {"dataset-1": SECRET}},
        _workflow({"files": {"dataset-1": SECRET}}),
        _workflow({"file": SECRET, "path": SECRET, "filename": "upload-0.csv"}),
        _workflow({"dataset_id": SECRET, "dataset_name": SECRET}),
    ],
    ids=["top-level-files", "wrapper-files", "config-files", "config-file-and-path", "path-as-id"],
)
def test_a_client_workflow_naming_a_file_makes_the_parent_pass_none(body: dict[str, Any]) -> None:
    from service.worker import Worker

    worker = Worker(SETTINGS, self_check=False)
    recorder = _Recorder()
    worker.sandbox = recorder  # type: ignore[assignment]
    try:
        _submit(worker, json.dumps(body))
    finally:
        worker.close()
    (payload, kwargs), = recorder.calls
    assert kwargs.get("files") is None and "files" not in payload


@pytest.mark.parametrize(
    "config",
    [{"files": {"dataset-1": "payload.json"}}, {"file": "payload.json"}, {"path": "payload.json"}],
    ids=["files", "file", "path"],
)
def test_the_engine_reads_no_file_a_workflow_names(tmp_path: Path, config: dict[str, Any]) -> None:
    from executor import EngineLimits, run_workflow
    from sandbox import JobContext

    numeric_csv(tmp_path / "payload.json", rows=100)  # a readable table under the names a workflow might try
    numeric_csv(tmp_path / "upload-0.csv", rows=100)
    wf = _workflow(config, files={"dataset-1": "upload-0.csv"})
    answer = run_workflow(wf, limits=EngineLimits(), ctx=JobContext.local(tmpdir=tmp_path))
    assert answer["status"] == "failed" and answer["errorCode"] == "dataset_error", answer
    assert "cannot be loaded: the request carries only its id" in answer["error"]
