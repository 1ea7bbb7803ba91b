"""A job cannot read the parent's secrets: not in its own environment, not in any other process's.

Guard: ``env`` (the sandbox's environment allow-list). ``--sabotage=env`` builds every Sandbox,
in this process and in the test server, with every parent variable allowed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sandbox import GuardLimits, JobLimits, Sandbox
from tests.security.conftest import ROOT, SECRETS
from tests.security.sabotage import env_allow

LIMITS = JobLimits(wall_clock_seconds=20, cpu_seconds=20, memory_mb=256, max_processes=24, threads=1)
GUARDS = GuardLimits(kill_grace_seconds=0.2)


def _assert_no_secret(text: str) -> None:
    for key, value in SECRETS.items():
        assert key not in text, f"the job saw the parent's variable {key}"
        assert value not in text, f"the job saw the value of the parent's {key}"


def test_deny_env_job_environment_has_no_parent_secret(
    monkeypatch: pytest.MonkeyPatch, sabotage: str | None
) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    with Sandbox(LIMITS, GUARDS, fault_injection=True, env_allow=env_allow(sabotage)) as sb:
        outcome = sb.run("sandbox.faults:target", {"kind": "report_env"})
        allowed = sb.allowed_env_keys()
    assert outcome.ok, outcome.to_dict()
    keys = set(outcome.value["env_keys"])
    _assert_no_secret(" ".join(sorted(keys)))
    assert keys <= allowed, f"variables outside the allow-list reached the job: {sorted(keys - allowed)}"


def test_deny_env_job_environment_values_hold_no_secret(
    monkeypatch: pytest.MonkeyPatch, sabotage: str | None
) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    with Sandbox(LIMITS, GUARDS, env_allow=env_allow(sabotage)) as sb:
        outcome = sb.run("tests.security.targets:own_environment", {"secrets": list(SECRETS.values())})
    assert outcome.ok, outcome.to_dict()
    assert outcome.value["found"] == [], f"secret values in the job's environment: {outcome.value['found']}"


_PARENT = """
import json, sys
from sandbox import GuardLimits, JobLimits, Sandbox
from tests.security.sabotage import env_allow
guard = sys.argv[1] or None
limits = JobLimits(wall_clock_seconds=20, cpu_seconds=20, memory_mb=256, max_processes=24, threads=1)
with Sandbox(limits, GuardLimits(), env_allow=env_allow(guard)) as sb:
    out = sb.run("tests.security.targets:scan_process_environments", {"secrets": json.loads(sys.argv[2])})
print("RESULT " + json.dumps(out.to_dict() | {"value": out.value}))
"""


@pytest.mark.slow  # a parent stand-in in a subprocess, with a sandbox
def test_deny_env_no_process_environment_readable_by_a_job_holds_a_secret(sabotage: str | None) -> None:
    """The parent (like app.py) got the secrets in its initial environment; a job scans /proc for them.

    A job reading ``/proc/<parent pid>/environ`` gets the parent's *initial* environment, whatever
    the parent later deletes from ``os.environ``, unless the kernel refuses the read (a different
    user, or a non-dumpable parent without CAP_SYS_PTRACE in the job).
    """
    env = {**os.environ, **SECRETS, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _PARENT, sabotage or "", json.dumps(list(SECRETS.values()))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the parent stand-in failed:\n{proc.stderr[-3000:]}"
    result = json.loads(lines[-1][7:])
    assert result["ok"], result
    found = result["value"]["found"]
    assert found == [], "a job read a secret from another process's /proc/<pid>/environ: " + "; ".join(
        f"pid {f['pid']} ({f['cmdline']}) holds {f['secrets']}" for f in found
    )


@pytest.mark.slow
@pytest.mark.network_server
def test_deny_env_http_job_reports_no_parent_secret(security_server: str) -> None:
    """Through the real server (started with HF_TOKEN and another secret): a report_env fault node."""
    from bench.loopback import call_predict

    body = json.dumps(
        {"nodes": [{"id": "fault-1", "type": "fault", "config": {"kind": "report_env"}}], "edges": []}
    )
    answer = call_predict(security_server, body, timeout=120)
    assert answer is not None, "no answer"
    text = json.dumps(answer)
    assert answer.get("status") == "completed", f"the report_env job failed: {text[:500]}"
    _assert_no_secret(text)
    outputs = [n.get("output") for n in answer["results"].get("nodes", []) if n.get("id") == "fault-1"]
    assert outputs and "PATH" in outputs[0]["env_keys"], f"the job's environment keys did not come back: {text[:500]}"
