"""One job on the cluster, seen from the parent: submit, stream its events, answer by the deadline.

    submit run_job (Ray places it) ─┬─ _placed (its node) ─ events ─ _outcome ──► the sandbox's Outcome
                                    ├─ _lost / a Ray error ─────────────────────► node_lost (or cluster_unavailable)
                                    ├─ not placed by the budget (Ray's queue) ──────► deadline_exceeded
                                    ├─ the cluster unreachable (GCS) ───────────────► cluster_unavailable
                                    └─ nothing by budget + answer_grace ──────────► node_lost
    cancel set (client gone): the node's actor stops the job (the sandbox answers ``cancelled`` once no
    process of it is left); a job not placed yet is taken out of Ray's queue (ray.cancel).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray

from sandbox import ErrorCode, Outcome
from service import codes
from service.cluster.errors import classify
from service.cluster.ray_actor import LOST, OUTCOME, PLACED, REFUSED, run_job
from service.cluster.wire import failed, outcome_from_wire

if TYPE_CHECKING:
    from service.cluster.ray_engine import RayCluster

__all__ = ["RemoteJob", "read_files"]

_MB = 1 << 20
_RUN_JOB = ray.remote(run_job)
"""Decorated once: each job only sets its options."""


class FileTooLarge(Exception):
    """An upload is larger than the cap it was checked against (it changed since)."""


def read_files(files: Mapping[str, str | PathLike[str]] | None, cap_bytes: int) -> dict[str, bytes]:
    """The page's uploads as bytes, to travel to the node (each read whole, at most ``cap_bytes``)."""
    out: dict[str, bytes] = {}
    for name, source in (files or {}).items():
        with open(Path(source), "rb") as fh:
            data = fh.read(cap_bytes + 1) if cap_bytes > 0 else fh.read()
        if cap_bytes > 0 and len(data) > cap_bytes:
            raise FileTooLarge(f"the file for {name} is over {cap_bytes // _MB} MB")
        out[name] = data
    return out


class RemoteJob:
    """One job's run on the cluster; :meth:`run` returns its Outcome and never raises."""

    def __init__(self, cluster: RayCluster, job_id: str, budget: float, on_event: Callable[[dict[str, Any]], None] | None,
                 cancel: threading.Event) -> None:
        self.cluster = cluster
        self.conf = cluster.conf
        self.job_id = job_id
        self.budget = budget
        self.on_event = on_event
        self.cancel = cancel
        self.node: str | None = None
        self.started = time.monotonic()

    def run(self, body: bytes, files: Mapping[str, str | PathLike[str]] | None,
            connect_ports: Sequence[int] | None, write_cache: bool) -> Outcome:
        try:
            return self._run(body, files, connect_ports, write_cache)
        except Exception as exc:  # the contract: an Outcome, whatever happened
            code, sentence = classify(exc, self._short())
            return self._failed(code, sentence)
        finally:
            if self.node is not None:
                self.cluster.job_ended(self.node)

    def _run(self, body: bytes, files: Mapping[str, str | PathLike[str]] | None,
             connect_ports: Sequence[int] | None, write_cache: bool) -> Outcome:
        request = self.cluster.request
        assert request is not None
        data = self.cluster.settings.data
        cap = (data.max_dataset_mb or self.cluster.settings.server.max_upload_mb) * _MB
        try:
            refs = {name: ray.put(raw) for name, raw in read_files(files, cap).items()}
        except (OSError, FileTooLarge) as exc:
            return self._failed(codes.INVALID_REQUEST, f"the run was refused: {exc}")
        poll = self.conf.poll_ms / 1000
        stream = _RUN_JOB.options(
            num_cpus=request.cpus, memory=request.memory_bytes or None, num_returns="streaming", max_retries=0,
            retry_exceptions=False,
        ).remote(self.cluster.prefix, self.conf.namespace, self.conf.node_ready_seconds, poll, self.job_id, body,
                 self.budget, time.time(), refs, None if connect_ports is None else list(connect_ports), write_cache)
        deadline = self.started + self.budget + self.conf.answer_grace_seconds
        cancelled_at: float | None = None
        while True:
            now = time.monotonic()
            if self.cancel.is_set() and cancelled_at is None:
                cancelled_at = now
                self._stop(stream)
            if cancelled_at is not None and now - cancelled_at > self.conf.cancel_seconds:
                self._stop(stream, force=True)
                return self._failed(ErrorCode.CANCELLED.value, f"the job was cancelled; its node did not confirm within "
                                    f"{self.conf.cancel_seconds:g} s ([cluster] cancel_seconds)")
            if self.node is None and now > self.started + self.budget:
                self._stop(stream)  # still in Ray's queue: out of it, it never ran
                return self._failed(codes.DEADLINE_EXCEEDED, (
                    f"the job waited {now - self.started:.1f} s in the Ray cluster's queue and was never placed on a "
                    "node before its budget ran out: the cluster's CPUs or memory were taken (by other jobs, "
                    "another worker or another Ray driver on the same cluster); try again later"))
            if self.node is None and self.cluster.unreachable:
                self._stop(stream)
                return self._failed(codes.CLUSTER_UNAVAILABLE, (
                    f"the Ray cluster at {self.conf.address} stopped answering ({self.cluster.unreachable}) before "
                    "the job was placed on a node; the job did not run: try again later"))
            if now > deadline:
                self._stop(stream)
                if self.cluster.unreachable:
                    return self._failed(codes.CLUSTER_UNAVAILABLE, (
                        f"the Ray cluster at {self.conf.address} stopped answering ({self.cluster.unreachable}) while "
                        f"the job ran on {self._where()}; its result is lost: send the request again"))
                self.cluster.suspect(self.node)
                return self._failed(codes.NODE_LOST, f"no answer from the job's Ray {self._where()} within its "
                                    f"{self.budget:.1f} s budget and {self.conf.answer_grace_seconds:g} s of grace "
                                    "([cluster] answer_grace_seconds); the job was stopped: send the request again")
            ready, _ = ray.wait([stream], timeout=poll)
            if not ready:
                continue
            try:
                item = ray.get(next(stream))
            except StopIteration:
                return self._failed(codes.INTERNAL_ERROR, f"the job's stream from {self._where()} ended without an outcome")
            except Exception as exc:  # a Ray error: the node, its worker or the cluster failed
                code, sentence = classify(exc, self._short())
                if code == codes.NODE_LOST:
                    self.cluster.suspect(self.node)
                return self._failed(code, sentence)
            kind = item.get("type") if isinstance(item, dict) else None
            if kind == PLACED:
                self.node = str(item["node"])
                self.cluster.job_placed(self.node)
                if self.cancel.is_set():
                    self._stop(stream)
            elif kind == OUTCOME:
                return outcome_from_wire(item["outcome"])
            elif kind == LOST:
                self.cluster.suspect(self.node)
                return self._failed(codes.NODE_LOST, f"the job's Ray {self._where()} lost its sandbox actor while the "
                                    f"job ran ({item.get('error')}); the job was not retried: send the request again")
            elif kind == REFUSED:
                return self._failed(str(item.get("code") or codes.CLUSTER_UNAVAILABLE), str(item.get("message")))
            elif self.on_event is not None and isinstance(item, dict):
                self.on_event(item)

    def _stop(self, stream: Any, *, force: bool = False) -> None:
        """Stop the remote job: through its node's actor once placed, else out of Ray's queue.
        Never waits on the cluster (an unreachable GCS must not hold the answer): ray.cancel runs
        on a thread of its own."""
        if not force and self.node is not None and self.cluster.cancel_on(self.node, self.job_id):
            return

        def cancel() -> None:
            try:
                ray.cancel(stream, force=force)
            except Exception:  # already ended, or the cluster is gone: nothing left to stop here
                pass

        threading.Thread(target=cancel, name=f"cancel-{self.job_id}", daemon=True).start()

    def _short(self) -> str | None:
        return self.node[:8] if self.node else None

    def _where(self) -> str:
        return f"node {self.node[:8]}" if self.node else "node"

    def _failed(self, code: str, sentence: str) -> Outcome:
        extra = {"node": self.node[:8]} if self.node else {}
        return failed(self.job_id, code, sentence, wall_seconds=time.monotonic() - self.started, **extra)
