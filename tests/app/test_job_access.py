"""What a job may reach beyond its own dir, decided by the parent per request (service.request.fetches,
Worker.access): TCP connect only when the workflow downloads, the dataset cache to write only when it
fetches a sample. The sandbox enforces it with Landlock (tests/sandbox/test_confine.py); here the
real engine runs in a real sandbox against loopback HTTP servers."""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import GuardLimits, confine
from service.request import Fetches, fetches

URL = "dataset_url"


def _node(config: dict[str, Any], place: str = "config") -> dict[str, Any]:
    if place == "data.config":
        return {"id": "d", "type": "dataset", "data": {"config": config}}
    return {"id": "d", "type": "dataset", place: config}


FETCHES = [
    # (workflow nodes, expected Fetches)
    ([_node({"dataset_id": "iris"})], Fetches()),
    ([_node({"data": "a,b\n1,2\n"})], Fetches()),
    ([_node({"dataset_id": "titanic"})], Fetches(sample=True)),
    ([_node({"datasetId": "sample-titanic"}, "data")], Fetches(sample=True)),
    ([_node({"selectedDatasetId": " credit_fraud "}, "data.config")], Fetches(sample=True)),
    ([_node({URL: "https://example.com/x.csv"})], Fetches(url=True)),
    ([_node({"datasetUrl": "http://127.0.0.1:8080/x.csv"}, "data")], Fetches(url=True, ports=frozenset({8080}))),
    ([_node({"fileUrl": "http://h:99999/x.csv"}, "data.config")], Fetches(url=True)),  # bad port: the engine refuses it
    ([_node({"file_url": "http://[::1"})], Fetches(url=True)),
    ([_node({URL: "   "})], Fetches()),
    ([_node({URL: 42})], Fetches()),
    ([_node({"dataset_id": "iris"}), {"id": "m", "type": "model", "config": {"datasetUrl": "http://h:81/"}}],
     Fetches()),  # only a dataset node downloads: a URL or sample named elsewhere grants nothing
    ([{"id": "f", "type": "fault", "config": {"kind": "probe_connect", "dataset_url": "https://x:7999/",
                                               "dataset_id": "titanic"}}], Fetches()),
    (["not a node", {"id": "x", "data": "text"}], Fetches()),
]


@pytest.mark.parametrize(("nodes", "expected"), FETCHES)
def test_fetches_names_what_a_workflow_downloads(nodes: list[Any], expected: Fetches) -> None:
    assert fetches({"nodes": nodes, "edges": []}) == expected


def test_a_job_connects_only_when_it_downloads_and_writes_the_cache_only_for_a_sample(tmp_path: Path) -> None:
    from executor.limits import DownloadLimits
    from service.config import Settings
    from service.worker import Worker

    worker = Worker(Settings(download=DownloadLimits(cache_dir=str(tmp_path / "cache"))), self_check=False)
    guards = worker._guards()
    cache = str((tmp_path / "cache").absolute())
    assert (tmp_path / "cache").is_dir() and cache in guards.confine_read_paths  # every job reads it
    assert worker.access(Fetches()) == {"connect_ports": [], "write_paths": []}
    assert worker.access(Fetches(url=True, ports=frozenset({8080}))) == {"connect_ports": [80, 443, 8080], "write_paths": []}
    assert worker.access(Fetches(sample=True)) == {"connect_ports": [80, 443], "write_paths": [cache]}


def test_the_engine_gets_the_cache_dir_resolved_by_the_parent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A job's HOME is its own temp dir: a default cache under ~ must be the parent's ~, not the job's."""
    from service.config import Settings

    monkeypatch.setenv("HOME", str(tmp_path))
    limits = Settings().engine_limits()
    assert limits["download"]["cache_dir"] == str(tmp_path / ".cache" / "automl-worker" / "datasets")


# -- through the real sandbox ----------------------------------------------------------------------

CSV = ("a,b,target\n" + "\n".join(f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(80)) + "\n").encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    redirect_to: int = 0

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/moved") and _Handler.redirect_to:
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{_Handler.redirect_to}/data.csv")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(CSV)))
        self.end_headers()
        self.wfile.write(CSV)

    def log_message(self, *args: Any) -> None:
        pass


def _serve() -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[int, int]]:
    first, second = _serve(), _serve()
    _Handler.redirect_to = second.server_address[1]
    try:
        yield first.server_address[1], second.server_address[1]
    finally:
        for server in (first, second):
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from executor.limits import DownloadLimits
    from service.config import Settings
    from service.worker import Worker

    cache = tmp_path_factory.mktemp("dataset-cache")
    settings = Settings(download=DownloadLimits(allowed_hosts=["127.0.0.1"], cache_dir=str(cache), timeout_seconds=60))
    worker = Worker(settings, self_check=False).start()
    try:
        yield worker
    finally:
        worker.close()


def _workflow(dataset: dict[str, Any], target: str = "target") -> str:
    return json.dumps({
        "nodes": [
            {"id": "dataset-1", "type": "dataset", "config": {**dataset, "target_column": target,
                                                              "problem_type": "classification"}},
            {"id": "split-1", "type": "split", "config": {"test_size": 0.25, "random_seed": 1}},
            {"id": "model-1", "type": "model", "config": {"algorithm": "logistic_regression"}},
            {"id": "evaluate-1", "type": "evaluate", "config": {"metrics": ["accuracy"]}},
        ],
        "edges": [{"source": "dataset-1", "target": "split-1"}, {"source": "split-1", "target": "model-1"},
                  {"source": "model-1", "target": "evaluate-1"}],
    })


def _submit(worker: Any, body: str) -> dict[str, Any]:
    return json.loads(asyncio.run(worker.submit(body)))


@pytest.mark.slow
def test_a_url_dataset_on_its_own_port_is_fetched_in_the_sandbox(worker: Any, servers: tuple[int, int]) -> None:
    answer = _submit(worker, _workflow({URL: f"http://127.0.0.1:{servers[0]}/data.csv"}))
    assert answer["status"] == "completed", answer


@pytest.mark.slow
@pytest.mark.skipif(not confine.status(GuardLimits())["landlock_net"][0], reason="no Landlock TCP rules (ABI < 4)")
def test_a_redirect_to_another_port_is_refused_with_the_reason(worker: Any, servers: tuple[int, int]) -> None:
    answer = _submit(worker, _workflow({URL: f"http://127.0.0.1:{servers[0]}/moved"}))
    assert answer["status"] == "failed" and answer["errorCode"] == "dataset_error", answer
    assert f"may not connect to port {servers[1]}" in answer["error"], answer["error"]


def _plant_titanic(cache: Path) -> None:
    """A cached titanic table as the engine writes it (``executor.datasets.downloads._write_cache``)."""
    import pandas as pd

    from executor.datasets.catalog import DOWNLOADS

    frame = pd.DataFrame({"Pclass": [1, 2, 3] * 30, "Fare": [float(i) for i in range(90)],
                          "Survived": [i % 2 for i in range(90)]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    data = buffer.getvalue()
    (cache / "titanic.parquet").write_bytes(data)
    (cache / "titanic.parquet.sha256").write_text(hashlib.sha256(data).hexdigest() + "\n")
    (cache / "titanic.source.sha256").write_text(f"{DOWNLOADS['titanic'].sha256}\n")


@pytest.mark.slow
def test_a_cached_sample_is_read_from_the_shared_cache_not_the_jobs_home(worker: Any) -> None:
    """No network here: the job completes only by reading the parent's dataset cache."""
    cache = Path(worker.settings.download.cache_path())
    _plant_titanic(cache)
    answer = _submit(worker, _workflow({"dataset_id": "titanic", "is_sample": True}, target="Survived"))
    assert answer["status"] == "completed", answer


@pytest.mark.slow
def test_real_work_passes_under_every_confinement_layer(worker: Any) -> None:
    """The shipped guards (every layer the kernel offers, on): an Optuna search, plots and the model file."""
    from tests.executor import enginekit as kit

    active = {layer["name"] for layer in worker.sandbox.layers() if layer["active"]}
    assert {name for name in confine.LAYERS if confine.status(GuardLimits())[name][0]} <= active
    wf = kit.example("iris_random_forest")
    kit.node(wf, "model-15")["config"].update({"use_optuna": True, "optuna_trials": 3})
    answer = _submit(worker, json.dumps(wf))
    assert answer["status"] == "completed", answer
    results = answer["results"]
    assert results["trainingMode"] == "optuna" and results["search"]["trials"] == 3
    assert results["plots"] and all(plot["url"].startswith("data:image/png;base64,") and len(plot["url"]) > 1000
                                    for plot in results["plots"]), results["plots"]
    assert len(results["model_base64"]) > 1000
