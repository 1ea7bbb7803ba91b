"""The Ray engine's parent side: :class:`RayCluster`, the same ``run``/``status``/``close`` as a Sandbox.

    RayCluster.run ── run_job task (Ray places it by [job] threads CPUs, memory_mb memory) ──► node
         │  waits [cluster] poll_ms at a time: the client's cancel, the request's deadline
         ◄── the job's events (on_event), then its Outcome; a Ray failure → node_lost / cluster_unavailable

    refresh thread, every [cluster] refresh_seconds: the cluster's alive nodes; a new node gets its
    NodeSandbox actor (pinned to it, owned by this process); a node or actor gone leaves the capacity;
    admission's capacity = the ready nodes' jobs_per_node (capacity.py), at most [cluster] max_jobs.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from sandbox import Outcome
from sandbox.protocol import dumps
from service import codes
from service.cluster.capacity import JobRequest, jobs_per_node
from service.cluster.errors import ClusterStartError, start_cause
from service.cluster.node import NodeSetup
from service.cluster.wire import failed
from service.config import REPO_ROOT

try:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
except ImportError as exc:  # the default install has no ray: say what to install
    raise ClusterStartError(
        '[cluster] engine = "ray" needs the ray package, which is not installed here '
        f"({exc.name or exc}): pip install -r requirements-ray.txt, or set engine = \"local\""
    ) from None

from service.cluster.ray_actor import NodeSandbox, actor_name  # noqa: E402 (after the ray check)
from service.cluster.remote_job import RemoteJob  # noqa: E402

__all__ = ["RayCluster"]

log = logging.getLogger("service.cluster")

_MB = 1 << 20
_NODE_SANDBOX = ray.remote(NodeSandbox)
_CONTROL_CALLS = 4
"""Actor threads kept for status and cancel calls beside the node's job slots."""


@dataclass
class NodeEntry:
    """One node of the cluster as the parent sees it."""

    node_id: str
    address: str
    resources: dict[str, float]
    slots: int
    state: str = "starting"
    """starting (its actor is being made), ready, failed (its actor could not start), lost."""
    actor: Any = None
    ready_ref: Any = None
    status_ref: Any = None
    status: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    since: float = field(default_factory=time.monotonic)
    running: int = 0
    """Jobs of this parent running there now."""

    @property
    def short(self) -> str:
        return self.node_id[:8]


class RayCluster:
    """Runs jobs on a Ray cluster's nodes, each in that node's own warm sandbox."""

    def __init__(self, setup: NodeSetup, *, target: str, on_capacity: Callable[[int], None]) -> None:
        self.setup = setup
        self.settings = setup.settings
        self.conf = setup.settings.cluster
        self.target = target
        self.request = JobRequest.of(setup.settings) if setup.settings.job.threads > 0 else None
        self._on_capacity = on_capacity
        self.prefix = f"sandbox-{uuid.uuid4().hex[:8]}-"
        """Names this parent's actors; another worker on the same cluster has its own."""
        self._nodes: dict[str, NodeEntry] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._capacity = -1
        self.unreachable: str | None = None
        """Why the cluster cannot be reached now (its GCS failed or did not answer), else None."""
        self._gcs_call: dict[str, Any] | None = None
        self.jobs_started = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> RayCluster:
        """Connect, start a sandbox actor on every node, wait for the first ready one (raises ClusterStartError)."""
        if self.request is None:
            raise ClusterStartError('[cluster] engine = "ray" needs [job] threads > 0: each job asks Ray for that '
                                    "many CPUs (0, \"the machine's CPUs\", has no meaning on a cluster)")
        self._connect()
        deadline = time.monotonic() + self.conf.node_ready_seconds
        while True:
            self.refresh()
            with self._lock:
                states = [n.state for n in self._nodes.values()]
            if "ready" in states or (states and "starting" not in states) or time.monotonic() >= deadline:
                break
            time.sleep(self.conf.poll_ms / 1000)
        if "ready" not in states:
            fits = [n for n in self._nodes.values() if n.slots > 0]
            if states and not fits:  # serving, answering cluster_no_fit, until a node that fits joins
                log.warning("no node of the cluster can fit one job (%s)", self.request.to_dict())
            else:
                why = self._errors() or "no node"  # before close(), which forgets the nodes
                self.close()
                raise ClusterStartError(f"no node of the Ray cluster at {self.conf.address} got a ready sandbox "
                                        f"within {self.conf.node_ready_seconds:g} s: {why}")
        self._thread = threading.Thread(target=self._refresh_loop, name="cluster-refresh", daemon=True)
        self._thread.start()
        return self

    def _connect(self) -> None:
        box: dict[str, BaseException] = {}

        def connect() -> None:
            try:
                ray.init(address=self.conf.address, namespace=self.conf.namespace, log_to_driver=False,
                         logging_level=logging.WARNING,
                         job_config=ray.job_config.JobConfig(code_search_path=[str(REPO_ROOT)]))
            except BaseException as exc:  # re-raised below as a sentence
                box["error"] = exc

        if threading.current_thread() is threading.main_thread():
            # The driver process (driver.py): ray.init on the main thread, so Ray sets its SIGTERM
            # handler (no "not the main thread" warning); the app bounds the connect by ending it.
            connect()
            thread = None
        else:
            thread = threading.Thread(target=connect, name="cluster-connect", daemon=True)
            thread.start()
            thread.join(self.conf.connect_timeout_seconds)
        if thread is not None and thread.is_alive():
            raise ClusterStartError(f"cannot reach the Ray cluster at {self.conf.address} within "
                                    f"{self.conf.connect_timeout_seconds:g} s ([cluster] connect_timeout_seconds)")
        if "error" in box:
            exc = box["error"]
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise ClusterStartError(f"cannot connect to the Ray cluster at {self.conf.address}: "
                                    f"{type(exc).__name__}: {first}") from None

    def close(self) -> None:
        """Stop the refresh, kill this parent's actors (their templates and jobs end with them), disconnect."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.conf.refresh_seconds + 5)
        with self._lock:
            actors = [n.actor for n in self._nodes.values() if n.actor is not None]
            self._nodes.clear()
        for actor in actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # already gone with its node
                pass
        if ray.is_initialized():
            ray.shutdown()

    # -- the node table -----------------------------------------------------------------------

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.conf.refresh_seconds):
            try:
                self.refresh()
            except Exception:  # the loop must go on; the next round tries again
                log.exception("cluster refresh failed")

    def refresh(self) -> None:
        """One look at the cluster: new nodes get actors, lost ones leave, capacity follows."""
        assert self.request is not None
        nodes, error = self._gcs_nodes()
        alive = None
        if error is None and nodes is not None:
            alive = {n["NodeID"]: n for n in nodes if n.get("Alive")}
            self.unreachable = None
        elif error is not None:
            self.unreachable = error
        with self._lock:
            if alive is not None:
                for node_id, info in alive.items():
                    if node_id not in self._nodes:
                        self._nodes[node_id] = self._new_node(node_id, info)
                for entry in self._nodes.values():
                    if entry.node_id not in alive and entry.state != "lost":
                        self._lose(entry, "the node left the cluster")
            for entry in self._nodes.values():
                self._poll(entry)
            capacity = sum(n.slots for n in self._nodes.values() if n.state == "ready")
        capacity = min(capacity, self.conf.max_jobs)
        if capacity != self._capacity:
            self._capacity = capacity
            self._on_capacity(capacity)

    def _gcs_nodes(self) -> tuple[list[dict[str, Any]] | None, str | None]:
        """``ray.nodes()`` bounded by ``[cluster] gcs_timeout_seconds``: (nodes, None), or (None, why)
        when the GCS failed or did not answer in time (a dead head makes ray.nodes() block), or
        (None, None) while an earlier call is still within its time. One call at a time."""
        call = self._gcs_call
        if call is None or call["done"].is_set():
            call = {"done": threading.Event(), "since": time.monotonic()}

            def ask(box: dict[str, Any] = call) -> None:
                try:
                    box["nodes"] = ray.nodes()
                except Exception as exc:
                    box["error"] = type(exc).__name__
                finally:
                    box["done"].set()

            self._gcs_call = call
            threading.Thread(target=ask, name="cluster-gcs", daemon=True).start()
        timeout = self.conf.gcs_timeout_seconds
        if call["done"].wait(max(0.0, timeout - (time.monotonic() - call["since"]))):
            if "error" in call:
                return None, str(call["error"])
            return call["nodes"], None
        return None, f"its GCS did not answer within {timeout:g} s"

    def _new_node(self, node_id: str, info: dict[str, Any]) -> NodeEntry:
        assert self.request is not None
        resources = {k: float(v) for k, v in (info.get("Resources") or {}).items() if k in ("CPU", "memory")}
        entry = NodeEntry(node_id, str(info.get("NodeManagerAddress", "")), resources,
                          jobs_per_node(resources, self.request))
        if entry.slots == 0:
            entry.state, entry.error = "failed", "cannot fit one job"
            return entry
        entry.actor = _NODE_SANDBOX.options(
            name=actor_name(self.prefix, node_id), namespace=self.conf.namespace, num_cpus=0,
            memory=self.request.actor_memory_bytes or None, max_restarts=0, max_task_retries=0,
            max_concurrency=entry.slots + _CONTROL_CALLS,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        ).remote(self.setup, self.target)
        entry.ready_ref = entry.actor.status.remote()
        return entry

    def _poll(self, entry: NodeEntry) -> None:
        """Collect a finished status call (non-blocking) and ask for the next one."""
        if entry.state in ("lost", "failed"):
            return
        ref = entry.ready_ref if entry.state == "starting" else entry.status_ref
        if ref is not None:
            done, _ = ray.wait([ref], timeout=0)
            if not done:
                if entry.state == "starting" and time.monotonic() - entry.since > self.conf.node_ready_seconds:
                    entry.state, entry.error = "failed", f"its sandbox did not start within {self.conf.node_ready_seconds:g} s"
                    ray.kill(entry.actor, no_restart=True)
                    entry.actor = None
                return
            try:
                entry.status = ray.get(ref)
            except Exception as exc:
                if entry.state == "starting":
                    entry.state, entry.error = "failed", f"its sandbox could not start ({start_cause(exc)})"
                    entry.actor = None
                else:
                    self._lose(entry, f"its sandbox actor is gone ({type(exc).__name__})")
                return
            entry.state = "ready"
        entry.status_ref = entry.actor.status.remote()

    def _lose(self, entry: NodeEntry, why: str) -> None:
        entry.state, entry.error, entry.actor, entry.status_ref = "lost", why, None, None

    def _errors(self) -> str:
        return "; ".join(f"{n.short}: {n.error}" for n in self._nodes.values() if n.error)

    # -- admission ------------------------------------------------------------------------------

    def capacity(self) -> int:
        return max(0, self._capacity)

    def refusal(self) -> tuple[str, str] | None:
        """(code, sentence) when no job can start on the cluster now, else None."""
        if self.unreachable:
            return codes.CLUSTER_UNAVAILABLE, (f"The Ray cluster at {self.conf.address} cannot be reached "
                                               f"({self.unreachable}); try again later.")
        with self._lock:
            nodes = [n for n in self._nodes.values() if n.state != "lost"]
            ready = [n for n in nodes if n.state == "ready"]
        if not ready and nodes and all(n.slots == 0 for n in nodes):
            assert self.request is not None
            need = self.request.to_dict()
            return codes.CLUSTER_NO_FIT, (
                f"No node of the Ray cluster can fit one job: each job needs {need['cpus']} CPUs and "
                f"{need['memoryMb']} MB of memory beside the node's sandbox ({need['sandboxMemoryMb']} MB) "
                f"([job] threads, memory_mb, [cluster] sandbox_memory_mb); add a larger node or lower the limits.")
        if not ready:
            return codes.CLUSTER_UNAVAILABLE, ("No node of the Ray cluster has a ready sandbox now "
                                               f"({self._errors() or 'none yet'}); try again shortly.")
        return None

    def self_check(self) -> list[dict[str, Any]]:
        """The self-check probes of the first ready node (every node's are in :meth:`status`)."""
        with self._lock:
            for entry in self._nodes.values():
                if entry.state == "ready":
                    return list(entry.status.get("probes") or [])
        return []

    # -- running ------------------------------------------------------------------------------

    def run(
        self,
        target: str,
        payload: Any,
        *,
        wall_clock_seconds: float | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        cancel: threading.Event | None = None,
        job_id: str | None = None,
        connect_ports: Sequence[int] | None = None,
        write_paths: Sequence[str] = (),
        files: Mapping[str, str | PathLike[str]] | None = None,
    ) -> Outcome:
        """:meth:`sandbox.Sandbox.run` on a node of the cluster; never raises.

        ``target`` must be the one the nodes' actors were made for. ``write_paths`` only says
        whether the job may write the dataset cache: each node writes its own. ``files`` are read
        here and travel to the node as bytes."""
        job_id = job_id or uuid.uuid4().hex[:12]
        budget = wall_clock_seconds if wall_clock_seconds is not None else float(self.settings.job.wall_clock_seconds)
        if target != self.target:
            return failed(job_id, codes.INTERNAL_ERROR, f"the cluster runs {self.target}, not {target}")
        refused = self.refusal()
        if refused is not None:
            code, sentence = refused
            return failed(job_id, code, sentence[:1].lower() + sentence[1:])
        with self._lock:
            self.jobs_started += 1
        job = RemoteJob(self, job_id, budget, on_event, cancel or threading.Event())
        return job.run(dumps(payload), files, connect_ports, bool(write_paths))

    def job_placed(self, node_id: str) -> None:
        with self._lock:
            if node_id in self._nodes:
                self._nodes[node_id].running += 1

    def job_ended(self, node_id: str) -> None:
        with self._lock:
            if node_id in self._nodes:
                self._nodes[node_id].running = max(0, self._nodes[node_id].running - 1)

    def suspect(self, node_id: str | None) -> None:
        """A job's node failed it: check the node's actor now, not at the next refresh."""
        if node_id is None:
            return
        threading.Thread(target=self._safe_refresh, name="cluster-refresh-now", daemon=True).start()

    def _safe_refresh(self) -> None:
        try:
            self.refresh()
        except Exception:
            log.exception("cluster refresh failed")

    def cancel_on(self, node_id: str, job_id: str) -> bool:
        """Ask ``node_id``'s actor to stop ``job_id``; False when there is no actor to ask."""
        with self._lock:
            entry = self._nodes.get(node_id)
            actor = entry.actor if entry is not None else None
        if actor is None:
            return False
        actor.cancel.remote(job_id)
        return True

    # -- health ---------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Like :meth:`sandbox.Sandbox.status` (a ready node's template, layers, container, limits),
        plus ``cluster``: the engine, the capacity and every node with its guards and jobs."""
        with self._lock:
            nodes = list(self._nodes.values())
            started = self.jobs_started
        ready = [n for n in nodes if n.state == "ready"]
        first = (ready[0].status.get("sandbox") if ready else None) or {}
        rows = []
        failing: list[str] = []
        for n in nodes:
            sb = n.status.get("sandbox") or {}
            probes = n.status.get("probes") or []
            bad = [p.get("name") for p in probes if not p.get("ok")]
            failing += [f"{n.short}: {name}" for name in bad] if n.state == "ready" else []
            rows.append({
                "nodeId": n.short, "address": n.address, "state": n.state, "error": n.error,
                "cpus": n.resources.get("CPU", 0), "memoryMb": round(n.resources.get("memory", 0) / _MB),
                "slots": n.slots, "running": n.running,
                "templateAlive": (sb.get("template") or {}).get("alive"),
                "niceness": n.status.get("niceness"),
                "selfCheck": {"ok": not bad and bool(probes), "probes": len(probes), "failing": bad},
                "jobsStarted": n.status.get("jobsStarted", 0),  # the jobs it ran, not its self-check's probes
            })
        template = dict(first.get("template") or {})
        template["alive"] = bool(ready) and any((n.status.get("sandbox") or {}).get("template", {}).get("alive")
                                                for n in ready)
        return {
            "template": template,
            "layers": first.get("layers", []),
            "container": first.get("container", {}),
            "limits": first.get("limits", self.settings.job.model_dump()),
            "calibrated": first.get("calibrated", {}),
            "jobs_started": started,
            "cluster": {
                "engine": "ray",
                "address": self.conf.address,
                "reachable": self.unreachable is None,
                "capacity": self.capacity(),
                "maxJobs": self.conf.max_jobs,
                "request": self.request.to_dict() if self.request else None,
                "nodes": rows,
                "failing": failing,
            },
        }
