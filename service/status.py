"""The health report behind ``GET /health`` and the UI's *Limits and health* tab."""

from __future__ import annotations

import platform
import tomllib
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from service.config import REPO_ROOT

if TYPE_CHECKING:
    from service.worker import Worker

__all__ = ["RECENT_SIZE", "health_report", "version"]

RECENT_SIZE = 50
"""Recent outcomes kept in memory for /health and the UI."""


@lru_cache(maxsize=1)
def version() -> str:
    """The project's version from pyproject.toml."""
    try:
        return str(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _gradio_version() -> str | None:
    try:
        import gradio

        return str(gradio.__version__)
    except Exception:
        return None


def health_report(worker: Worker) -> dict[str, Any]:
    """Status, version, limits, guard layers, template, queue depth and recent outcomes. Never raises."""
    s = worker.settings
    sandbox_status: dict[str, Any] = {}
    error = None
    if worker.sandbox is not None:
        try:
            sandbox_status = worker.sandbox.status()
        except Exception as exc:  # /health must answer even when the sandbox is broken
            error = f"sandbox status failed: {exc!r}"
    template = sandbox_status.get("template", {})
    failing = [p["name"] for p in worker.self_check if not p.get("ok")]
    if worker.sandbox is None:
        status = "starting"
    elif error or not template.get("alive"):
        status = "down"
    elif failing:
        status = "degraded"
    else:
        status = "ok"
    with worker._lock:
        recent = list(worker.recent)[:20]
        counts = dict(worker.counts)
    return {
        "status": status,
        "version": version(),
        "gradio": _gradio_version(),
        "python": platform.python_version(),
        "limitsFile": s.source,
        "limits": {
            "job": s.job.model_dump(),
            "queue": s.queue.model_dump(),
            "request": s.request.model_dump(),
            "guards": s.guards.model_dump(),
            **s.engine_limits(),
            "testing": s.testing.model_dump(),
        },
        "template": template,
        "guards": sandbox_status.get("layers", []),
        "container": sandbox_status.get("container", {}),
        "calibrated": sandbox_status.get("calibrated", {}),
        "selfCheck": {"ok": not failing, "failing": failing, "probes": worker.self_check},
        "jobs": {
            "running": worker.admission.running,
            "waiting": worker.admission.waiting,
            "maxConcurrent": s.queue.max_concurrent_jobs,
            "maxWaiting": s.queue.max_waiting,
            "started": sandbox_status.get("jobs_started", 0),
            "byCode": counts,
        },
        "recent": recent,
        **({"error": error} if error else {}),
    }
