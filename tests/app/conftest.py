"""A real server (``python app.py`` on a free loopback port) with small limits and fault injection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bench.loopback import ROOT, Server, start_server, stop_server  # noqa: F401 (re-exported to the tests)

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
