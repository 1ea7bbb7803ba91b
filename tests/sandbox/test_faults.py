"""One row per fault kind: the code, the limit named, cleanup, and the next job still works."""

from __future__ import annotations

import pytest

from sandbox import Sandbox

from .conftest import assert_cleaned_up, limits

ONE_SECOND = {"wall_clock_seconds": 1}
ONE_CPU_SECOND = {"cpu_seconds": 1}  # the wall clock stays SMALL's 60 s: a loaded machine still hits the CPU limit first

# kind, params, per-run limits, expected code (None = completes), limit named, answer bound (s): the
# bounds only prove a guard stopped the job instead of waiting for its end (a hold of 30 s or more,
# or SMALL's 60 s wall clock), with room for a busy machine
FAULT_TABLE = [
    ("sleep", {"seconds": 0.1}, {}, None, None, 10),
    ("sleep", {"seconds": 30}, ONE_SECOND, "timeout", "wall_clock_seconds", 10),
    ("ignore_sigterm", {"seconds": 30}, ONE_SECOND, "timeout", "wall_clock_seconds", 10),
    ("busy_loop", {"seconds": 120}, ONE_CPU_SECOND, "cpu_time_exceeded", "cpu_seconds", 40),
    ("allocate", {"mb": 4000}, {}, "memory_exceeded", "memory_mb", 20),
    ("segfault", {}, {}, "crashed", None, 20),
    ("abort", {}, {}, "crashed", None, 20),
    ("exit", {"code": 7}, {}, "exited", None, 20),
    ("raise", {"message": "injected boom"}, {}, "execution_error", None, 20),
    ("fork_bomb", {}, {}, "process_limit_exceeded", "max_processes", 20),
    ("thread_bomb", {}, {}, "process_limit_exceeded", "max_processes", 20),
    ("orphan", {"seconds": 60}, {}, None, None, 20),
    ("write_file", {"mb": 20}, {}, "file_size_exceeded", "max_file_size_mb", 20),
    ("huge_result", {"mb": 20}, {}, "result_too_large", "max_result_mb", 20),
    ("stdout_flood", {"mb": 16}, {}, None, None, 30),
    ("close_result_channel", {}, {}, "exited", None, 20),
]


@pytest.mark.parametrize(
    "kind, params, job, code, limit, bound", FAULT_TABLE, ids=[f"{row[0]}-{row[3]}" for row in FAULT_TABLE]
)
def test_fault_is_answered_with_its_code(sandbox: Sandbox, kind, params, job, code, limit, bound) -> None:
    """Each fault ends in its code, names its limit, answers in time, leaves nothing behind."""
    events: list[dict] = []
    outcome = sandbox.run("sandbox.faults:target", {"kind": kind, **params}, on_event=events.append,
                          limits=limits(**job))
    assert outcome.code == code, outcome.to_dict()
    assert outcome.ok is (code is None)
    assert outcome.usage.limit_hit == limit
    if limit:
        assert outcome.limit is not None and outcome.limit.name == limit
        assert outcome.details["limit"] == outcome.limit.to_dict()
    assert outcome.usage.wall_seconds <= bound
    sentinel = {"type": "sentinel", "fault": kind}
    # huge_result and close_result_channel fail after the fault returned; every other failure
    # must stop the job before it reaches its end
    reaches_end = code is None or kind == "huge_result"
    if kind != "close_result_channel":  # with its channel closed, its sentinel cannot arrive
        assert (sentinel in events) is reaches_end, "a stopped job must never reach its end"
    assert_cleaned_up(sandbox, outcome)
    after = sandbox.run("sandbox.faults:target", {"kind": "sleep", "seconds": 0})
    assert after.ok, after.to_dict()


def test_crash_names_the_signal(sandbox: Sandbox) -> None:
    outcome = sandbox.run("sandbox.faults:target", {"kind": "segfault"})
    assert outcome.usage.signal == "SIGSEGV"
    assert "SIGSEGV" in outcome.message


def test_exit_reports_the_exit_code(sandbox: Sandbox) -> None:
    outcome = sandbox.run("sandbox.faults:target", {"kind": "exit", "code": 9})
    assert outcome.usage.exit_code == 9
    assert "code 9" in outcome.message


def test_execution_error_carries_type_and_traceback(sandbox: Sandbox) -> None:
    outcome = sandbox.run("sandbox.faults:target", {"kind": "raise", "message": "boom-123"})
    assert outcome.details["exceptionType"] == "RuntimeError"
    assert "boom-123" in outcome.message
    assert "Traceback" in outcome.details["traceback"]


def test_orphan_in_its_own_session_is_killed(sandbox: Sandbox) -> None:
    import psutil

    outcome = sandbox.run("sandbox.faults:target", {"kind": "orphan", "seconds": 60})
    assert outcome.ok
    orphan = outcome.value["orphan_pid"]
    assert orphan > 0
    assert not psutil.pid_exists(orphan) or psutil.Process(orphan).status() == psutil.STATUS_ZOMBIE
    assert outcome.usage.processes_killed >= 1


def test_stdout_flood_keeps_only_the_tail_and_failures_return_it(sandbox: Sandbox) -> None:
    outcome = sandbox.run("sandbox.faults:target", {"kind": "stdout_flood", "mb": 4})
    assert outcome.ok
    failed = sandbox.run("tests.sandbox.targets:unserialisable", None)
    assert failed.code == "invalid_result"


def test_failure_returns_the_log_tail(sandbox: Sandbox) -> None:
    outcome = sandbox.run("sandbox.faults:target", {"kind": "close_result_channel"})
    assert "result channel is closed" in outcome.log_tail
    assert len(outcome.log_tail) <= 8 * 1024
