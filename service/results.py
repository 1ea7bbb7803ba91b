"""Turn a sandbox :class:`~sandbox.Outcome` (or a service decision) into the API's result envelope.

Success is the engine's own envelope, ``{"status": "completed", "results": {...}}``; an engine
failure is its ``{"status": "failed", ...}`` envelope with the job's usage added; everything else
becomes ``{"status": "failed", "error": <sentence>, "errorCode": <code>, "errorDetails": {...}}``
(see ``service/codes.py`` for the codes and contract §6 for the shapes).
"""

from __future__ import annotations

from typing import Any

import orjson

from sandbox import LimitDetail, Outcome
from sandbox.limits import JobLimits
from service.config import RequestLimits

__all__ = ["bound_failure", "completed_text", "dumps", "failure", "from_outcome"]

_HEADLINES = {
    "timeout": "The job ran out of time",
    "cpu_time_exceeded": "The job used too much CPU time",
    "memory_exceeded": "The job ran out of memory",
    "process_limit_exceeded": "The job started too many processes or threads",
    "file_size_exceeded": "The job wrote a file that is too large",
    "result_too_large": "The job's result is too large",
    "crashed": "The job crashed",
    "exited": "The job exited early",
    "invalid_result": "The job sent an unreadable result",
    "execution_error": "The job failed",
    "cancelled": "The job was cancelled",
    "invalid_request": "The request was refused",
    "internal_error": "The worker failed",
}


def dumps(envelope: dict[str, Any]) -> str:
    """The envelope as JSON text (non-finite floats become null, never an invalid token)."""
    return orjson.dumps(envelope, option=orjson.OPT_NON_STR_KEYS, default=str).decode("utf-8")


_KEEP_WHEN_CUT = ("limit", "usage", "jobId", "nodeId", "field")
"""Details kept when a failure is over ``max_error_kb`` (the rest are dropped)."""
_MAX_NESTING = 8


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def _bound(value: Any, caps: RequestLimits, level: int = 0) -> Any:
    """``value`` with every string cut to ``max_echo_chars`` and every list to ``max_problems`` items."""
    if isinstance(value, str):
        return _cut(value, caps.max_echo_chars)
    if level >= _MAX_NESTING and isinstance(value, (dict, list, tuple)):
        return "…"
    if isinstance(value, dict):
        return {_cut(str(k), caps.max_echo_chars): _bound(v, caps, level + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        kept = [_bound(v, caps, level + 1) for v in value[: caps.max_problems]]
        if len(value) > caps.max_problems:
            kept.append(f"… and {len(value) - caps.max_problems} more")
        return kept
    return value


def bound_failure(envelope: dict[str, Any], caps: RequestLimits) -> dict[str, Any]:
    """A failure envelope no larger than ``[request] max_error_kb``, whatever produced it.

    Every echoed string in the details is cut to ``max_echo_chars`` and every list to
    ``max_problems`` items ("… and N more"); the log tail keeps its last part; the message is cut
    to a quarter of the cap. If the whole is still over the cap, only the limit, usage and ids are
    kept. Success envelopes are returned unchanged (they are bounded by ``max_result_mb``).
    """
    if envelope.get("status") != "failed":
        return envelope
    cap = caps.max_error_kb * 1024
    message = _cut(str(envelope.get("error", "")), cap // 4)
    details = envelope.get("errorDetails")
    bounded: dict[str, Any] = {}
    if isinstance(details, dict):
        tail = details.get("logTail")
        bounded = _bound({k: v for k, v in details.items() if k != "logTail"}, caps)
        if isinstance(tail, str) and tail:
            bounded["logTail"] = tail[-(cap // 4):]
    out = {**envelope, "error": message, "errorDetails": bounded}
    out["errorCode"] = _cut(str(envelope.get("errorCode", "internal_error")), caps.max_echo_chars)
    if len(dumps(out)) > cap:
        out["errorDetails"] = {k: bounded[k] for k in _KEEP_WHEN_CUT if k in bounded}
        out["errorDetails"]["truncated"] = True
        if len(dumps(out)) > cap:
            out["errorDetails"] = {"truncated": True}
    return out


def failure(code: str, message: str, **details: Any) -> dict[str, Any]:
    """A failure envelope; ``message`` must be a self-contained sentence."""
    return {"status": "failed", "error": message, "errorCode": code, "errorDetails": details}


def completed_text(out: Outcome) -> str | None:
    """A completed engine envelope as the JSON text the job sent, never decoded here; None for
    anything else (then :func:`from_outcome` builds the envelope)."""
    if not (out.ok and out.status == "completed" and out.result is not None):
        return None
    try:
        return out.result.decode("utf-8")
    except UnicodeDecodeError:  # only a job forging its own result frames sends that
        return None


def from_outcome(out: Outcome, job: JobLimits, *, budget: float | None = None) -> dict[str, Any]:
    """The API envelope for one finished job.

    The limit a failure names is the outcome's own (the sandbox's LimitPlan decided it, the
    request deadline included); ``job`` and ``budget`` only describe an outcome built without one.
    """
    usage = out.usage.to_dict()
    if out.ok:
        value = out.value
        if isinstance(value, dict) and value.get("status") == "completed":
            return value
        if isinstance(value, dict) and value.get("status") == "failed":
            details = value.get("errorDetails")
            if not isinstance(details, dict):
                details = {}
                value = {**value, "errorDetails": details}
            details.setdefault("usage", usage)
            value.setdefault("errorCode", "execution_error")
            value.setdefault("error", "The workflow failed (the engine gave no message)")
            return value
        return failure(
            "invalid_result",
            f"The engine returned {type(value).__name__} instead of a result envelope; this is a worker bug.",
            usage=usage,
            jobId=out.job_id,
        )
    code = out.code or "internal_error"
    detail = out.limit or (LimitDetail.of(code, job, budget) if out.usage.limit_hit else None)
    limit = detail.to_dict() if detail is not None else None
    sentence = f"{_HEADLINES.get(code, 'The job failed')}: {out.message}"
    if limit is not None and limit["value"]:
        unit = f" {limit['unit']}" if limit.get("unit") else ""
        sentence += f" (limit {limit['name']} = {limit['value']}{unit})"
    sentence = sentence.rstrip(".") + "."
    details: dict[str, Any] = {"usage": usage, "limit": limit, "logTail": out.log_tail, "jobId": out.job_id}
    for key, val in out.details.items():
        details.setdefault(key, val)
    return failure(code, sentence, **details)
