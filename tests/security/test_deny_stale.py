"""A server killed with SIGKILL leaves nothing for long: the next start removes its temp dirs.

Guard: ``stale`` (``sandbox.stale.sweep_stale``, called by ``Sandbox.start`` for ``sandbox-jobs-*``
and by ``service.render.ResultFiles`` for ``worker-ui-*``; each dir holds a marker naming its
owner's pid, start time and boot id). ``--sabotage=stale`` replaces the sweep by a no-op in the
server process, so the killed server's dirs stay and the test must fail.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import psutil
import pytest

from bench.loopback import Server
from tests.security.sabotage import server_env

PREFIXES = ("sandbox-jobs-", "worker-ui-")
SLOW_JOB = json.dumps(
    {"nodes": [{"id": "fault-1", "type": "fault", "config": {"kind": "sleep", "seconds": 25}}], "edges": []}
)


def _owned(tmp: Path) -> set[str]:
    return {p.name for p in tmp.iterdir() if p.name.startswith(PREFIXES)}


def _wait_for(what: str, check, timeout: float = 90) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.mark.slow
@pytest.mark.network_server
def test_deny_stale_a_killed_servers_dirs_are_gone_once_the_next_one_serves(
    tmp_path: Path, sabotage: str | None, stale_server: Server
) -> None:
    from bench.loopback import call_predict, start_server, stop_server
    from sandbox.stale import sweep_stale
    from tests.servers import STALE, stale_limits

    # The first server (spawned early, see tests/servers.py) has TMPDIR to itself; the second one
    # gets the same TMPDIR, limits and sabotage.
    first = stale_server
    assert STALE.spec is not None and STALE.spec.tmpdir is not None
    tmp = STALE.spec.tmpdir
    env = {"TMPDIR": str(tmp), **server_env(sabotage)}
    limits = stale_limits()
    (tmp_path / "second").mkdir()
    second = None
    caller = threading.Thread(target=_call_ignoring_errors, args=(call_predict, first.url), daemon=True)
    try:
        caller.start()
        _wait_for("the slow job runs", lambda: first.health()["jobs"]["running"] == 1)
        left = _owned(tmp)
        assert {n.split("-")[0] for n in left} == {"sandbox", "worker"} and len(left) == 2, left
        jobs_root = next(tmp / n for n in left if n.startswith("sandbox-jobs-"))
        _wait_for("the job's dir exists", lambda: any(p.name.startswith("job-") for p in jobs_root.iterdir()))

        procs = [psutil.Process(first.proc.pid), *psutil.Process(first.proc.pid).children(recursive=True)]
        first.proc.kill()  # SIGKILL mid-job: no clean-up runs in the app
        first.proc.wait(timeout=60)
        _, alive = psutil.wait_procs(procs, timeout=90)
        assert alive == [], f"processes of the killed server are still running: {alive}"
        caller.join(timeout=60)
        assert _owned(tmp) == left, "the kill itself should have left the dirs (else this test proves nothing)"

        second = start_server(limits, tmp_path / "second", extra_env=env)  # serving: its start is done
        now = _owned(tmp)
        assert now & left == set(), (
            f"the killed server's dirs are still there after the next start: {sorted(now & left)}"
        )
        mine = now - left
        assert {n.split("-")[0] for n in mine} == {"sandbox", "worker"} and len(mine) == 2, mine

        # A live owner's dirs are never swept (here by this test process).
        for prefix in PREFIXES:
            assert sweep_stale(tmp, prefix) == []
        assert _owned(tmp) == mine
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
            first.proc.wait()
        if second is not None:
            stop_server(second)


def _call_ignoring_errors(call_predict, url: str) -> None:  # type: ignore[no-untyped-def]
    try:
        call_predict(url, SLOW_JOB, timeout=120)
    except Exception:  # noqa: S110 - the server is killed mid-answer on purpose
        pass
