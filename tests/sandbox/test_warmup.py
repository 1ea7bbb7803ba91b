"""The warm-up hook: the template runs the caller's warm-up once, single-threaded, before it forks;
every job child starts warm and no job ever pays for, or waits on, readiness work."""

from __future__ import annotations

import glob
import os
import tempfile
import time

import pytest

from sandbox import Sandbox, TemplateError
from tests.sandbox.conftest import GUARDS, SMALL, assert_cleaned_up


def _sandbox(warmup: str, **job: object) -> Sandbox:
    return Sandbox(SMALL.model_copy(update=job), GUARDS, preload=["tests.sandbox.targets"], warmup=warmup)


def test_the_warm_up_runs_once_in_the_template_and_every_job_starts_with_it() -> None:
    started = time.time()
    with _sandbox("tests.sandbox.targets:warm_record") as sb:
        template = sb.status()["template"]
        assert template["warmup_error"] is None and template["warmup_seconds"] is not None
        assert template["threads"] == 1  # nothing of the warm-up is left running in a process that forks
        pids = set()
        for _ in range(3):
            out = sb.run("tests.sandbox.targets:read_warm_mark", None)
            assert out.ok, out.message
            assert out.value["warmed_pid"] == template["pid"] != out.value["pid"]  # ran in the template
            assert out.value["runs"] == 1  # once, not per job
            assert "warm-up noise" not in out.log_tail
            # its temp file was in a dir of its own under the sandbox's root, gone before any job
            warm_file = out.value["file"]
            assert sb._tmp_root is not None and warm_file.startswith(str(sb._tmp_root) + "/warmup-")
            assert not os.path.exists(os.path.dirname(warm_file))
            assert out.value["job_tempdir"] == out.value["ctx_tmpdir"]  # a job's temp files go to its own dir
            pids.add(out.value["pid"])
            assert_cleaned_up(sb, out)
        assert len(pids) == 3  # a fresh child per job
    left = [d for d in glob.glob(os.path.join(tempfile.gettempdir(), "warmup-*")) if os.path.getmtime(d) >= started]
    assert left == []


def test_a_warm_up_that_leaves_a_thread_running_stops_the_template_from_starting() -> None:
    with pytest.raises(TemplateError, match="warm_thread left 1 thread"):
        _sandbox("tests.sandbox.targets:warm_thread").start()


def test_the_warm_ups_cpu_time_is_not_charged_to_the_job_and_the_cpu_limit_holds() -> None:
    # The warm-up spins 1.5 s of CPU in the template; a job may use 1 s.
    with _sandbox("tests.sandbox.targets:warm_spin", cpu_seconds=1) as sb:
        out = sb.run("tests.sandbox.targets:echo", {"x": 1})
        assert out.ok, out.message
        assert out.usage.cpu_seconds < 1.0
        busy = sb.run("sandbox.faults:target", {"kind": "busy_loop", "seconds": 30})
        assert busy.code == "cpu_time_exceeded", busy.message
        assert 0.5 <= busy.usage.cpu_seconds <= 3.5


@pytest.mark.parametrize("warmup", ["tests.sandbox.targets:warm_fail", "no.such.module:run", "tests.sandbox.targets:nope"])
def test_a_broken_warm_up_is_reported_and_neither_fails_jobs_nor_reaches_their_log(warmup: str) -> None:
    with _sandbox(warmup) as sb:
        assert sb.status()["template"]["warmup_error"]  # said on /health, never raised
        out = sb.run("tests.sandbox.targets:echo", {"x": 1})
        assert out.ok, out.message
        assert out.value["payload"] == {"x": 1}
        crashed = sb.run("sandbox.faults:target", {"kind": "raise", "message": "boom"})
        assert crashed.code == "execution_error"
        assert "warm-up" not in crashed.log_tail and "noise" not in crashed.log_tail
