"""What the cluster can do wrong, as coded sentences: the one place a Ray exception becomes a code.

    ClusterStartError        start-up cannot use the cluster (no ray package, unreachable, no node
                             ready, [job] threads = 0): start-up stops with this message
    classify(exc) → (code, sentence)
        node_lost            the job's node, its worker or its sandbox actor died mid-job
        cluster_unavailable  the cluster (its GCS) cannot be reached
        cancelled            the remote job was cancelled (the client went away)
        internal_error       anything else, named by its type only

A Ray exception's text (often a traceback of several processes) never reaches an answer: the
sentence names the exception's type and the node, nothing else.
"""

from __future__ import annotations

from service import codes

__all__ = ["ClusterStartError", "classify", "start_cause"]


class ClusterStartError(RuntimeError):
    """``[cluster] engine = "ray"`` cannot start; the message says what to do."""


_NODE_LOST = frozenset({
    "NodeDiedError", "WorkerCrashedError", "ActorDiedError", "ActorUnavailableError", "RayActorError",
    "OwnerDiedError", "ObjectLostError", "ObjectFetchTimedOutError", "ObjectReconstructionFailedError",
    "LocalRayletDiedError", "OutOfMemoryError", "TaskUnschedulableError", "ActorUnschedulableError",
})
"""Ray's ways of saying the process or node that held the job is gone (OutOfMemoryError: Ray's own
memory monitor, the second guard after the sandbox's, killed the node's worker)."""

_UNAVAILABLE = frozenset({"RaySystemError", "RpcError", "GcsRpcError", "ConnectionError", "GetTimeoutError"})
_CANCELLED = frozenset({"TaskCancelledError"})


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def classify(exc: BaseException, node: str | None = None) -> tuple[str, str]:
    """The code and a self-contained sentence for ``exc`` raised while a job ran on the cluster."""
    cause = getattr(exc, "cause", None)  # RayTaskError wraps what the remote code raised
    if isinstance(cause, BaseException) and cause is not exc:
        return classify(cause, node)
    names = _names(exc)
    where = f"node {node}" if node else "its node"
    kind = type(exc).__name__
    if names & _CANCELLED:
        return "cancelled", f"the remote job was cancelled before it reported ({kind})"
    if names & _NODE_LOST:
        return codes.NODE_LOST, (f"the job's Ray {where} (or its sandbox actor) was lost while the job ran ({kind}); "
                                 "the job was not retried: send the request again")
    if names & _UNAVAILABLE:
        return codes.CLUSTER_UNAVAILABLE, f"the Ray cluster could not be reached ({kind}); try again later"
    return codes.INTERNAL_ERROR, f"the cluster engine failed ({kind})"


def start_cause(exc: BaseException, limit: int = 200) -> str:
    """Why a node's sandbox actor could not start, for start-up's message and the node's health row:
    the type and first ``limit`` characters of the exception its creation raised (Ray's text ends
    with it: ``sandbox.errors.TemplateError: the template did not become ready within 120.0 s``),
    else the type of ``exc``. Never the traceback."""
    for line in reversed(str(exc).splitlines()):
        name, sep, message = line.strip().partition(": ")
        if sep and name.rsplit(".", 1)[-1].endswith(("Error", "Exception")) and " " not in name:
            return f"{name.rsplit('.', 1)[-1]}: {message[:limit]}"
    return type(exc).__name__
