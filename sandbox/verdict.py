"""From what the parent saw of a finished job to its :class:`Outcome`, in three steps.

    JobRecord (the supervisor's facts: the runner's ExitReport, the result bytes, its own stop)
        │ measure   → Measurement  (wall, CPU, peak memory and its share of the limit)
        │ judge     → Verdict      (errors.classify, then the result's own checks)
        └ describe  → Outcome      (Usage, details, the limit named by the LimitPlan)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import LIMIT_OF_CODE, ErrorCode, Verdict, classify, signal_name
from .outcome import Outcome, Usage
from .plan import LimitPlan
from .protocol import ExitReport

__all__ = ["JobRecord", "Measurement", "describe", "failure", "judge", "measure", "outcome_of"]

_MB = 1 << 20


@dataclass(frozen=True)
class JobRecord:
    """Everything the parent learnt about one job that ran (or was meant to)."""

    job_id: str
    report: ExitReport | None
    """The runner's exit report; None when the runner died without one."""
    result: bytes | None
    stop: Verdict | None
    """Why the parent stopped the job, if it did."""
    peak_uss_bytes: int
    template_rss_bytes: int
    """The template's RSS: a job child shares it at fork."""
    cgroup_oom: bool
    pids: tuple[int, ...]
    wall_seconds: float
    """The parent's own clock, from submission to the end of supervision."""


@dataclass(frozen=True)
class Measurement:
    wall_seconds: float
    cpu_seconds: float
    peak_memory_mb: float
    max_rss_mb: float
    memory_fraction: float
    """The larger of the tree's peak memory and the child's data growth, as a share of the limit."""


def measure(record: JobRecord, plan: LimitPlan) -> Measurement:
    """What the job used. Jobs shorter than one watchdog poll have no USS sample: their private
    memory is estimated as peak RSS minus the template's RSS at fork (shared pages count in both)."""
    report = record.report or ExitReport()
    max_rss_mb = float(report.max_rss_kb) / 1024
    peak_mb = max(record.peak_uss_bytes / _MB, max(0.0, max_rss_mb - record.template_rss_bytes / _MB))
    return Measurement(
        wall_seconds=float(report.wall_seconds) if record.report is not None else record.wall_seconds,
        cpu_seconds=float(report.cpu_seconds),
        peak_memory_mb=peak_mb,
        max_rss_mb=max_rss_mb,
        memory_fraction=plan.memory_fraction(max(peak_mb, float(report.data_growth_mb))),
    )


def judge(record: JobRecord, used: Measurement, plan: LimitPlan) -> Verdict:
    """The job's code and sentence: the evidence weighed by :func:`classify`, then, for a job that
    completed, whether what it sent can be passed on."""
    report = record.report or ExitReport()
    stop = record.stop
    if record.report is None and stop is None:
        stop = Verdict(ErrorCode.INTERNAL_ERROR, "the job's runner died without reporting")
    if stop is None and record.cgroup_oom:
        stop = plan.cgroup_oom_stop()
    too_large = report.result_too_large
    if stop is None and too_large:
        stop_message = plan.result_too_large(too_large)
    else:
        stop_message = stop.message if stop else ""
    verdict = classify(
        stop_reason=stop.code if stop else None,
        stop_message=stop_message,
        exit_code=report.exit_code,
        signum=report.signal,
        child_error=report.child_error,
        has_result=record.result is not None,
        result_too_large=bool(too_large),
        cpu_seconds=used.cpu_seconds,
        cpu_limit=plan.job.cpu_seconds,
        memory_fraction=used.memory_fraction,
        log_tail=report.log_tail,
    )
    if verdict.ok and report.invalid_frames:
        return Verdict(ErrorCode.INVALID_RESULT, f"the job sent {report.invalid_frames}")
    if verdict.ok and report.result_status is not None and not _is_object(record.result):
        return Verdict(ErrorCode.INVALID_RESULT, "the job's result is not the JSON object its header announced")
    return verdict


def _is_object(result: bytes | None) -> bool:
    """A cheap check of a result with a header: it looks like one JSON object (never decoded here)."""
    return result is not None and result[:1] == b"{" and result[-1:] == b"}"


def describe(record: JobRecord, used: Measurement, verdict: Verdict, plan: LimitPlan) -> Outcome:
    """The outcome: usage, the details of a failure, the limit it hit, and the value as it was sent.

    A result without a header (not a JSON object with a status) is decoded here, so a value that
    is not JSON is an ``invalid_result`` as it always was; a result with one is passed on undecoded.
    """
    report = record.report or ExitReport()
    code, message = verdict.code, verdict.message
    decoded: dict[str, Any] = {}
    if code is None and report.result_status is None:
        try:
            decoded["value"] = orjson.loads(record.result or b"")
        except orjson.JSONDecodeError as exc:
            code, message = ErrorCode.INVALID_RESULT, f"the job's result is not readable JSON: {exc}"
    details: dict[str, Any] = {}
    if code == ErrorCode.EXECUTION_ERROR and report.child_error:
        details = {"exceptionType": report.child_error.get("exc_type"), "traceback": report.child_error.get("traceback")}
    usage = Usage(
        wall_seconds=used.wall_seconds,
        cpu_seconds=used.cpu_seconds,
        peak_memory_mb=used.peak_memory_mb,
        max_rss_mb=used.max_rss_mb,
        exit_code=report.exit_code,
        signal=signal_name(report.signal) if report.signal else None,
        limit_hit=LIMIT_OF_CODE.get(code) if code else None,
        processes_killed=int(report.processes_killed),
    )
    ok = code is None
    return Outcome(
        ok=ok,
        job_id=record.job_id,
        code=code.value if code else None,
        message=message,
        usage=usage,
        log_tail="" if ok else report.log_tail,
        details=details,
        pids=record.pids,
        result=record.result if ok else None,
        status=report.result_status if ok else None,
        limit=plan.limit_detail(code),
        **(decoded if ok else {}),
    )


def outcome_of(record: JobRecord, plan: LimitPlan) -> Outcome:
    used = measure(record, plan)
    return describe(record, used, judge(record, used, plan), plan)


def failure(job_id: str, code: ErrorCode, message: str, *, started: float, plan: LimitPlan | None) -> Outcome:
    """The outcome of a job that never ran (no budget left, the template unreachable, a sandbox bug)."""
    usage = Usage(wall_seconds=time.monotonic() - started, limit_hit=LIMIT_OF_CODE.get(code))
    limit = plan.limit_detail(code) if plan is not None else None
    return Outcome(ok=False, job_id=job_id, code=code.value, message=message, usage=usage, limit=limit)
