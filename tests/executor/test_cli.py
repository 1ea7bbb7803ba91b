"""CLI: ``python -m executor run`` prints the API's JSON and exits 0/2; the sandbox runs it by default.

The command's ``main`` runs in this process (its output read from file descriptors 1 and 2 with ``capfd``, as the sandbox hands them to its template); one test runs the
real ``python -m executor`` in a subprocess, end to end through the sandbox.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from executor import EngineLimits, envelope_json, run_workflow
from executor.__main__ import main
from sandbox import JobContext

ROOT = Path(__file__).resolve().parents[2]

SANDBOXED = pytest.param([], id="sandbox", marks=pytest.mark.slow)
"""Without --in-process, ``main`` starts a sandbox (a warm template preloading the engine)."""
IN_PROCESS = pytest.param(["--in-process"], id="in-process")


def _run(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``python -m executor run ARGS`` in this process: (exit code, what it printed)."""
    code = main(["run", *args])
    return code, capfd.readouterr().out


def _limits_with_faults(tmp_path: Path) -> Path:
    text = (ROOT / "limits.toml").read_text().replace("fault_injection = false", "fault_injection = true")
    assert "fault_injection = true" in text
    path = tmp_path / "limits.toml"
    path.write_text(text)
    return path


def _workflow_file(tmp_path: Path, wf: dict) -> str:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf))
    return str(path)


def test_invalid_workflow_prints_the_exact_envelope_and_exits_2(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    wf = {"nodes": [{"id": "model-1", "type": "model", "config": {"algorithm": "nope"}}], "edges": []}
    code, out = _run(capfd, _workflow_file(tmp_path, wf), "--in-process")
    expected = envelope_json(run_workflow(wf, limits=EngineLimits(), ctx=JobContext.local()))
    assert code == 2
    assert out.strip() == expected
    assert json.loads(out)["errorCode"] == "invalid_workflow"


@pytest.mark.parametrize("mode", [SANDBOXED, IN_PROCESS])
def test_fault_node_runs_at_its_place_when_enabled(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], mode: list[str]
) -> None:
    wf = {"nodes": [{"id": "fault-1", "type": "fault", "config": {"kind": "raise", "message": "boom"}}],
          "edges": []}
    code, out = _run(capfd, _workflow_file(tmp_path, wf), "--limits", str(_limits_with_faults(tmp_path)), *mode)
    answer = json.loads(out)
    assert code == 2 and answer["errorCode"] == "execution_error"
    assert "[fault-1" in answer["error"] and "boom" in answer["error"]


def test_fault_node_is_refused_when_faults_are_disabled(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    wf = {"nodes": [{"id": "fault-1", "type": "fault", "config": {"kind": "sleep", "seconds": 0}}], "edges": []}
    code, out = _run(capfd, _workflow_file(tmp_path, wf), "--in-process")
    answer = json.loads(out)
    assert code == 2 and answer["errorCode"] == "invalid_workflow" and "fault-1" in answer["error"]


@pytest.mark.slow
def test_sandbox_reports_a_crashing_fault_with_its_code(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    wf = {"nodes": [{"id": "fault-1", "type": "fault", "config": {"kind": "segfault"}}], "edges": []}
    code, out = _run(capfd, _workflow_file(tmp_path, wf), "--limits", str(_limits_with_faults(tmp_path)))
    answer = json.loads(out)
    assert code == 2 and answer["status"] == "failed" and answer["errorCode"] not in ("execution_error", None)


@pytest.mark.slow
def test_example_completes_and_exits_0_in_process(capfd: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capfd, str(ROOT / "examples" / "iris_random_forest.json"), "--in-process")
    answer = json.loads(out)
    assert code == 0, out[:500]
    assert answer["status"] == "completed" and answer["results"]["algorithmName"] == "Random Forest"


@pytest.mark.slow
def test_the_real_command_runs_an_example_in_the_sandbox_and_exits_0() -> None:
    """The smoke test of the real command: a fresh interpreter, the default (sandboxed) mode."""
    proc = subprocess.run([sys.executable, "-m", "executor", "run", str(ROOT / "examples" / "iris_random_forest.json")],
                          capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert proc.returncode == 0, (proc.stdout[:500], proc.stderr[-2000:])
    answer = json.loads(proc.stdout)
    assert answer["status"] == "completed" and answer["results"]["algorithmName"] == "Random Forest"
