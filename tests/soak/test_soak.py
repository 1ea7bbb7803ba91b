"""A reduced soak: a real server, 4 concurrent clients, good workflows mixed with every fault kind
and malformed requests. Nothing may be lost or left behind (bench/soak.py runs the full 300)."""

from __future__ import annotations

import pytest

from bench.soak import FAULTS, MALFORMED, bars, soak

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


def test_soak_loses_nothing_and_leaves_nothing() -> None:
    requests = len(FAULTS) + len(MALFORMED) + 30  # every fault and malformed body at least once
    figures = soak(requests, clients=4, limits_text=REDUCED_LIMITS)
    assert figures["answered"] == requests
    assert bars(figures) == [], figures
    codes = figures["codes"]
    for expected in ("completed", "invalid_request", "timeout", "memory_exceeded", "crashed", "exited",
                     "execution_error", "process_limit_exceeded", "file_size_exceeded", "result_too_large"):
        assert codes.get(expected), (expected, codes)
