"""A limit hit inside an engine node is reported as that limit, not as the node's execution error.

The engine turns a node's exceptions into ``execution_error`` envelopes; the ones a limit caused
(a thread or process that could not start, a failed allocation, a write past the file size limit)
must pass through it to the sandbox, which names the limit.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import GuardLimits, JobLimits, Sandbox
from service.config import Settings

LIMITS = JobLimits(
    wall_clock_seconds=30, cpu_seconds=20, memory_mb=300, max_processes=32, max_file_size_mb=8, max_result_mb=16,
    threads=1,
)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(LIMITS, GuardLimits(kill_grace_seconds=0.2), preload=["executor.preload"], fault_injection=True,
                 extra_env={"MPLBACKEND": "Agg"}) as sandbox:
        yield sandbox


def _fault(**config: object) -> dict:
    node = {"id": "fault-1", "type": "fault", "config": config}
    return {"workflow": {"nodes": [node], "edges": []}, "limits": Settings().engine_limits(),
            "fault_injection": True, "request_id": "engine-faults"}


@pytest.mark.parametrize(
    ("config", "codes"),
    [
        # Threads stop at max_processes tasks, or earlier when their 8 MB stacks pass memory_mb.
        ({"kind": "thread_bomb"}, {"process_limit_exceeded", "memory_exceeded"}),
        ({"kind": "fork_bomb", "seconds": 1}, {"process_limit_exceeded"}),
        ({"kind": "allocate", "mb": 2000}, {"memory_exceeded"}),
        ({"kind": "write_file", "mb": 64}, {"file_size_exceeded"}),
        ({"kind": "raise", "message": "boom"}, {"execution_error"}),
    ],
    ids=["thread_bomb", "fork_bomb", "allocate", "write_file", "raise"],
)
def test_a_limit_hit_in_an_engine_node_is_reported_as_the_limit(sb: Sandbox, config: dict, codes: set) -> None:
    for _ in range(3):  # the first to stop the job (guard, rlimit, exception) may differ between runs
        outcome = sb.run("executor.entry:run", _fault(**config))
        code = outcome.code if not outcome.ok else outcome.value.get("errorCode")
        assert code in codes, outcome.to_dict() if not outcome.ok else outcome.value
