"""What runs on each Ray node: the node's sandbox actor and the per-job task that Ray places.

    parent ── run_job task (num_cpus = [job] threads, memory = [job] memory_mb; Ray picks the node)
                 │ finds its node's NodeSandbox actor by name
                 ▼
              NodeSandbox.run (a streaming generator) ── Sandbox.run (warm template, every guard)
                 │ yields the job's events, then its outcome as plain data (wire.py)
                 ▼
              the task yields them on to the parent

The actor is long-lived (one per node, created by the parent, owned by it: it dies with the
parent's process, and its template and jobs die with it). The task holds the job's resources
while the job runs, so Ray counts the job where it runs: it reads the actor's stream on a helper
thread, never blocking its main thread in ray.get / ray.wait (which would hand its CPUs back to
Ray while the job still runs); it never retries.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import ray

from service.cluster.node import NodeSetup, job_guards
from service.cluster.wire import outcome_to_wire

__all__ = ["NodeSandbox", "run_job", "actor_name", "normal_priority"]

PLACED = "_placed"
OUTCOME = "_outcome"
LOST = "_lost"
REFUSED = "_refused"
"""Item types of a job's stream besides the job's own events (theirs never start with "_")."""

def actor_name(prefix: str, node_id: str) -> str:
    """The name of the sandbox actor the parent ``prefix`` made on node ``node_id``."""
    return f"{prefix}{node_id}"


def normal_priority() -> int:
    """Run at niceness 0 if allowed; the niceness this process (and so the sandbox it starts) has now.

    Ray starts its worker processes at niceness 15 (``RAY_worker_niceness``), and the sandbox's
    template and jobs inherit it: on a node with any other work, a job then gets a small share of
    a CPU and meets its wall-clock limit or the request deadline long before its CPU limit (a
    template that starts in 7 s took 170 s beside three busy processes). Lowering niceness needs
    root or CAP_SYS_NICE; without them the node keeps Ray's value and health shows it (start
    the node with ``RAY_worker_niceness=0``, docs/scale-out.md).
    """
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) > 0:
            os.setpriority(os.PRIO_PROCESS, 0, 0)
    except OSError:
        pass
    return os.getpriority(os.PRIO_PROCESS, 0)


class NodeSandbox:
    """One node's warm sandbox: started once, runs every job Ray places on the node. Threaded
    (``max_concurrency``): each job holds one thread while it runs, and status calls stay answered."""

    def __init__(self, setup: NodeSetup, target: str) -> None:
        self.target = target
        self.niceness = normal_priority()
        guards, self.cache = job_guards(setup.settings)
        self.sandbox = setup.build(guards)
        self.sandbox.start()
        self.probes = setup.self_check(self.sandbox)
        self._probe_jobs = int(self.sandbox.status().get("jobs_started", 0))
        """The self-check's probes run as jobs of the sandbox: not counted as the node's jobs."""
        self.node_id = ray.get_runtime_context().get_node_id()
        self._cancels: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._files_root = Path(tempfile.mkdtemp(prefix="cluster-files-"))

    def status(self) -> dict[str, Any]:
        """The node's sandbox status (template, guard layers, container), its self-check and its jobs."""
        with self._lock:
            running = len(self._cancels)
        sandbox = self.sandbox.status()
        return {
            "nodeId": self.node_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "niceness": self.niceness,
            "sandbox": sandbox,
            "probes": self.probes,
            "running": running,
            "jobsStarted": max(0, int(sandbox.get("jobs_started", 0)) - self._probe_jobs),
        }

    def cancel(self, job_id: str) -> bool:
        """Stop job ``job_id`` if it runs here (its Sandbox.run then answers ``cancelled``)."""
        with self._lock:
            event = self._cancels.get(job_id)
        if event is not None:
            event.set()
        return event is not None

    def run(
        self,
        job_id: str,
        body: bytes,
        budget: float,
        submitted_at: float,
        files: dict[str, Any],
        connect_ports: list[int] | None,
        write_cache: bool,
    ) -> Iterator[dict[str, Any]]:
        """Run one job in this node's sandbox; yield its events, then its outcome (plain data).

        ``budget`` was the request's remaining time when the parent sent the job at ``submitted_at``
        (its clock); the time the job took to get here is taken off (never added, whatever the
        clocks say). ``files`` maps plain names to object refs of their bytes."""
        cancel = threading.Event()
        with self._lock:
            self._cancels[job_id] = cancel
        events: queue.Queue[Any] = queue.Queue()
        tmp = Path(tempfile.mkdtemp(prefix=f"{job_id}-", dir=self._files_root))
        done = object()
        box: dict[str, Any] = {}
        try:
            paths = {}
            for name, ref in files.items():
                path = tmp / Path(name).name
                path.write_bytes(ray.get(ref))
                paths[name] = str(path)
            remaining = budget - min(budget, max(0.0, time.time() - submitted_at))

            def work() -> None:
                try:
                    box["out"] = self.sandbox.run(
                        self.target, orjson.Fragment(body), wall_clock_seconds=remaining, on_event=events.put,
                        cancel=cancel, job_id=job_id, files=paths or None, connect_ports=connect_ports,
                        write_paths=[self.cache] if write_cache and self.cache else (),
                    )
                finally:
                    events.put(done)

            thread = threading.Thread(target=work, name=f"job-{job_id}", daemon=True)
            thread.start()
            while (item := events.get()) is not done:
                yield item
            thread.join()
            yield {"type": OUTCOME, "outcome": outcome_to_wire(box["out"])}
        finally:  # also when the stream is closed early: the job must not outlive it
            cancel.set()
            with self._lock:
                self._cancels.pop(job_id, None)
            shutil.rmtree(tmp, ignore_errors=True)


def run_job(
    prefix: str,
    namespace: str,
    lookup_seconds: float,
    poll_seconds: float,
    job_id: str,
    body: bytes,
    budget: float,
    submitted_at: float,
    files: dict[str, Any],
    connect_ports: list[int] | None,
    write_cache: bool,
) -> Iterator[dict[str, Any]]:
    """The task Ray places by the job's resources: run the job on this node's sandbox actor and
    pass its stream on. A failure of the actor is yielded as data (``_lost``), not raised."""
    node = ray.get_runtime_context().get_node_id()
    actor = _find_actor(actor_name(prefix, node), namespace, lookup_seconds, poll_seconds)
    if actor is None:
        yield {"type": REFUSED, "node": node, "code": "cluster_unavailable",
               "message": f"no sandbox actor started on node {node[:8]} within {lookup_seconds:g} s"}
        return
    yield {"type": PLACED, "node": node}
    stream = actor.run.options(num_returns="streaming").remote(
        job_id, body, budget, submitted_at, files, connect_ports, write_cache)
    items: queue.Queue[Any] = queue.Queue()
    end = object()

    def pump() -> None:
        # Off the task's main thread: Ray takes a task's CPUs back while its *main* thread blocks
        # in ray.get / ray.wait (ray-project/ray#57110), so the blocking reads happen here and the
        # main thread only waits on a plain queue: the task holds [job] threads CPUs while its job runs.
        try:
            for ref in stream:
                items.put(ray.get(ref))
        except ray.exceptions.RayError as exc:  # the actor (its process, its node) died mid-job
            items.put({"type": LOST, "node": node, "error": type(exc).__name__})
        except BaseException as exc:  # anything else still ends the stream with a coded item
            items.put({"type": LOST, "node": node, "error": type(exc).__name__})
        finally:
            items.put(end)

    threading.Thread(target=pump, name=f"stream-{job_id}", daemon=True).start()
    finished = False
    try:
        while (item := items.get()) is not end:
            yield item
        finished = True
    finally:
        if not finished:  # cancelled by the parent (ray.cancel), or the parent went away
            actor.cancel.remote(job_id)


def _find_actor(name: str, namespace: str, seconds: float, poll_seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return ray.get_actor(name, namespace=namespace)
        except ValueError:  # not created yet (a node that just joined)
            if time.monotonic() >= deadline:
                return None
            time.sleep(poll_seconds)
