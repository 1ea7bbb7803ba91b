"""A real worker on loopback: start ``python app.py`` on a free port, talk to it like the backend.

Shared by the app tests, the security and fuzz tests, the soak and the HTTP benchmark. Only
127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = ["ROOT", "Server", "call_predict", "free_port", "spawn_server", "start_server", "stop_server", "wait_ready"]

ROOT = Path(__file__).resolve().parent.parent


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
        marker = "service.requests "
        for line in self.log.read_text(errors="replace").splitlines():
            if marker in line:
                try:
                    out.append(json.loads(line.split(marker, 1)[1]))
                except ValueError:
                    continue
        return out


def spawn_server(
    limits: str | None, workdir: Path | None = None, *, extra_env: dict[str, str] | None = None
) -> Server:
    """Start ``python app.py`` on a free loopback port and return at once (see :func:`wait_ready`).

    ``limits`` is TOML text (None = the repo's file). Starting is mostly the Gradio import, the
    template's preload and the start-up self-check, so a caller that needs a server later can
    spawn it early and wait for it when it is needed.
    """
    workdir = workdir or Path(tempfile.mkdtemp(prefix="worker-"))
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        **(extra_env or {}),
    }
    env.pop("SPACE_ID", None)
    if limits is not None:
        limits_file = workdir / "limits.toml"
        limits_file.write_text(limits)
        env["WORKER_LIMITS_FILE"] = str(limits_file)
    port = free_port()
    env["GRADIO_SERVER_PORT"] = str(port)
    log = workdir / "server.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    return Server(f"http://127.0.0.1:{port}", proc, log)


def wait_ready(server: Server, timeout: float = 300) -> Server:
    """Wait until a spawned server answers ``/health``; kill it and raise if it exits or never does.

    The timeout only bounds a server that hangs: a start takes ~10 s on an idle 2-CPU machine and
    several times that on a busy one, so it is generous.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"server did not answer /health within {timeout} s:\n{server.log.read_text()[-3000:]}")


def start_server(
    limits: str | None, workdir: Path | None = None, *, extra_env: dict[str, str] | None = None, timeout: float = 300
) -> Server:
    """``python app.py`` on a free loopback port with ``limits`` (TOML text; None = the repo's file),
    answering ``/health`` when this returns."""
    return wait_ready(spawn_server(limits, workdir, extra_env=extra_env), timeout)


def stop_server(server: Server, timeout: float = 60) -> None:
    """SIGTERM, then SIGKILL if the server has not exited within ``timeout`` seconds."""
    if server.proc.poll() is not None:
        return
    server.proc.terminate()
    try:
        server.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


def call_predict(
    url: str, body: str, *, timeout: float = 300, path: str = "/call/predict", client: httpx.Client | None = None
) -> dict[str, Any] | None:
    """The platform backend's exchange: POST, then read the SSE text; the first ``data:`` list's
    first item, ``json.loads``-ed. None when no answer came; an HTTP error as a failure envelope.
    Pass a ``client`` to reuse its connections (latency benchmarks)."""
    if client is None:
        with httpx.Client(timeout=timeout, follow_redirects=False) as own:
            return call_predict(url, body, path=path, client=own)
    submit = client.post(f"{url}{path}", json={"data": [body]})
    if submit.status_code != 200:
        return {"status": "failed", "errorCode": f"http_{submit.status_code}", "error": submit.text[:200]}
    event_id = submit.json().get("event_id")
    if not event_id:
        return None
    stream = client.get(f"{url}{path}/{event_id}")
    for line in stream.text.split("\n"):
        if line.startswith("data: "):
            try:
                data = json.loads(line[6:])
            except json.JSONDecodeError:
                continue
            if isinstance(data, list) and data and isinstance(data[0], str):
                return json.loads(data[0])
    return None
