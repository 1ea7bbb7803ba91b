"""The warm-up hook: each pre-forked job child runs the caller's warm-up before its job, off the
request path, never in the template, and never charged to the job or able to break it.

The warm-ups of tests/sandbox/targets.py leave marker files in their temp dir (under the sandbox's
root); the tests poll for them instead of sleeping, so a busy machine makes them slower, not wrong.
"""

from __future__ import annotations

import glob
import os
import tempfile
import time
from pathlib import Path

import pytest

from sandbox import Sandbox
from tests.sandbox.conftest import GUARDS, SMALL, assert_cleaned_up, wait_for


def _sandbox(warmup: str, **job: object) -> Sandbox:
    return Sandbox(SMALL.model_copy(update=job), GUARDS, preload=["tests.sandbox.targets"], warmup=warmup)


def _warm_files(sb: Sandbox, pattern: str) -> list[str]:
    """Files matching ``pattern`` in the temp dir of the spare's warm-up."""
    assert sb._tmp_root is not None
    return glob.glob(os.path.join(sb._tmp_root, "warmup-*", pattern))


def _await_warm(sb: Sandbox, pattern: str) -> None:
    wait_for(lambda: _warm_files(sb, pattern), what=f"the warm-up's {pattern!r}")


def test_the_warm_up_runs_in_the_job_child_before_the_job() -> None:
    with _sandbox("tests.sandbox.targets:warm_record") as sb:
        for _ in range(2):  # every job child is warmed, not only the first
            _await_warm(sb, "recorded")  # a job that comes first skips the warm-up
            out = sb.run("tests.sandbox.targets:read_warm_mark", None)
            assert out.ok, out.message
            assert out.value["warmed_pid"] == out.value["pid"]
            assert_cleaned_up(sb, out)
        assert sb.status()["template"]["threads"] == 1  # the warm-up's thread never ran in the template


def test_the_warm_ups_cpu_time_is_not_charged_to_the_job() -> None:
    # The warm-up spins 1.5 s of CPU; the job may use 1 s and uses almost none.
    with _sandbox("tests.sandbox.targets:warm_spin", cpu_seconds=1) as sb:
        _await_warm(sb, "spun")  # the warm-up ran to its end
        out = sb.run("tests.sandbox.targets:echo", {"x": 1})
        assert out.ok, out.message
        assert out.usage.cpu_seconds < 1.0


def test_the_cpu_limit_still_holds_after_a_warm_up() -> None:
    with _sandbox("tests.sandbox.targets:warm_spin", cpu_seconds=1) as sb:
        _await_warm(sb, "spun")
        out = sb.run("sandbox.faults:target", {"kind": "busy_loop", "seconds": 30})
        assert out.code == "cpu_time_exceeded", out.message
        assert 0.5 <= out.usage.cpu_seconds <= 3.5  # cpu_seconds within the ±0.5 s of the warm-up's rounding


@pytest.mark.parametrize("warmup", ["tests.sandbox.targets:warm_fail", "no.such.module:run", "tests.sandbox.targets:nope"])
def test_a_broken_warm_up_neither_fails_the_job_nor_reaches_its_log(warmup: str) -> None:
    with _sandbox(warmup) as sb:
        if warmup.endswith("warm_fail"):
            _await_warm(sb, "failing")
        else:  # an import that fails leaves nothing to poll for; it fails within milliseconds of the fork
            time.sleep(0.3)
        out = sb.run("tests.sandbox.targets:echo", {"x": 1})
        assert out.ok, out.message
        assert out.value["payload"] == {"x": 1}
        crashed = sb.run("sandbox.faults:target", {"kind": "raise", "message": "boom"})
        assert crashed.code == "execution_error"
        assert "warm-up" not in crashed.log_tail and "noise" not in crashed.log_tail


def test_a_job_that_arrives_during_the_warm_up_does_not_wait_for_it() -> None:
    with _sandbox("tests.sandbox.targets:warm_long") as sb:
        for _ in range(2):  # the first child and a spare forked while the first job ran
            _await_warm(sb, "started")  # the warm-up is under way when the job comes
            out = sb.run("tests.sandbox.targets:read_unwound", None)
            assert out.ok, out.message
            assert out.value == {"unwound": True}  # stopped, and its finally block ran
            assert out.usage.wall_seconds < 15  # not the warm-up's 30 s


def test_a_job_that_comes_before_the_warm_up_started_skips_it() -> None:
    with _sandbox("tests.sandbox.targets:warm_long") as sb:
        out = sb.run("tests.sandbox.targets:read_unwound", None)  # at once: the child may not be warming yet
        assert out.ok, out.message
        assert out.usage.wall_seconds < 15


def test_the_warm_ups_temp_files_are_gone_with_its_child_and_never_outside_the_sandbox() -> None:
    started = time.time()
    sb = _sandbox("tests.sandbox.targets:warm_file")
    with sb:
        _await_warm(sb, "*.warm")  # the warm-up has written its file and holds on
        out = sb.run("tests.sandbox.targets:read_warm_file", None)
        assert out.ok, out.message
        warm_file = Path(out.value["file"])
        assert sb._tmp_root is not None and sb._tmp_root in warm_file.parents  # inside the sandbox's root
        assert warm_file.parent.name.startswith("warmup-")
        assert out.value["job_tempdir"] == out.value["ctx_tmpdir"]  # the job's temp files go to its own dir
        assert not warm_file.parent.exists()  # removed once the child was gone
        _await_warm(sb, "*.warm")  # the next spare is warming when the sandbox closes: it is killed mid-way
    assert not sb._tmp_root.exists()
    left = [d for d in glob.glob(os.path.join(tempfile.gettempdir(), "warmup-*")) if os.path.getmtime(d) >= started]
    assert left == []
