"""The health report behind ``GET /health`` and the UI's *Limits and health* tab.

The report is public: it carries counts, codes, timings and node types only, never a dataset id,
a column name, an error's text or any value from a request. An operator who sets
``WORKER_HEALTH_TOKEN`` in the environment and sends ``Authorization: Bearer <token>`` also gets
each recent request's id, workflow summary (algorithms, dataset ids) and its error, cut to
``[request] max_echo_chars`` (:func:`is_operator`, a constant-time compare).
"""

from __future__ import annotations

import hmac
import os
import platform
import tomllib
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from service.codes import CODES
from service.config import REPO_ROOT

if TYPE_CHECKING:
    from service.worker import Worker

__all__ = ["HEALTH_TOKEN_ENV", "RECENT_SIZE", "health_report", "is_operator", "public_outcome", "version"]

RECENT_SIZE = 50
"""Recent outcomes kept in memory for /health and the UI."""

HEALTH_TOKEN_ENV = "WORKER_HEALTH_TOKEN"
"""Environment variable holding the operator's token for the detailed /health view (unset: none)."""

NODE_TYPES = frozenset({"dataset", "preprocessing", "split", "model", "evaluate", "visualize", "fault"})
"""Node types shown as they are; anything else a client wrote is shown as ``other``."""


def is_operator(authorization: str | None, token: str | None) -> bool:
    """Whether an ``Authorization: Bearer <token>`` header carries the operator's token."""
    if not token or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "replace"), token.encode("utf-8", "replace"))


def operator_token() -> str | None:
    """The operator's token from the environment (read once, at start-up)."""
    return os.environ.get(HEALTH_TOKEN_ENV) or None


def _code(code: Any) -> str:
    return code if isinstance(code, str) and code in CODES or code == "completed" else "other"


def public_outcome(record: dict[str, Any]) -> dict[str, Any]:
    """One recent outcome as anyone may see it: when, code, timings, node count and types."""
    summary = record.get("workflow") or {}
    return {
        "at": record.get("at"),
        "code": _code(record.get("code")),
        "seconds": record.get("seconds"),
        "queueWaitSeconds": record.get("queueWaitSeconds"),
        "nodes": summary.get("nodes", 0),
        "types": [t if t in NODE_TYPES else "other" for t in summary.get("types", [])],
    }


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


def health_report(worker: Worker, *, operator: bool = False) -> dict[str, Any]:
    """Status, version, engine, limits, guard layers, template, queue depth and recent outcomes; with the
    Ray engine also ``cluster``: its capacity and every node's state, guards and running jobs. Never raises.

    ``operator``: add each recent request's id, workflow summary and (cut) error.
    """
    s = worker.settings
    sandbox_status: dict[str, Any] = {}
    error = None
    if worker.sandbox is not None:
        try:
            sandbox_status = worker.sandbox.status()
        except Exception as exc:  # /health must answer even when the sandbox is broken
            error = f"sandbox status failed: {exc!r}"
    template = sandbox_status.get("template", {})
    cluster = sandbox_status.get("cluster")
    failing = [p["name"] for p in worker.self_check if not p.get("ok")]
    if cluster:  # every node ran its own self-check: a guard failing on any node is named with its node
        failing = list(cluster.get("failing") or [])
    if worker.sandbox is None:
        status = "starting"
    elif error or not template.get("alive"):
        status = "down"
    elif failing:
        status = "degraded"
    else:
        status = "ok"
    records, counts = worker.outcomes()
    recent = [public_outcome(r) for r in records[:20]]
    if operator:
        echo = s.request.max_echo_chars
        for shown, record in zip(recent, records, strict=False):
            shown.update(requestId=record.get("requestId"), workflow=record.get("workflow"),
                         code=record.get("code"))
            if record.get("error"):
                shown["error"] = str(record["error"])[:echo]
    by_code: dict[str, int] = {}
    for code, n in counts.items():
        by_code[_code(code)] = by_code.get(_code(code), 0) + n
    return {
        "status": status,
        "version": version(),
        "gradio": _gradio_version(),
        "python": platform.python_version(),
        "limitsFile": os.path.basename(s.source),
        "engine": s.cluster.engine,
        "limits": {
            "job": s.job.model_dump(),
            "queue": s.queue.model_dump(),
            "request": s.request.model_dump(),
            "guards": s.guards.model_dump(),
            **s.engine_limits(),
            "testing": s.testing.model_dump(),
            "cluster": s.cluster.model_dump(),
        },
        "template": template,
        "guards": sandbox_status.get("layers", []),
        "container": sandbox_status.get("container", {}),
        "calibrated": sandbox_status.get("calibrated", {}),
        "selfCheck": {"ok": not failing, "failing": failing, "probes": worker.self_check},
        "jobs": {
            "running": worker.admission.running,
            "waiting": worker.admission.waiting,
            "maxConcurrent": worker.admission.max_running,
            "maxWaiting": s.queue.max_waiting,
            "started": sandbox_status.get("jobs_started", 0),
            "byCode": by_code,
        },
        **({"cluster": cluster} if cluster else {}),
        "recent": recent,
        "operatorView": operator,
        **({"error": error} if error else {}),
    }
