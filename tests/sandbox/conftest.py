"""Fixtures: sandboxes with small limits, and helpers to prove a job left nothing behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from sandbox import GuardLimits, JobLimits, Outcome, Sandbox
from sandbox.watchdog import find_job_processes

SMALL = JobLimits(
    wall_clock_seconds=4,  # 4x the CPU limit: a busy loop on a loaded machine still hits the CPU limit first
    cpu_seconds=1,
    memory_mb=256,
    max_processes=24,
    max_file_size_mb=4,
    max_result_mb=4,
    threads=2,
)
GUARDS = GuardLimits(kill_grace_seconds=0.2)
HEAVY = ["numpy", "sklearn.ensemble", "xgboost"]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One warm sandbox with small limits, shared by the fault table."""
    with Sandbox(SMALL, GUARDS, preload=HEAVY, fault_injection=True) as sb:
        yield sb


def make_sandbox(**job: object) -> Sandbox:
    """A light sandbox (numpy only) with SMALL limits overridden by ``job``."""
    limits = SMALL.model_copy(update=job)
    return Sandbox(limits, GUARDS, preload=["numpy"], fault_injection=True)


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
