"""The one check every answer must pass: a valid result envelope with a known code."""

from __future__ import annotations

import json
import math
from typing import Any

ENGINE_CODES = frozenset({"invalid_workflow", "dataset_error", "execution_error"})
SERVICE_CODES = frozenset({"invalid_request", "busy", "deadline_exceeded", "internal_error"})
LIMIT_CODES = frozenset({"timeout", "memory_exceeded", "cpu_time_exceeded"})


NEVER_FOR_INPUT = frozenset({"internal_error", "crashed"})
"""Codes no input may cause: the worker failed, or a library crashed on what a client sent."""


def known_codes() -> frozenset[str]:
    from sandbox import ErrorCode

    return ENGINE_CODES | SERVICE_CODES | {c.value for c in ErrorCode}


def input_codes() -> frozenset[str]:
    """The codes an answer to client input may carry (never ``internal_error`` or ``crashed``)."""
    return known_codes() - NEVER_FOR_INPUT


def check_envelope(answer: Any, *, codes: frozenset[str] | None = None) -> str:
    """Assert ``answer`` is a valid envelope; returns its code ("completed" on success)."""
    assert isinstance(answer, dict), f"the answer is not an object: {answer!r:.300}"
    # strict JSON: the platform stores it, the browser renders it; NaN/inf are not allowed anywhere
    json.dumps(answer, allow_nan=False)
    status = answer.get("status")
    assert status in ("completed", "failed"), f"status {status!r}: {answer!r:.300}"
    if status == "failed":
        code = answer.get("errorCode")
        allowed = codes if codes is not None else known_codes()
        assert code in allowed, f"unknown or unexpected errorCode {code!r}: {answer!r:.500}"
        assert isinstance(answer.get("error"), str) and answer["error"].strip(), (
            f"no error message: {answer!r:.300}"
        )
        return str(code)
    results = answer.get("results")
    assert isinstance(results, dict), f"completed without results: {answer!r:.300}"
    assert isinstance(results.get("trainingTimeSeconds"), (int, float)), "trainingTimeSeconds missing"
    metrics = results.get("metrics", [])
    assert isinstance(metrics, list)
    keys = [m.get("key") for m in metrics]
    assert len(keys) == len(set(keys)), f"duplicate metric keys {keys}"
    for m in metrics:
        value = m.get("value")
        assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value), m
    plots = results.get("plots", [])
    assert isinstance(plots, list)
    for p in plots:
        assert str(p.get("url", "")).startswith("data:image/"), {k: str(v)[:80] for k, v in p.items()}
    return "completed"
