"""The sandbox target: ``executor.entry:run(payload, ctx)`` → the API envelope, never an exception."""

from __future__ import annotations

import dataclasses
from typing import Any

from executor.errors import ExecutionError, InvalidWorkflowError, WorkflowError
from executor.limits import EngineLimits
from sandbox.errors import limit_error

__all__ = ["run"]


def run(payload: Any, ctx: Any) -> dict[str, Any]:
    """Run ``payload["workflow"]`` under ``payload["limits"]``.

    ``payload = {"workflow": {...}, "limits": {...}, "fault_injection": bool, "request_id": str}``, and
    optionally ``"files": {dataset node id: file name}``: files the parent copied into the job's dir
    (``Sandbox.run(files=)``), outside the client's workflow, which can never name one.
    Every failure becomes a failure envelope, except one caused by a limit (a failed allocation,
    a write past the file size limit, a process or thread that could not start: see
    :func:`sandbox.errors.limit_error`), which is re-raised so the sandbox reports
    ``memory_exceeded`` / ``file_size_exceeded`` / ``process_limit_exceeded``.
    """
    try:
        if not isinstance(payload, dict) or "workflow" not in payload:
            raise InvalidWorkflowError("the job payload must be an object with a 'workflow' key", field="workflow")
        limits = EngineLimits.model_validate(payload.get("limits") or {})
        flag = payload.get("fault_injection")
        if flag is not None and bool(flag) != bool(ctx.fault_injection):
            ctx = dataclasses.replace(ctx, fault_injection=bool(flag))
        from executor.runner import run_workflow

        return run_workflow(payload["workflow"], limits=limits, ctx=ctx, files=payload.get("files"))
    except Exception as exc:
        if limit_error(exc) is not None:
            raise
        if isinstance(exc, WorkflowError):
            return exc.to_result()
        return ExecutionError(f"unexpected error: {type(exc).__name__}: {exc}").to_result()
