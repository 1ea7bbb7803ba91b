"""The sandbox target and the public surface: ``run`` always answers, except when a limit was hit."""

from __future__ import annotations

import errno

import pytest

import executor
from executor import entry
from sandbox import JobContext, ProcessLimitExceeded
from sandbox.errors import limit_error
from tests.executor import enginekit as kit


def test_public_surface_is_sorted_and_complete() -> None:
    assert executor.__all__ == sorted(executor.__all__)
    assert all(hasattr(executor, name) for name in executor.__all__)


@pytest.mark.parametrize("payload, code, fragment", [
    (None, "invalid_workflow", "'workflow' key"),
    ({"nodes": []}, "invalid_workflow", "'workflow' key"),
    ({"workflow": {"nodes": []}}, "invalid_workflow", "no nodes"),
    ({"workflow": kit.example("iris_random_forest"), "limits": {"output": {"plot_dpi": 5}}}, "execution_error",
     "plot_dpi"),
])
def test_bad_payloads_become_failure_envelopes(payload: object, code: str, fragment: str) -> None:
    out = entry.run(payload, JobContext.local())
    assert (out["status"], out["errorCode"]) == ("failed", code)
    assert fragment in out["error"]


def test_a_completed_payload_carries_the_results() -> None:
    out = entry.run({"workflow": kit.example("iris_random_forest"), "limits": {}, "request_id": "r1"},
                    JobContext.local())
    assert out["status"] == "completed" and out["results"]["algorithm"] == "random_forest"


def _raise(exc: BaseException):  # type: ignore[no-untyped-def]
    def fit(*args: object, **kwargs: object) -> None:
        raise exc
    return fit


@pytest.mark.parametrize("exc, propagates", [
    (MemoryError(), True),
    (OSError(errno.EFBIG, "File too large"), True),
    (ProcessLimitExceeded("fork failed"), True),
    (RuntimeError("can't start new thread"), True),
    (OSError(errno.ENOENT, "gone"), False),
    (RuntimeError("kaboom"), False),
])
def test_only_errors_a_limit_caused_escape(monkeypatch: pytest.MonkeyPatch, exc: BaseException,
                                           propagates: bool) -> None:
    """They escape even wrapped by the training node, so the sandbox reports the limit."""
    from sklearn.ensemble import RandomForestClassifier

    monkeypatch.setattr(RandomForestClassifier, "fit", _raise(exc))
    payload = {"workflow": kit.example("iris_random_forest")}
    if propagates:
        with pytest.raises(Exception) as info:
            entry.run(payload, JobContext.local())
        hit = limit_error(info.value)
        assert hit is not None and hit[1] is exc
        return
    out = entry.run(payload, JobContext.local())
    assert out["errorCode"] == "execution_error"
    assert out["error"].startswith("[model-15 · Random Forest]")


def test_fault_injection_flag_of_the_payload_enables_fault_nodes() -> None:
    wf = {"nodes": [{"id": "fault-1", "type": "fault", "config": {"kind": "raise", "message": "boom"}}], "edges": []}
    off = entry.run({"workflow": wf, "fault_injection": False}, JobContext.local())
    on = entry.run({"workflow": wf, "fault_injection": True}, JobContext.local())
    assert off["errorCode"] == "invalid_workflow"
    assert on["errorCode"] == "execution_error" and "boom" in on["error"]


def test_a_fault_node_runs_at_its_place_in_a_chain() -> None:
    events: list[dict] = []
    wf = kit.example("iris_random_forest")
    wf["nodes"].append({"id": "fault-9", "type": "fault", "config": {"kind": "sleep", "seconds": 0}})
    wf["edges"] = [e for e in wf["edges"] if e["target"] != "model-15"]
    wf["edges"] += [kit.edge("split-12", "fault-9"), kit.edge("fault-9", "model-15")]
    out = kit.run(wf, fault_injection=True, events=events)
    assert out["status"] == "completed", out.get("error")
    order = [e["node"] for e in events if e["type"] == "progress"]
    assert order.index("split-12") < order.index("fault-9") < order.index("model-15")
