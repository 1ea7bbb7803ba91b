"""Every limit: cannot be exceeded, can be raised, can be disabled (0)."""

from __future__ import annotations

import pytest

from .conftest import assert_cleaned_up, make_sandbox

# limit key, value that stops the fault, raised value, the fault, the code when exceeded
LIMITS = [
    ("wall_clock_seconds", 1, 4, {"kind": "sleep", "seconds": 2}, "timeout"),
    ("cpu_seconds", 1, 5, {"kind": "busy_loop", "seconds": 2}, "cpu_time_exceeded"),
    ("memory_mb", 150, 600, {"kind": "allocate", "mb": 300}, "memory_exceeded"),
    ("max_processes", 16, 200, {"kind": "fork_bomb", "count": 40, "seconds": 1}, "process_limit_exceeded"),
    ("max_file_size_mb", 4, 32, {"kind": "write_file", "mb": 10}, "file_size_exceeded"),
    ("max_result_mb", 4, 32, {"kind": "huge_result", "mb": 10}, "result_too_large"),
]
BASE = {"wall_clock_seconds": 10, "cpu_seconds": 10}


def _run(key: str, value: float, fault: dict) -> tuple:
    limits = {**BASE, key: value}
    with make_sandbox(**limits) as sb:
        outcome = sb.run("sandbox.faults:target", fault)
        assert_cleaned_up(sb, outcome)
    return outcome


@pytest.mark.parametrize("key, low, high, fault, code", LIMITS, ids=[row[0] for row in LIMITS])
def test_cannot_exceed_limit(key, low, high, fault, code) -> None:
    outcome = _run(key, low, fault)
    assert outcome.code == code, outcome.to_dict()
    assert outcome.usage.limit_hit == key


@pytest.mark.parametrize("key, low, high, fault, code", LIMITS, ids=[row[0] for row in LIMITS])
def test_can_raise_limit(key, low, high, fault, code) -> None:
    outcome = _run(key, high, fault)
    assert outcome.ok, outcome.to_dict()


@pytest.mark.parametrize("key, low, high, fault, code", LIMITS, ids=[row[0] for row in LIMITS])
def test_can_disable_limit(key, low, high, fault, code) -> None:
    outcome = _run(key, 0, fault)
    assert outcome.ok, outcome.to_dict()


@pytest.mark.parametrize("threads", [1, 2])
def test_thread_pools_are_capped(threads: int) -> None:
    with make_sandbox(threads=threads) as sb:
        outcome = sb.run("tests.sandbox.targets:thread_pools", None)
    assert outcome.ok, outcome.to_dict()
    assert outcome.value["threads"] == threads
    assert {n for _, n in outcome.value["pools"]} == {threads}


def test_memory_stop_happens_before_the_tree_exceeds_the_limit_by_ten_percent() -> None:
    with make_sandbox(memory_mb=200, wall_clock_seconds=10) as sb:
        outcome = sb.run("sandbox.faults:target", {"kind": "allocate", "mb": 2000})
    assert outcome.code == "memory_exceeded"
    assert outcome.usage.peak_memory_mb <= 200 * 1.1


def test_a_tree_over_the_memory_limit_is_stopped_by_the_watchdog() -> None:
    # 3 processes x 120 MB: each is under RLIMIT_DATA (fork size + 200 MB), the tree is not.
    with make_sandbox(memory_mb=200, wall_clock_seconds=15) as sb:
        outcome = sb.run("tests.sandbox.targets:tree_hog", {"procs": 3, "mb": 120, "seconds": 8})
        assert_cleaned_up(sb, outcome)
    assert outcome.code == "memory_exceeded", outcome.message
    assert "were killed" in outcome.message  # the watchdog's verdict, not an allocation refused
    assert outcome.usage.wall_seconds < 6  # stopped well before the job's own end


@pytest.mark.parametrize(
    ("cpu_spent", "soft"),
    [(0.0, 1), (0.004, 1), (0.4, 1), (0.6, 2), (1.5, 3)],  # a child's few ms before its job add no second
)
def test_the_cpu_limit_carries_the_warm_ups_cpu_to_the_nearest_second(cpu_spent: float, soft: int) -> None:
    from sandbox.rlimits import ProcStatus, compute_rlimits

    from .conftest import GUARDS, SMALL

    limits = compute_rlimits(SMALL, GUARDS, status=ProcStatus(1 << 30, 1 << 28, 1 << 27, 1), uid=0, user_tasks=0,
                             cpu_spent=cpu_spent)
    assert SMALL.cpu_seconds == 1
    assert limits["RLIMIT_CPU"] == (soft, soft + GUARDS.cpu_hard_grace_seconds)
