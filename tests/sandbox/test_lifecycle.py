"""The template, the child's environment, events, cancellation and real libraries after fork."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from sandbox import Sandbox

from .conftest import assert_cleaned_up, limits, make_sandbox, wait_for


def test_template_stays_single_threaded(sandbox: Sandbox) -> None:
    assert sandbox.status()["template"]["threads"] == 1


def test_job_runs_in_its_private_tmpdir(sandbox: Sandbox) -> None:
    outcome = sandbox.run("tests.sandbox.targets:echo", {"x": 1})
    assert outcome.ok
    assert outcome.value["payload"] == {"x": 1}
    assert "job-" + outcome.job_id in outcome.value["cwd_is_tmpdir"]
    assert_cleaned_up(sandbox, outcome)


def test_events_reach_the_caller(sandbox: Sandbox) -> None:
    events: list[dict] = []
    outcome = sandbox.run("tests.sandbox.targets:emit_events", 5, on_event=events.append)
    assert outcome.ok and outcome.value == 5
    assert [e["index"] for e in events] == list(range(5))


def test_secrets_of_the_parent_do_not_reach_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "also-secret")
    with make_sandbox() as sb:
        outcome = sb.run("sandbox.faults:target", {"kind": "report_env"})
    assert outcome.ok
    keys = set(outcome.value["env_keys"])
    assert "HF_TOKEN" not in keys and "AWS_SECRET_ACCESS_KEY" not in keys
    assert {"TMPDIR", "OMP_NUM_THREADS", "SANDBOX_JOB_ID"} <= keys


def test_cancel_stops_the_job(sandbox: Sandbox) -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    outcome = sandbox.run("sandbox.faults:target", {"kind": "sleep", "seconds": 30}, cancel=cancel)
    assert outcome.code == "cancelled"
    assert_cleaned_up(sandbox, outcome)


@pytest.mark.parametrize(
    "payload",
    [{"kind": "sleep", "seconds": 0}, {"kind": "exit", "code": 3}, {"kind": "segfault"}],
    ids=["ok", "exit", "segfault"],
)
def test_no_process_of_the_job_is_running_when_its_answer_comes(sandbox: Sandbox, payload: dict) -> None:
    """Checked at once, before anything else can give the runner time to finish its exit."""
    for _ in range(10):
        outcome = sandbox.run("sandbox.faults:target", payload)
        states = {pid: _state(pid) for pid in outcome.pids}
        assert len(outcome.pids) == 2, outcome.to_dict()
        # "dead" (X): the kernel is releasing it while its parent reaps it; nothing of it runs
        assert set(states.values()) <= {"gone", psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD}, states


def _state(pid: int) -> str:
    try:
        return psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return "gone"


def test_caller_budget_shortens_the_wall_clock_and_is_named_as_the_limit(sandbox: Sandbox) -> None:
    from sandbox.plan import CALLER_BUDGET

    outcome = sandbox.run("sandbox.faults:target", {"kind": "sleep", "seconds": 30}, wall_clock_seconds=0.5)
    assert outcome.code == "timeout"
    assert outcome.usage.limit_hit == "wall_clock_seconds"
    assert outcome.limit is not None and outcome.limit.caller_budget
    assert outcome.details["limit"] == {"name": CALLER_BUDGET, "value": 0.5, "unit": "s"}


def test_no_budget_left_is_a_timeout_without_a_child(sandbox: Sandbox) -> None:
    outcome = sandbox.run("sandbox.faults:target", {"kind": "sleep", "seconds": 0}, wall_clock_seconds=0)
    assert outcome.code == "timeout"
    assert outcome.pids == ()
    assert outcome.limit is not None and outcome.limit.caller_budget


@pytest.mark.parametrize(
    ("payload", "status", "value"),
    [
        ({"status": "completed", "n": [1, 2]}, "completed", {"status": "completed", "n": [1, 2]}),
        ({"status": "failed", "error": "e"}, "failed", {"status": "failed", "error": "e"}),
        ({"status": 3}, None, {"status": 3}),  # not a string: no status
        ({"status": "x" * 65}, None, {"status": "x" * 65}),  # too long for a header
        ([1, "status"], None, [1, "status"]),
        (7, None, 7),
    ],
    ids=["completed", "failed", "number", "long", "list", "scalar"],
)
def test_a_result_comes_back_as_its_bytes_with_its_status(sandbox: Sandbox, payload, status, value) -> None:
    """The header names the status of an object's ``status`` string; the value is the bytes the job sent."""
    import orjson

    outcome = sandbox.run("tests.sandbox.targets:returns", payload)
    assert outcome.ok, outcome.to_dict()
    assert outcome.status == status
    assert outcome.result == orjson.dumps(value)
    assert outcome.value == value


def test_dead_template_is_restarted_and_the_request_answered() -> None:
    with make_sandbox() as sb:
        old = sb._template.pid
        assert old is not None
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: not sb._template.alive(), what="the template's death")
        outcome = sb.run("sandbox.faults:target", {"kind": "sleep", "seconds": 0})
        assert outcome.ok, outcome.to_dict()
        assert sb._template.pid != old
        assert sb.status()["template"]["restarts"] == 1


def test_a_template_started_from_a_thread_outlives_the_thread_and_dies_with_the_process() -> None:
    """app.py starts the worker from a thread while it imports Gradio; PR_SET_PDEATHSIG would have
    killed the template the moment that thread ended (it fires on the creating thread's exit)."""
    sb = make_sandbox()
    starter = threading.Thread(target=sb.start)
    starter.start()
    starter.join()
    try:
        pid = sb._template.pid
        assert pid is not None
        time.sleep(0.5)  # a death signal would have come at the thread's exit
        assert sb._template.alive() and sb.status()["template"]["restarts"] == 0
        outcome = sb.run("sandbox.faults:target", {"kind": "sleep", "seconds": 0})
        assert outcome.ok and sb._template.pid == pid
    finally:
        sb.close()


def test_the_template_exits_when_its_parent_process_dies(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The parent killed with SIGKILL (no close()): its template follows (it watches a pidfd)."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from tests.sandbox.conftest import make_sandbox\n"
        "sb = make_sandbox().start()\n"
        "print(sb._template.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        template = int(proc.stdout.readline())  # type: ignore[union-attr]
        proc.kill()
        proc.wait()
        wait_for(lambda: not psutil.pid_exists(template) or psutil.Process(template).status() == psutil.STATUS_ZOMBIE,
                 what="the template's exit after its parent's death")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_unknown_target_is_an_execution_error(sandbox: Sandbox) -> None:
    outcome = sandbox.run("no_such_module_xyz:run", None)
    assert outcome.code == "execution_error"
    assert "no_such_module_xyz" in outcome.message


def test_sklearn_fit_under_a_too_small_memory_limit(sandbox: Sandbox) -> None:
    tight = limits(memory_mb=120)
    small = sandbox.run("tests.sandbox.targets:forest", {"rows": 500, "cols": 5, "trees": 5}, limits=tight)
    big = sandbox.run("tests.sandbox.targets:forest", {"rows": 200_000, "cols": 40, "trees": 50}, limits=tight)
    assert small.ok, small.to_dict()
    assert big.code == "memory_exceeded", big.to_dict()


def test_xgboost_fit_after_fork_does_not_hang(sandbox: Sandbox) -> None:
    for _ in range(2):  # twice: a pool left by the first job must not poison the template
        outcome = sandbox.run("tests.sandbox.targets:xgb_fit", None)  # SMALL's 60 s: a hang, not a slow machine
        assert outcome.ok, outcome.to_dict()
        assert outcome.value["accuracy"] > 0.9
    assert sandbox.status()["template"]["threads"] == 1


def test_parent_fds_and_children_stay_flat(sandbox: Sandbox) -> None:
    me = psutil.Process()
    sandbox.run("sandbox.faults:target", {"kind": "sleep", "seconds": 0})
    before_fds = me.num_fds()
    before_children = {c.pid for c in me.children()}  # other fixtures' servers may be running
    for kind in ("sleep", "segfault", "raise", "exit", "orphan"):
        for _ in range(5):
            sandbox.run("sandbox.faults:target", {"kind": kind, "seconds": 0})
    assert me.num_fds() == before_fds
    assert {c.pid for c in me.children()} <= before_children


def test_self_check_passes_every_probe(sandbox: Sandbox) -> None:
    from sandbox.selfcheck import PROBES, run_self_check

    results = run_self_check(sandbox)
    assert [r.name for r in results] == [p.name for p in PROBES]
    assert all(r.ok for r in results), [r.to_dict() for r in results if not r.ok]


def test_per_run_limits_replace_the_sandbox_limits(sandbox: Sandbox) -> None:
    tight = sandbox.job.model_copy(update={"max_file_size_mb": 1})
    outcome = sandbox.run("sandbox.faults:target", {"kind": "write_file", "mb": 2}, limits=tight)
    assert outcome.code == "file_size_exceeded"
    assert sandbox.run("sandbox.faults:target", {"kind": "write_file", "mb": 2}).ok


def test_self_check_reports_a_widened_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sandbox whose allow-list lets the parent's variables through fails its env probe."""
    import os

    from sandbox.selfcheck import run_self_check

    monkeypatch.setenv("HF_TOKEN", "hf_not_for_jobs")
    with Sandbox(make_sandbox().job, make_sandbox().guards, preload=["numpy"], env_allow=tuple(os.environ)) as sb:
        results = {r.name: r for r in run_self_check(sb)}
    assert results["env_scrubbed"].ok is False
    assert "HF_TOKEN" in results["env_scrubbed"].detail


def test_a_local_context_without_a_tmpdir_leaves_no_dir_behind() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = "from sandbox import JobContext; a, b = JobContext.local(), JobContext.local(); print(a.tmpdir, b.tmpdir)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    first, second = out.stdout.split()
    assert first == second  # one dir per process, not one per context
    assert not Path(first).exists()  # removed when the process exited
