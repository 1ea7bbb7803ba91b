"""The platform backend's exchange against a real server: routes, shapes, admission, deadline, disconnect."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
from gradio_client import Client

from tests.app.conftest import ROOT, Server, backend_call, example, fault

pytestmark = [pytest.mark.network_server, pytest.mark.slow]


class OpenRequest:
    """A backend-style request left running in a thread; ``close()`` hangs up its SSE stream.

    The stream is read over a raw socket (HTTP/1.0, so the body is not chunked) because a socket
    can be shut down from another thread, which the server sees at once as a disconnect.
    """

    def __init__(self, url: str, body: str) -> None:
        event_id = httpx.post(f"{url}/call/predict", json={"data": [body]}, timeout=30).json()["event_id"]
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=120)
        request = f"GET /call/predict/{event_id} HTTP/1.0\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n"
        self.sock.sendall(request.encode())
        self.answer: dict[str, Any] | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = b""
        try:
            while chunk := self.sock.recv(65536):
                buffer += chunk
                for line in buffer.decode(errors="replace").split("\n"):
                    if line.startswith("data: [") and line.endswith("]"):
                        self.answer = json.loads(json.loads(line[6:])[0])
                        return
        except OSError:
            return

    def result(self, timeout: float = 60) -> dict[str, Any] | None:
        self._thread.join(timeout)
        return self.answer

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(10)


def wait_for(predicate: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_backend_exchange_on_the_legacy_path_returns_a_completed_iris_result(shared_server: Server) -> None:
    """POST /call/predict then the SSE stream, parsed exactly like the backend: a completed result."""
    answer = backend_call(shared_server.url, example("iris_random_forest"))
    assert answer is not None
    assert answer["status"] == "completed", answer
    results = answer["results"]
    assert results["algorithm"] == "random_forest"
    assert {m["key"] for m in results["metrics"]} >= {"accuracy", "f1"}
    assert all(isinstance(m["value"], (int, float)) for m in results["metrics"])


def test_backend_exchange_on_the_gradio_api_path_returns_the_same_result(shared_server: Server) -> None:
    legacy = backend_call(shared_server.url, example("iris_random_forest"))
    current = backend_call(shared_server.url, example("iris_random_forest"), prefix="/gradio_api")
    assert legacy is not None and current is not None
    assert current["status"] == legacy["status"] == "completed"
    assert current["results"]["metrics"] == legacy["results"]["metrics"]


def test_legacy_and_current_paths_stream_the_same_bytes_without_redirect(shared_server: Server) -> None:
    streams = []
    with httpx.Client(timeout=60, follow_redirects=False) as client:
        for prefix in ("", "/gradio_api"):
            submit = client.post(f"{shared_server.url}{prefix}/call/predict", json={"data": ["not json"]})
            assert submit.status_code == 200 and "location" not in submit.headers
            stream = client.get(f"{shared_server.url}{prefix}/call/predict/{submit.json()['event_id']}")
            assert stream.status_code == 200 and "location" not in stream.headers
            assert stream.headers["content-type"].startswith("text/event-stream")
            streams.append(stream.content)
    assert streams[0] == streams[1]
    assert streams[0].startswith(b"event: complete\ndata: [")


def test_gradio_client_predict_works(shared_server: Server) -> None:
    client = Client(shared_server.url, verbose=False)
    text = client.predict(example("iris_random_forest"), api_name="/predict")
    assert isinstance(text, str)
    assert json.loads(text)["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("not json", "not valid JSON"),
        ("[1, 2, 3]", "JSON object"),
        ("null", "JSON object"),
        ('"a string"', "not valid JSON"),
        ('{"nodes": [], "edges": []}', "no nodes"),
        ('{"nodes": "x"}', "must be a list"),
    ],
)
def test_malformed_requests_get_invalid_request(shared_server: Server, body: str, needle: str) -> None:
    answer = backend_call(shared_server.url, body)
    assert answer is not None
    assert answer["status"] == "failed"
    assert answer["errorCode"] == "invalid_request"
    assert needle in answer["error"]


def test_a_json_object_instead_of_a_string_is_accepted(shared_server: Server) -> None:
    with httpx.Client(timeout=120) as client:
        event_id = client.post(f"{shared_server.url}/call/predict", json={"data": [json.loads(example("iris_random_forest"))]}).json()["event_id"]
        text = client.get(f"{shared_server.url}/call/predict/{event_id}").text
    data = json.loads(next(line[6:] for line in text.split("\n") if line.startswith("data: ")))
    assert json.loads(data[0])["status"] == "completed"


def test_a_full_queue_answers_busy_not_503(idle_server: Server) -> None:
    """One slot and one place in line: the third request is turned away with a coded result."""
    running = OpenRequest(idle_server.url, fault("sleep", seconds=30))
    wait_for(lambda: idle_server.health()["jobs"]["running"] == 1)
    waiting = OpenRequest(idle_server.url, fault("sleep", seconds=30))
    wait_for(lambda: idle_server.health()["jobs"]["waiting"] == 1)
    try:
        answer = backend_call(idle_server.url, fault("sleep", seconds=0.1))
        assert answer is not None
        assert answer["errorCode"] == "busy"
        assert answer["errorDetails"]["limit"]["name"] == "max_waiting"
        assert "max_concurrent_jobs = 1" in answer["error"]
    finally:
        waiting.close()
        running.close()
    idle_server.wait_idle()


def test_a_request_whose_deadline_passes_in_line_gets_deadline_exceeded(idle_server: Server) -> None:
    """The slot holder ignores SIGTERM, so its slot outlives the deadline of the request behind it."""
    holder = OpenRequest(idle_server.url, fault("ignore_sigterm", seconds=60))
    wait_for(lambda: idle_server.health()["jobs"]["running"] == 1)
    answer = backend_call(idle_server.url, fault("sleep", seconds=0.1))
    assert answer is not None
    assert answer["errorCode"] == "deadline_exceeded"
    assert answer["errorDetails"]["limit"] == {"name": "request_deadline_seconds", "value": 8.0}
    held = holder.result()
    assert held is not None and held["errorCode"] == "timeout"
    holder.close()


def test_a_client_that_disconnects_leaves_no_job_process(idle_server: Server) -> None:
    request = OpenRequest(idle_server.url, fault("sleep", seconds=60))
    wait_for(lambda: idle_server.health()["jobs"]["running"] == 1)
    before = {r["requestId"] for r in idle_server.log_records()}
    request.close()
    wait_for(lambda: any(r["code"] == "cancelled" for r in idle_server.log_records() if r["requestId"] not in before))
    record = next(r for r in idle_server.log_records() if r["requestId"] not in before and r["code"] == "cancelled")
    assert record["pids"], record
    for pid in record["pids"]:
        if psutil.pid_exists(pid):
            assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    idle_server.wait_idle()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (fault("allocate", mb=2000), "memory_exceeded"),
        (fault("sleep", seconds=60), "timeout"),
        (fault("segfault"), "crashed"),
    ],
    ids=["oom", "timeout", "segfault"],
)
def test_a_misbehaving_job_is_answered_with_its_code_and_the_server_keeps_serving(
    idle_server: Server, body: str, code: str
) -> None:
    answer = backend_call(idle_server.url, body)
    assert answer is not None
    assert answer["status"] == "failed"
    assert answer["errorCode"] == code
    assert "usage" in answer["errorDetails"]
    after = backend_call(idle_server.url, example("iris_random_forest"))
    assert after is not None and after["status"] == "completed"


def test_every_request_writes_one_structured_log_line(shared_server: Server) -> None:
    shared_server.wait_idle()  # no job of an earlier test may log while this one counts
    before = len(shared_server.log_records())
    backend_call(shared_server.url, example("iris_random_forest"))
    records = shared_server.log_records()
    assert len(records) == before + 1
    record = records[-1]
    assert record["code"] == "completed"
    assert record["workflow"]["algorithms"] == ["random_forest"]
    assert record["workflow"]["datasets"] == ["iris"]
    assert {"requestId", "usage", "queueWaitSeconds"} <= set(record)


def test_health_reports_status_limits_guards_and_queue(idle_server: Server) -> None:
    response = httpx.get(f"{idle_server.url}/health", timeout=10)
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok", health.get("selfCheck")
    assert health["template"]["alive"] is True
    assert health["limits"]["queue"] == {"max_concurrent_jobs": 1, "max_waiting": 1, "request_deadline_seconds": 8.0,
                                        "warm_up": True, "max_ui_sessions": 64, "max_ui_value_kb": 64}
    assert health["jobs"]["running"] == 0 and health["jobs"]["waiting"] == 0
    assert any(layer["name"] == "wall_clock" for layer in health["guards"])
    assert health["selfCheck"]["ok"] is True


def test_readme_front_matter_pins_the_installed_gradio() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme.startswith("---\n")
    front = readme.split("---\n")[1]
    fields = dict(line.split(": ", 1) for line in front.strip().splitlines() if ": " in line)
    pins = dict(
        line.split("==", 1) for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line and not line.startswith("#")
    )
    assert fields["sdk"] == "gradio"
    assert fields["sdk_version"] == pins["gradio"]
    assert fields["app_file"] == "app.py"
    assert fields["python_version"].strip('"') == "3.11"
