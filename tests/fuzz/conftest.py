"""Fixtures for fuzzing: one warm sandbox running the real engine under small limits."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from sandbox import GuardLimits, JobLimits, Sandbox

# CI runs a fixed set of examples (a landing must not hinge on a new random draw); local runs
# explore new ones each time, and what they find is kept in .hypothesis/ and replayed.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

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
    with Sandbox(
        FUZZ_LIMITS, GuardLimits(kill_grace_seconds=0.2), preload=PRELOAD, extra_env={"MPLBACKEND": "Agg"}
    ) as sb:
        yield sb
