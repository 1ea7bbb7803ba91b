"""Every limit: cannot be exceeded, can be raised, can be disabled (0); and the plan that sets them.

One sandbox serves the whole module: every limit is a per-run limit (``run(limits=...)``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import LimitPlan, Outcome, Sandbox

from .conftest import GUARDS, SMALL, assert_cleaned_up, limits

# limit key, value that stops the fault, raised value, the fault, the code when exceeded
LIMITS = [
    ("wall_clock_seconds", 1, 20, {"kind": "sleep", "seconds": 2}, "timeout"),
    ("cpu_seconds", 1, 6, {"kind": "busy_loop", "seconds": 2}, "cpu_time_exceeded"),
    ("memory_mb", 150, 600, {"kind": "allocate", "mb": 300}, "memory_exceeded"),
    ("max_processes", 16, 200, {"kind": "fork_bomb", "count": 40, "seconds": 1}, "process_limit_exceeded"),
    ("max_file_size_mb", 4, 32, {"kind": "write_file", "mb": 10}, "file_size_exceeded"),
    ("max_result_mb", 4, 32, {"kind": "huge_result", "mb": 10}, "result_too_large"),
]
BASE = {"wall_clock_seconds": 60, "cpu_seconds": 30}
"""Time limits of every run but the one under test: 2 s of CPU may take many more seconds of wall
clock on a loaded machine, and only the limit under test may end a run."""


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(SMALL, GUARDS, preload=["numpy"], fault_injection=True) as sandbox:
        yield sandbox


def _run(sb: Sandbox, key: str, value: float, fault: dict) -> Outcome:
    outcome = sb.run("sandbox.faults:target", fault, limits=limits(**{**BASE, key: value}))
    assert_cleaned_up(sb, outcome)
    return outcome


@pytest.mark.parametrize("key, low, high, fault, code", LIMITS, ids=[row[0] for row in LIMITS])
def test_cannot_exceed_limit(sb: Sandbox, key, low, high, fault, code) -> None:
    outcome = _run(sb, key, low, fault)
    assert outcome.code == code, outcome.to_dict()
    assert outcome.usage.limit_hit == key
    assert outcome.limit is not None and (outcome.limit.name, outcome.limit.value) == (key, low)


@pytest.mark.parametrize("key, low, high, fault, code", LIMITS, ids=[row[0] for row in LIMITS])
def test_can_raise_limit(sb: Sandbox, key, low, high, fault, code) -> None:
    outcome = _run(sb, key, high, fault)
    assert outcome.ok, outcome.to_dict()


@pytest.mark.parametrize("key, low, high, fault, code", LIMITS, ids=[row[0] for row in LIMITS])
def test_can_disable_limit(sb: Sandbox, key, low, high, fault, code) -> None:
    outcome = _run(sb, key, 0, fault)
    assert outcome.ok, outcome.to_dict()


@pytest.mark.parametrize("threads", [1, 2])
def test_thread_pools_are_capped(sb: Sandbox, threads: int) -> None:
    outcome = sb.run("tests.sandbox.targets:thread_pools", None, limits=limits(threads=threads))
    assert outcome.ok, outcome.to_dict()
    assert outcome.value["threads"] == threads
    assert outcome.value["env"] == str(threads)
    assert {n for _, n in outcome.value["pools"]} == {threads}


def test_memory_stop_happens_before_the_tree_exceeds_the_limit_by_ten_percent(sb: Sandbox) -> None:
    outcome = sb.run("sandbox.faults:target", {"kind": "allocate", "mb": 2000}, limits=limits(memory_mb=200))
    assert outcome.code == "memory_exceeded"
    assert outcome.usage.peak_memory_mb <= 200 * 1.1


def test_a_payload_too_large_to_decode_is_memory_exceeded_not_an_internal_error(sb: Sandbox) -> None:
    """~74 MB of JSON under a 200 MB limit: orjson cannot allocate its buffers (the Python API's case)."""
    payload = {"kind": "sleep", "seconds": 0, "junk": ["x" * 100] * 750_000}
    outcome = sb.run("sandbox.faults:target", payload, limits=limits(memory_mb=200))
    assert outcome.code == "memory_exceeded", outcome.to_dict()
    assert "payload" in outcome.message and "200 MB" in outcome.message
    assert outcome.to_dict()["details"]["limit"]["name"] == "memory_mb"


def test_a_tree_over_the_memory_limit_is_stopped_by_the_watchdog(sb: Sandbox) -> None:
    # 3 processes x 120 MB: each is under RLIMIT_DATA (fork size + 200 MB), the tree is not.
    outcome = sb.run("tests.sandbox.targets:tree_hog", {"procs": 3, "mb": 120, "seconds": 40},
                     limits=limits(memory_mb=200))
    assert_cleaned_up(sb, outcome)
    assert outcome.code == "memory_exceeded", outcome.message
    assert "were killed" in outcome.message  # the watchdog's verdict, not an allocation refused
    assert outcome.usage.wall_seconds < 40  # stopped before the job's own end


@pytest.mark.parametrize(
    ("cpu_spent", "soft"),
    [(0.0, 1), (0.004, 1), (0.4, 1), (0.6, 2), (1.5, 3)],  # a child's few ms before its job add no second
)
def test_the_cpu_limit_carries_the_warm_ups_cpu_to_the_nearest_second(cpu_spent: float, soft: int) -> None:
    plan = LimitPlan(limits(cpu_seconds=1), GUARDS)
    rlimits = plan.rlimits(vm_size=1 << 30, vm_data=1 << 28, uid=0, user_tasks=0, cpu_spent=cpu_spent)
    assert rlimits["RLIMIT_CPU"] == (soft, soft + GUARDS.cpu_hard_grace_seconds)
