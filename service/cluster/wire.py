"""An :class:`~sandbox.Outcome` as plain data, to cross from a node's actor to the parent.

Ray moves values between processes of the cluster (trusted: the operator's own machines); what
crosses is plain data only (str, int, float, bytes, lists, dicts), never an object of ours, so
the parent rebuilds its Outcome with the same constructor the sandbox uses.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from sandbox import LimitDetail, Outcome, Usage

__all__ = ["failed", "outcome_from_wire", "outcome_to_wire"]

_USAGE_KEYS = frozenset(f.name for f in fields(Usage))
_LIMIT_KEYS = frozenset(f.name for f in fields(LimitDetail))


def outcome_to_wire(out: Outcome) -> dict[str, Any]:
    """Everything the parent needs of ``out``, as plain data (the result stays the job's bytes)."""
    return {
        "ok": out.ok,
        "job_id": out.job_id,
        "code": out.code,
        "message": out.message,
        "usage": asdict(out.usage),
        "log_tail": out.log_tail,
        "details": out.details,
        "pids": list(out.pids),
        "result": out.result,
        "status": out.status,
        "limit": asdict(out.limit) if out.limit is not None else None,
    }


def outcome_from_wire(data: dict[str, Any]) -> Outcome:
    """The Outcome :func:`outcome_to_wire` described (unknown keys are ignored)."""
    usage = {k: v for k, v in (data.get("usage") or {}).items() if k in _USAGE_KEYS}
    limit = data.get("limit")
    return Outcome(
        bool(data.get("ok")),
        str(data.get("job_id", "")),
        code=data.get("code"),
        message=str(data.get("message", "")),
        usage=Usage(**usage),
        log_tail=str(data.get("log_tail", "")),
        details=dict(data.get("details") or {}),
        pids=tuple(int(p) for p in data.get("pids") or ()),
        result=data.get("result"),
        status=data.get("status"),
        limit=LimitDetail(**{k: v for k, v in limit.items() if k in _LIMIT_KEYS}) if isinstance(limit, dict) else None,
    )


def failed(job_id: str, code: str, message: str, *, wall_seconds: float = 0.0, **details: Any) -> Outcome:
    """An outcome the parent decides itself (node lost, cluster unreachable, cancelled unanswered)."""
    return Outcome(False, job_id, code=code, message=message, usage=Usage(wall_seconds=wall_seconds), details=details)
