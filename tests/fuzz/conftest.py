"""Fixtures for fuzzing: one warm sandbox running the real engine under small limits."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from sandbox import GuardLimits, JobLimits, Sandbox

ENGINE_MISSING = importlib.util.find_spec("executor.entry") is None

FUZZ_LIMITS = JobLimits(
    wall_clock_seconds=10,
    cpu_seconds=15,
    memory_mb=512,
    max_processes=32,
    max_file_size_mb=16,
    max_result_mb=16,
    threads=1,
)
PRELOAD = ["executor.preload"]


@pytest.fixture(scope="session")
def engine_sandbox() -> Iterator[Sandbox]:
    if ENGINE_MISSING:
        pytest.skip("executor.entry is not present yet (the engine issue is still being written)")
    with Sandbox(
        FUZZ_LIMITS, GuardLimits(kill_grace_seconds=0.2), preload=PRELOAD, extra_env={"MPLBACKEND": "Agg"}
    ) as sb:
        yield sb
