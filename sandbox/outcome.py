"""What :meth:`Sandbox.run` returns: an :class:`Outcome` with its :class:`Usage`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from .plan import LimitDetail
from .protocol import dumps, result_status

__all__ = ["Outcome", "Usage"]

_UNDECODED: Any = object()


@dataclass(frozen=True)
class Usage:
    """Resources one job used, success or failure."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory_mb: float = 0.0
    """Peak memory of the job tree the limit is measured on (USS beyond the template)."""
    max_rss_mb: float = 0.0
    """The job child's peak resident size as the kernel reports it (shared pages included)."""
    exit_code: int | None = None
    signal: str | None = None
    limit_hit: str | None = None
    """The limits.toml key of the limit that stopped the job, if one did."""
    processes_killed: int = 0
    """Processes of the job (grandchildren, orphans) killed during cleanup."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("wall_seconds", "cpu_seconds", "peak_memory_mb", "max_rss_mb"):
            out[key] = round(out[key], 3)
        return out


@dataclass(frozen=True, init=False)
class Outcome:
    """The result of one job: its value, or a failure with a stable code.

    The value is kept as the JSON bytes the job sent (:attr:`result`) with the status its header
    named (:attr:`status`); :attr:`value` decodes it on first use, so a caller that only passes
    the result on never decodes it.
    """

    ok: bool
    job_id: str
    code: str | None
    message: str
    usage: Usage
    log_tail: str
    details: dict[str, Any]
    pids: tuple[int, ...]
    """Pids of the job's runner and child, for callers that verify cleanup."""
    result: bytes | None = field(repr=False)
    """The value as JSON bytes, exactly as the job sent it (None without a value)."""
    status: str | None
    """The value's ``status`` member when the value is an object with a short string status."""
    limit: LimitDetail | None
    """The limit that stopped the job (also in ``details["limit"]``), if one did."""

    def __init__(
        self,
        ok: bool,
        job_id: str,
        value: Any = _UNDECODED,
        code: str | None = None,
        message: str = "",
        usage: Usage | None = None,
        log_tail: str = "",
        details: dict[str, Any] | None = None,
        pids: tuple[int, ...] = (),
        *,
        result: bytes | None = None,
        status: str | None = None,
        limit: LimitDetail | None = None,
    ) -> None:
        """Either ``value`` (encoded here) or ``result`` and its ``status`` (as the job sent them)."""
        if value is not _UNDECODED and result is None and value is not None:
            status = result_status(value)
            try:
                result = dumps(value)
            except (TypeError, orjson.JSONEncodeError):  # kept decoded only
                result = None
        details = dict(details or {})
        if limit is not None:
            details.setdefault("limit", limit.to_dict())
        for name, item in (
            ("ok", ok), ("job_id", job_id), ("code", code), ("message", message), ("usage", usage or Usage()),
            ("log_tail", log_tail), ("details", details), ("pids", tuple(pids)), ("result", result),
            ("status", status), ("limit", limit), ("_value", value),
        ):
            object.__setattr__(self, name, item)

    @property
    def value(self) -> Any:
        """The value, decoded on first use (None without a value, or when the bytes are not JSON:
        only a job that forges its own result frames can send those)."""
        value = self.__dict__["_value"]
        if value is _UNDECODED:
            try:
                value = orjson.loads(self.result) if self.result is not None else None
            except orjson.JSONDecodeError:
                value = None
            object.__setattr__(self, "_value", value)
        return value

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "jobId": self.job_id,
            "code": self.code,
            "message": self.message,
            "usage": self.usage.to_dict(),
            "logTail": self.log_tail,
            "details": self.details,
            "pids": list(self.pids),
            "value": self.value,
        }
