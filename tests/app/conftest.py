"""The app's real servers (tests/servers.py) and the backend's exchange, step by step.

``shared_server`` (tests/conftest.py: the shipped limits, fault injection on) serves every test
that only needs a working server; ``idle_server`` is the one-slot server (one slot, one place in
line, an 8 s deadline) for the admission, deadline and misbehaving-job tests, idle when they start.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bench.loopback import ROOT, Server, start_server, stop_server  # noqa: F401 (re-exported to the tests)
from tests.servers import ONE_SLOT_LIMITS  # noqa: F401 (the one-slot server's limits, for reference)


@pytest.fixture
def idle_server(one_slot_server: Server) -> Server:
    one_slot_server.wait_idle()
    return one_slot_server


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
