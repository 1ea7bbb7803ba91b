"""CLI: ``python -m executor run`` prints the API's JSON and exits 0/2; the sandbox runs it by default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from executor import EngineLimits, envelope_json, run_workflow
from sandbox import JobContext

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "executor", "run", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=240)


def _limits_with_faults(tmp_path: Path) -> Path:
    text = (ROOT / "limits.toml").read_text().replace("fault_injection = false", "fault_injection = true")
    path = tmp_path / "limits.toml"
    path.write_text(text)
    return path


def test_invalid_workflow_prints_the_exact_envelope_and_exits_2(tmp_path: Path) -> None:
    wf = {"nodes": [{"id": "model-1", "type": "model", "config": {"algorithm": "nope"}}], "edges": []}
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf))
    proc = _cli(str(path), "--in-process")
    expected = envelope_json(run_workflow(wf, limits=EngineLimits(), ctx=JobContext.local()))
    assert proc.returncode == 2
    assert proc.stdout.strip() == expected
    assert json.loads(proc.stdout)["errorCode"] == "invalid_workflow"


@pytest.mark.parametrize("mode", [[], ["--in-process"]])
def test_fault_node_runs_at_its_place_when_enabled(tmp_path: Path, mode: list[str]) -> None:
    wf = {"nodes": [{"id": "fault-1", "type": "fault", "config": {"kind": "raise", "message": "boom"}}],
          "edges": []}
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf))
    proc = _cli(str(path), "--limits", str(_limits_with_faults(tmp_path)), *mode)
    out = json.loads(proc.stdout)
    assert proc.returncode == 2 and out["errorCode"] == "execution_error"
    assert "[fault-1" in out["error"] and "boom" in out["error"]


def test_fault_node_is_refused_when_faults_are_disabled(tmp_path: Path) -> None:
    wf = {"nodes": [{"id": "fault-1", "type": "fault", "config": {"kind": "sleep", "seconds": 0}}], "edges": []}
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf))
    out = json.loads(_cli(str(path), "--in-process").stdout)
    assert out["errorCode"] == "invalid_workflow" and "fault-1" in out["error"]


def test_sandbox_reports_a_crashing_fault_with_its_code(tmp_path: Path) -> None:
    wf = {"nodes": [{"id": "fault-1", "type": "fault", "config": {"kind": "segfault"}}], "edges": []}
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf))
    proc = _cli(str(path), "--limits", str(_limits_with_faults(tmp_path)))
    out = json.loads(proc.stdout)
    assert proc.returncode == 2 and out["status"] == "failed" and out["errorCode"] not in ("execution_error", None)


@pytest.mark.parametrize("mode", [[], ["--in-process"]])
def test_example_completes_and_exits_0(mode: list[str]) -> None:
    proc = _cli(str(ROOT / "examples" / "iris_random_forest.json"), *mode)
    out = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stdout[:500]
    assert out["status"] == "completed" and out["results"]["algorithmName"] == "Random Forest"
