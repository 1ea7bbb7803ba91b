"""Fixtures: sandboxes with small limits, and helpers to prove a job left nothing behind."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from sandbox import GuardLimits, JobLimits, Outcome, Sandbox
from sandbox.watchdog import find_job_processes

SMALL = JobLimits(
    wall_clock_seconds=60,
    cpu_seconds=30,
    memory_mb=256,
    max_processes=24,
    max_file_size_mb=4,
    max_result_mb=4,
    threads=2,
)
"""Limits of the tests' sandboxes: small where tests hit them on purpose (memory, tasks, files,
result), generous in time. On a busy machine (load 8 on 2 cores) a CPU second can take several
wall seconds and a fit several CPU seconds (idle pool threads spin), so no test that checks
something else may end at a time limit; a test of a time limit sets it for its run with
``run(limits=limits(...))``."""
GUARDS = GuardLimits(kill_grace_seconds=0.2)
HEAVY = ["numpy", "sklearn.ensemble", "xgboost"]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One warm sandbox with SMALL limits, shared by every test that needs no sandbox of its own."""
    with Sandbox(SMALL, GUARDS, preload=HEAVY, fault_injection=True) as sb:
        yield sb


def limits(**job: object) -> JobLimits:
    """SMALL with ``job`` overridden: per-run limits for ``Sandbox.run(limits=...)``."""
    return SMALL.model_copy(update=job)


def make_sandbox(**job: object) -> Sandbox:
    """A light sandbox of its own (numpy only) with SMALL limits overridden by ``job``."""
    return Sandbox(limits(**job), GUARDS, preload=["numpy"], fault_injection=True)


def wait_for(condition: Callable[[], object], *, timeout: float = 60.0, what: str = "the condition") -> None:
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds (a busy machine is slow, not stuck)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.02)


def assert_cleaned_up(sb: Sandbox, outcome: Outcome) -> None:
    """No process of the job is left (by marker, by session, by reported pid); its temp dir is gone."""
    assert find_job_processes(outcome.job_id) == []
    assert all(_gone(pid) for pid in outcome.pids)  # the runner too: it has exited when we answer
    if len(outcome.pids) == 2:  # (runner, child)
        child = outcome.pids[1]
        same_session = [p for p in psutil.process_iter() if _sid(p.pid) == child]
        assert same_session == []
    assert sb._tmp_root is not None
    assert [p for p in Path(sb._tmp_root).iterdir() if outcome.job_id in p.name] == []


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _sid(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None
