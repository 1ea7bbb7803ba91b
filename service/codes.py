"""Every ``errorCode`` the API can answer with, in one table: who raises it and what it means.

Codes are part of the API: never rename one. The sandbox's codes come from
:class:`sandbox.ErrorCode` (a test checks this table covers all of them), the engine's from
``executor.errors``, and the service adds the admission and request codes, and the cluster codes of
the Ray engine (``[cluster] engine = "ray"``: what only a cluster can do wrong).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLUSTER_CODES", "CODES", "Code", "SERVICE_CODES", "describe"]


@dataclass(frozen=True)
class Code:
    """One error code: its name, the layer that raises it, and what it means."""

    name: str
    source: str
    """``service``, ``engine``, ``sandbox`` or ``cluster`` (the Ray engine only)."""
    meaning: str


INVALID_REQUEST = "invalid_request"
BUSY = "busy"
DEADLINE_EXCEEDED = "deadline_exceeded"
INTERNAL_ERROR = "internal_error"
NODE_LOST = "node_lost"
CLUSTER_UNAVAILABLE = "cluster_unavailable"
CLUSTER_NO_FIT = "cluster_no_fit"

_TABLE = [
    Code(INVALID_REQUEST, "service / sandbox", "not JSON, not an object, empty, over a [request] cap (size, nodes, "
     "depth, JSON values, string length), an HTTP 400/413 body (a file path not uploaded here, a body over "
     "[server]), or a file to pass to the job that the sandbox refused (a bad name, a source gone)"),
    Code(BUSY, "service", "max_concurrent_jobs are running and max_waiting are waiting (or an HTTP 503 past "
     "[server] max_connections / max_buffered_mb): try again later"),
    Code(DEADLINE_EXCEEDED, "service", "request_deadline_seconds ran out while the request waited for a slot"),
    Code("invalid_workflow", "engine", "schema, graph, config key or hyperparameter problems, each listed"),
    Code("dataset_error", "engine", "unknown dataset, missing target column, unreadable data, over a [data] cap"),
    Code("execution_error", "engine / sandbox", "a step failed while running, or the job raised"),
    Code("timeout", "sandbox", "the job ran past wall_clock_seconds or the request's remaining budget"),
    Code("cpu_time_exceeded", "sandbox", "the job used more than cpu_seconds of CPU time"),
    Code("memory_exceeded", "sandbox", "the job's process tree went past memory_mb"),
    Code("process_limit_exceeded", "sandbox", "more than max_processes processes and threads"),
    Code("file_size_exceeded", "sandbox", "the job wrote a file over max_file_size_mb"),
    Code("result_too_large", "sandbox", "the job's result was over max_result_mb"),
    Code("crashed", "sandbox", "the job was killed by a signal (named in the message)"),
    Code("exited", "sandbox", "the job exited without sending a result"),
    Code("invalid_result", "sandbox", "the job sent something unreadable"),
    Code("cancelled", "sandbox", "the client went away and the job was stopped"),
    Code(INTERNAL_ERROR, "service / sandbox", "the worker itself failed; still a structured answer"),
    Code(NODE_LOST, "cluster", "the Ray node (or its sandbox actor) running the job died or stopped answering "
     "mid-job; the job was not retried"),
    Code(CLUSTER_UNAVAILABLE, "cluster", "the Ray cluster cannot be reached, or no node has a ready sandbox"),
    Code(CLUSTER_NO_FIT, "cluster", "no node of the Ray cluster can ever fit one job's [job] threads and "
     "memory_mb (plus [cluster] sandbox_memory_mb)"),
]

CODES: dict[str, Code] = {c.name: c for c in _TABLE}
"""Every code the API may answer with, keyed by name."""

SERVICE_CODES = frozenset({INVALID_REQUEST, BUSY, DEADLINE_EXCEEDED})
"""Codes decided in the parent before any child runs."""

CLUSTER_CODES = frozenset({NODE_LOST, CLUSTER_UNAVAILABLE, CLUSTER_NO_FIT})
"""Codes only the Ray engine answers with (never with ``engine = "local"``)."""


def describe(code: str) -> str:
    """One line for ``code`` (unknown codes are described as such, never an error)."""
    entry = CODES.get(code)
    return f"{code}: {entry.meaning}" if entry else f"{code}: (undocumented code)"
