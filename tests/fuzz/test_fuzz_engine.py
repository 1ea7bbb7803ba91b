"""Fuzzing the engine through the real sandbox: every workflow, however broken, gets an envelope.

A failure here is never "the engine said no": it is the engine raising (sandbox code
``execution_error``), the sandbox failing (``internal_error``), or an answer that is not a valid
envelope with a known code. Limit codes are accepted: a hostile workflow may legitimately run out
of time or memory, and the sandbox must say so.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings

from sandbox import Sandbox
from service.config import Settings
from tests.fuzz.envelope import ENGINE_CODES, LIMIT_CODES, check_envelope
from tests.fuzz.strategies import any_workflow, workflows

ENGINE_LIMITS = Settings().engine_limits()
_SETTINGS = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], print_blob=True
)


def run_engine(sb: Sandbox, workflow: Any) -> str:
    try:
        orjson.dumps(workflow)
    except orjson.JSONEncodeError:
        # An integer beyond 64 bits or a lone surrogate cannot be passed to a child at all; the
        # request layer must refuse it (see test_fuzz_http's xfail tests), so the engine never sees it.
        return "unpassable"
    payload = {"workflow": workflow, "limits": ENGINE_LIMITS, "fault_injection": False, "request_id": "fuzz"}
    outcome = sb.run("executor.entry:run", payload)
    if not outcome.ok:
        assert outcome.code in LIMIT_CODES, (
            f"the sandbox answered {outcome.code!r} (the engine raised or the sandbox failed): "
            f"{outcome.message}\n{outcome.log_tail[-2000:]}"
        )
        return str(outcome.code)
    return check_envelope(outcome.value, codes=ENGINE_CODES)


@settings(max_examples=60, **_SETTINGS)
@given(workflow=any_workflow())
def test_fuzz_any_workflow_gets_an_envelope_with_a_known_code(engine_sandbox: Sandbox, workflow: Any) -> None:
    run_engine(engine_sandbox, workflow)


@settings(max_examples=25, **_SETTINGS)
@given(workflow=workflows())
def test_fuzz_platform_shaped_workflows_complete_or_fail_with_a_code(
    engine_sandbox: Sandbox, workflow: Any
) -> None:
    run_engine(engine_sandbox, workflow)
