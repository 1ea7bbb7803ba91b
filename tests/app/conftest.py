"""A real server (``python app.py`` on a free loopback port) with small limits and fault injection."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

# One slot and one place in line make "busy" and "deadline_exceeded" easy to provoke. The job's wall
# clock is above the request deadline, and a 2 s kill grace keeps a SIGTERM-ignoring job's slot
# past the deadline of a request that waits behind it.
TEST_LIMITS = """
[job]
wall_clock_seconds = 20
cpu_seconds = 30
memory_mb = 300
max_processes = 48
threads = 1

[queue]
max_concurrent_jobs = 1
max_waiting = 1
request_deadline_seconds = 8

[guards]
kill_grace_seconds = 2

[testing]
fault_injection = true
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/health", timeout=10).json()

    def wait_idle(self, timeout: float = 30) -> None:
        """Wait until no job runs or waits (a previous test's jobs must not fill the slot)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self.health()["jobs"]
            if jobs["running"] == 0 and jobs["waiting"] == 0:
                return
            time.sleep(0.1)
        raise AssertionError(f"server still busy after {timeout} s: {self.health()['jobs']}")

    def log_records(self) -> list[dict[str, Any]]:
        """The structured request log lines written so far."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            marker = "service.requests "
            if marker in line:
                try:
                    out.append(json.loads(line.split(marker, 1)[1]))
                except ValueError:
                    continue
        return out


def start_server(limits: str, tmp: Path, *, extra_env: dict[str, str] | None = None, timeout: float = 180) -> Server:
    limits_file = tmp / "limits.toml"
    limits_file.write_text(limits)
    port = free_port()
    log = tmp / "server.log"
    env = {
        **os.environ,
        "WORKER_LIMITS_FILE": str(limits_file),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        **(extra_env or {}),
    }
    env.pop("SPACE_ID", None)
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return Server(url, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server did not answer /health within {timeout} s:\n{log.read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(TEST_LIMITS, tmp_path_factory.mktemp("app-server"))
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture
def idle_server(server: Server) -> Server:
    server.wait_idle()
    return server


def backend_call(url: str, body: str, *, prefix: str = "", timeout: float = 300) -> dict[str, Any] | None:
    """The platform backend's exchange (contract §1.1), step by step: POST, then parse the SSE text."""
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        submit = client.post(f"{url}{prefix}/call/predict", json={"data": [body]})
        assert submit.status_code == 200, submit.text
        event_id = submit.json().get("event_id")
        assert event_id, submit.text
        stream = client.get(f"{url}{prefix}/call/predict/{event_id}")
        assert stream.status_code == 200
        for line in stream.text.split("\n"):
            if line.startswith("data: "):
                try:
                    data = json.loads(line[6:])
                except json.JSONDecodeError:
                    continue
                if isinstance(data, list) and data:
                    return json.loads(data[0])  # must be a str holding JSON
    return None


def fault(kind: str, **params: Any) -> str:
    """A one-node workflow running a fault."""
    return json.dumps({"nodes": [{"id": "fault-1", "type": "fault", "config": {"kind": kind, **params}}], "edges": []})


def example(name: str) -> str:
    return (ROOT / "examples" / f"{name}.json").read_text()
