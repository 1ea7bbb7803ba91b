"""No user string is parsed by a backtracking pattern: a ReDoS request gets its coded answer at once.

Guard: ``redos`` (``executor.params.parse_hidden_layer_sizes`` reads the string in one linear pass,
after the ``[request] max_param_chars`` length check). Finding reproduced: ``"1  1  1 … 1x"`` (numbers
separated by runs of spaces, ending with a bad character) made the old regular expression backtrack
exponentially, and two ~120-byte requests held both job slots for a minute. The attack here is
122 characters, under ``max_param_chars``, so only the parser stands in its way.

``--sabotage=redos`` puts the old regex parser back (tests/security/sabotage.py) in the sandbox
child and in the server's template, so each attack then runs until the job's wall clock or the
client's timeout, and every test here fails. No test measures time: a coded ``invalid_workflow``
is the proof, since a backtracking parser never gets to give one.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz.envelope import check_envelope

ROOT = Path(__file__).resolve().parents[2]

REDOS = "1  " * 40 + "1x"
"""The attacker's value of ``hidden_layer_sizes``: 41 numbers, runs of two spaces, an invalid last character."""

CLIENT_TIMEOUT = 30
"""Seconds the client waits for each answer (a linear parser answers in well under a second)."""


def _workflow() -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "dataset-1", "type": "dataset",
             "config": {"dataset_id": "iris", "is_sample": True, "target_column": "target",
                        "problem_type": "classification"}},
            {"id": "split-2", "type": "split", "config": {"test_size": 0.2, "random_seed": 1}},
            {"id": "model-3", "type": "model",
             "config": {"algorithm": "neural_network", "hyperparameters": {"hidden_layer_sizes": REDOS,
                                                                           "max_iter": 5}}},
            {"id": "evaluate-4", "type": "evaluate", "config": {"selected_metrics": ["accuracy"]}},
        ],
        "edges": [
            {"id": "e1", "source": "dataset-1", "target": "split-2"},
            {"id": "e2", "source": "split-2", "target": "model-3"},
            {"id": "e3", "source": "model-3", "target": "evaluate-4"},
        ],
    }


def _assert_refused(answer: Any) -> None:
    assert answer is not None, "no answer"
    check_envelope(answer)
    assert answer["status"] == "failed" and answer["errorCode"] == "invalid_workflow", (
        f"the ReDoS value was not refused as a bad parameter: {json.dumps(answer)[:400]}"
    )
    assert "hidden_layer_sizes" in answer["error"], answer["error"]


@pytest.mark.slow  # starts a sandbox
def test_deny_redos_attack_in_a_sandbox_child_is_refused(sabotage: str | None) -> None:
    """The engine in a real sandbox child (the sabotage is applied inside the child)."""
    from sandbox import GuardLimits, JobLimits, Sandbox
    from service.config import Settings

    payload = {
        "workflow": _workflow(),
        "limits": Settings().engine_limits(),
        "fault_injection": False,
        "request_id": "deny-redos",
        "sabotage": sabotage,
    }
    limits = JobLimits(wall_clock_seconds=CLIENT_TIMEOUT, cpu_seconds=CLIENT_TIMEOUT, memory_mb=512, threads=1)
    with Sandbox(limits, GuardLimits(), preload=["numpy", "pandas", "sklearn"]) as sb:
        outcome = sb.run("tests.security.targets:engine", payload)
    assert outcome.ok, f"the job did not answer: {outcome.to_dict()}"
    _assert_refused(outcome.value)


@pytest.mark.slow
@pytest.mark.network_server
def test_deny_redos_two_concurrent_attacks_over_http_are_refused_and_the_server_still_trains(
    security_server: str,
) -> None:
    """Both job slots get the attack at once; each answer is coded, then a good workflow still trains."""
    from bench.loopback import call_predict

    body = json.dumps(_workflow())
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(call_predict, security_server, body, timeout=CLIENT_TIMEOUT) for _ in range(2)]
        answers = [f.result() for f in futures]  # a client timeout raises here: the test fails
    for answer in answers:
        _assert_refused(answer)
    iris = (ROOT / "examples" / "iris_random_forest.json").read_text()
    answer = call_predict(security_server, iris, timeout=120)
    assert answer is not None and answer.get("status") == "completed", answer
