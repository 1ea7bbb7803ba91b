"""A reduced soak: a real server, 4 concurrent clients, good workflows mixed with every fault kind
and malformed requests. Nothing may be lost or left behind (bench/soak.py runs the full 300).

The server gets its own TMPDIR, and only the job processes and dirs under it are counted: other
work on the machine (another test run's sandboxes) is not this server's leftovers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import psutil
import pytest

import bench.soak
from bench.soak import bars, soak, workflow_bodies

pytestmark = [pytest.mark.slow, pytest.mark.network_server]

REDUCED_LIMITS = """
[job]
wall_clock_seconds = 4
cpu_seconds = 8
memory_mb = 400
max_processes = 48
max_file_size_mb = 16
max_result_mb = 24
threads = 1

[queue]
max_concurrent_jobs = 2
max_waiting = 16
request_deadline_seconds = 40

[testing]
fault_injection = true
"""


def _under(root: Path, pid: int) -> bool:
    """True when the process works or keeps its temp files under ``root`` (a job of our server)."""
    try:
        proc = psutil.Process(pid)
        return str(root) in proc.cwd() or str(root) in proc.environ().get("TMPDIR", "")
    except psutil.Error:
        return False


def test_soak_loses_nothing_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setenv("TMPDIR", str(root))  # the server, its sandbox and its jobs
    monkeypatch.setattr(tempfile, "tempdir", str(root))  # where bench.soak.job_dirs looks
    every_job_process = bench.soak.job_processes
    monkeypatch.setattr(bench.soak, "job_processes", lambda: [p for p in every_job_process() if _under(root, p)])

    requests = len(workflow_bodies())  # every example, fault and malformed body once, 4 at a time
    figures = soak(requests, clients=4, limits_text=REDUCED_LIMITS)
    assert figures["answered"] == requests
    assert bars(figures) == [], figures
    codes = figures["codes"]
    for expected in ("completed", "invalid_request", "timeout", "memory_exceeded", "crashed", "exited",
                     "execution_error", "process_limit_exceeded", "file_size_exceeded", "result_too_large"):
        assert codes.get(expected), (expected, codes)
