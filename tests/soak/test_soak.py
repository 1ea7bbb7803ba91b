"""A reduced soak: a real server, 4 concurrent clients, good workflows mixed with every fault kind
and malformed requests. Nothing may be lost or left behind (bench/soak.py runs the full 300).

The server (``soak_server``: tests/servers.py SOAK_LIMITS, spawned early so its start overlaps
other tests) has its own TMPDIR, and only the job processes and dirs under it are counted: other
work on the machine (another test run's sandboxes) is not this server's leftovers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import psutil
import pytest

import bench.soak
from bench.loopback import Server
from bench.soak import bars, soak, workflow_bodies
from tests.servers import SOAK, SOAK_LIMITS

pytestmark = [pytest.mark.slow, pytest.mark.network_server]

REDUCED_LIMITS = SOAK_LIMITS


def _under(root: Path, pid: int) -> bool:
    """True when the process works or keeps its temp files under ``root`` (a job of our server)."""
    try:
        proc = psutil.Process(pid)
        return str(root) in proc.cwd() or str(root) in proc.environ().get("TMPDIR", "")
    except psutil.Error:
        return False


def test_soak_loses_nothing_and_leaves_nothing(soak_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    assert SOAK.spec is not None and SOAK.spec.tmpdir is not None
    root = SOAK.spec.tmpdir  # the server's TMPDIR: its sandbox and its jobs
    monkeypatch.setattr(tempfile, "tempdir", str(root))  # where bench.soak.job_dirs looks
    every_job_process = bench.soak.job_processes
    monkeypatch.setattr(bench.soak, "job_processes", lambda: [p for p in every_job_process() if _under(root, p)])

    def started(limits_text: str) -> Server:  # bench.soak.soak starts its server here: hand it ours
        assert limits_text == REDUCED_LIMITS
        return soak_server

    monkeypatch.setattr(bench.soak, "start_server", started)

    requests = len(workflow_bodies())  # every example, fault and malformed body once, 4 at a time
    figures = soak(requests, clients=4, limits_text=REDUCED_LIMITS)
    assert figures["answered"] == requests
    assert bars(figures) == [], figures
    codes = figures["codes"]
    for expected in ("completed", "invalid_request", "timeout", "memory_exceeded", "crashed", "exited",
                     "execution_error", "process_limit_exceeded", "file_size_exceeded", "result_too_large"):
        assert codes.get(expected), (expected, codes)
