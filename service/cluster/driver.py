"""The Ray engine's driver in a child process of its own: the app never hosts Ray's driver.

    app process (UI, API, admission)                       driver process (python -m service.cluster.driver)
    ClusterProcess.run ── ("run", job, payload) ─────────►  RayCluster.run (ray_engine.py) on a thread
                      ◄── ("event", job, e) ... ("outcome", job, wire) ──
    ClusterProcess.refusal / status / capacity ◄── ("state", ...) pushed every second (last known state)

Why: Ray's driver (its core worker, in whatever process calls ray.init) ends its process when the
cluster's head (GCS) is gone longer than ``gcs_rpc_server_reconnect_timeout_s``, and at once when
the raylet it uses dies ("The connection to the plasma store is failed. Terminate the process"):
nothing in Python can stop that. So that process is this child, never the app. When it ends, the
app answers its running jobs and every new request ``cluster_unavailable`` (never a dropped
connection), and starts a new driver process every ``[cluster] restart_seconds`` until the cluster
answers again. Nothing here imports ray: only the child does (ray_engine).

The pipe carries pickled plain data between two processes of this worker (a socketpair, never a
port). The child ends when the pipe closes (the app ended); Ray then kills the child's actors.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from os import PathLike
from typing import Any

from sandbox import Outcome
from sandbox.protocol import dumps
from service import codes
from service.cluster.errors import ClusterStartError
from service.cluster.node import NodeSetup
from service.cluster.wire import failed, outcome_from_wire, outcome_to_wire
from service.config import REPO_ROOT

__all__ = ["ClusterProcess"]

log = logging.getLogger("service.cluster")

_NO_RAY = ('[cluster] engine = "ray" needs the ray package, which is not installed here (ray): '
           'pip install -r requirements-ray.txt, or set engine = "local"')
_STATE_EVERY = 1.0
"""Seconds between two state reports of the driver process (capacity, refusal, health)."""
_START_MARGIN = 30.0
"""Seconds the app waits for a driver process's first report past its own limits."""
_STATE_DUMP = b"[state-dump]"
"""Ray's periodic debug dump of its event loops: dropped from the app's log (Ray's own log files keep it)."""


class ClusterProcess:
    """The Ray engine as the app sees it: ``run``/``status``/``close`` like a Sandbox, ``refusal``
    and ``capacity`` for admission; the Ray driver itself runs in a child process."""

    def __init__(self, setup: NodeSetup, *, target: str, on_capacity: Callable[[int], None]) -> None:
        self.setup = setup
        self.settings = setup.settings
        self.conf = setup.settings.cluster
        self.target = target
        self._on_capacity = on_capacity
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._conn: Connection | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._generation = 0
        self._jobs: dict[str, queue.Queue[tuple[Any, ...]]] = {}
        self._state: dict[str, Any] = {}
        self._down: str | None = "the Ray driver process has not started yet"
        """Why no driver process serves now, else None."""
        self._ready = threading.Event()
        self._start_error: str | None = None
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._capacity = -1
        self.restarts = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> ClusterProcess:
        """Start the driver process and wait for its first ready node (raises ClusterStartError)."""
        if importlib.util.find_spec("ray") is None:
            raise ClusterStartError(_NO_RAY)
        error = self._spawn()
        if error is not None:
            self._kill()
            raise ClusterStartError(error)
        self._supervisor = threading.Thread(target=self._supervise, name="cluster-driver", daemon=True)
        self._supervisor.start()
        return self

    def _spawn(self) -> str | None:
        """One driver process, up to its first report: None once it serves, else why it does not."""
        mine, theirs = socket.socketpair()
        env = {**os.environ, "RAY_gcs_rpc_server_reconnect_timeout_s": str(self.conf.gcs_reconnect_timeout_seconds),
               "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.cluster.driver", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), cwd=str(REPO_ROOT), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        theirs.close()
        conn = Connection(mine.detach())
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._proc, self._conn = proc, conn
            self._ready.clear()
            self._start_error = None
        threading.Thread(target=_filter_stderr, args=(proc,), name="cluster-driver-log", daemon=True).start()
        threading.Thread(target=self._read, args=(conn, generation), name="cluster-driver-read", daemon=True).start()
        try:
            self._send(("init", self.setup, self.target))
        except OSError as exc:
            return f"the Ray driver process did not start ({type(exc).__name__})"
        limit = self.conf.connect_timeout_seconds + self.conf.node_ready_seconds + _START_MARGIN
        if not self._ready.wait(limit):
            return (f"the Ray driver process for {self.conf.address} did not report within {limit:g} s "
                    "([cluster] connect_timeout_seconds + node_ready_seconds)")
        return self._start_error

    def _read(self, conn: Connection, generation: int) -> None:
        """Everything the driver process sends, until its pipe closes (it ended)."""
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a message that does not unpickle: the process is not ours to trust
                log.exception("unreadable message from the Ray driver process")
                break
            kind = msg[0]
            if kind in ("event", "outcome"):
                with self._lock:
                    box = self._jobs.get(msg[1])
                if box is not None:
                    box.put((kind, msg[2]))
            elif kind in ("ready", "state"):
                self._take_state(msg[1], generation, ready=kind == "ready")
            elif kind == "start_error":
                self._start_error = str(msg[1])
                self._ready.set()
        self._gone(generation)

    def _take_state(self, state: dict[str, Any], generation: int, *, ready: bool) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._state = state
            if ready:
                if self._down is not None and self.restarts:
                    log.warning("the Ray cluster at %s answers again: serving jobs on it", self.conf.address)
                self._down = None
        if ready:
            self._ready.set()
        capacity = int(state.get("capacity", 0))
        if capacity != self._capacity:
            self._capacity = capacity
            self._on_capacity(capacity)

    def _gone(self, generation: int) -> None:
        """The driver process ended: its jobs are answered ``cluster_unavailable``, new requests too."""
        with self._lock:
            if generation != self._generation:
                return
            proc = self._proc
        try:
            code = proc.wait(timeout=10) if proc is not None else None
        except subprocess.TimeoutExpired:  # its pipe closed but it lingers: it is ended for good
            proc.kill()  # type: ignore[union-attr]
            code = None
        with self._lock:
            if generation != self._generation:
                return
            why = f"the worker's Ray driver process ended (exit code {code})"
            was_up = self._down is None
            self._down = why
            boxes = list(self._jobs.values())
        self._ready.set()
        for box in boxes:
            box.put(("gone", why))
        if was_up and not self._stop.is_set():
            log.error("%s: the Ray cluster at %s is unreachable (its head or this machine's raylet is gone?); "
                      "answering cluster_unavailable, %d running job(s) included; a new driver process starts "
                      "every %g s ([cluster] restart_seconds)", why, self.conf.address, len(boxes),
                      self.conf.restart_seconds)

    def _supervise(self) -> None:
        """While the app runs: a driver process that ended is replaced, every restart_seconds."""
        while not self._stop.wait(0.5):
            with self._lock:
                down = self._down
            if down is None:
                continue
            if self._stop.wait(self.conf.restart_seconds):
                return
            self._kill()
            self.restarts += 1
            error = self._spawn()
            if error is not None:
                with self._lock:
                    self._down = f"the Ray cluster at {self.conf.address} cannot be used now: {error}"
                log.warning("Ray driver process %d did not start: %s", self.restarts, error)
                self._kill()

    def _kill(self) -> None:
        with self._lock:
            proc, conn = self._proc, self._conn
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass
        if proc is not None and proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.warning("the Ray driver process %d did not end after SIGKILL", proc.pid)

    def close(self) -> None:
        """Stop the driver process (it kills this worker's actors, their templates and jobs)."""
        self._stop.set()
        with self._lock:
            proc = self._proc
        try:
            self._send(("close",))
        except OSError:
            pass
        if proc is not None:
            try:
                proc.wait(timeout=self.conf.refresh_seconds + self.conf.gcs_timeout_seconds + 10)
            except subprocess.TimeoutExpired:
                pass
        self._kill()

    def _send(self, msg: tuple[Any, ...]) -> None:
        with self._lock:
            conn = self._conn
        if conn is None:
            raise OSError("no driver process")
        with self._send_lock:
            conn.send(msg)

    # -- admission and health (the last known state: never a call to the cluster) -------------

    def capacity(self) -> int:
        return max(0, self._capacity)

    def refusal(self) -> tuple[str, str] | None:
        """(code, sentence) when no job can start on the cluster now, else None."""
        with self._lock:
            down, state = self._down, self._state
        if down is not None:
            return codes.CLUSTER_UNAVAILABLE, (
                f"The Ray cluster at {self.conf.address} cannot be reached now ({down}); the worker tries again "
                f"every {self.conf.restart_seconds:g} s: try again later.")
        refused = state.get("refusal")
        return (str(refused[0]), str(refused[1])) if refused else None

    def self_check(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._state.get("self_check") or [])

    def status(self) -> dict[str, Any]:
        """The driver process's last :meth:`RayCluster.status`, with the driver's own state; while no
        driver process serves, the cluster is unreachable and no template is alive (status ``down``)."""
        with self._lock:
            down, state, proc = self._down, self._state, self._proc
        status = dict(state.get("status") or {"limits": self.settings.job.model_dump()})
        cluster = dict(status.get("cluster") or {
            "engine": "ray", "address": self.conf.address, "capacity": 0, "maxJobs": self.conf.max_jobs,
            "request": None, "nodes": [], "failing": []})
        cluster["driver"] = {"alive": down is None, "pid": proc.pid if proc is not None else None,
                             "restarts": self.restarts, "error": down}
        if down is not None:
            cluster["reachable"] = False
            status["template"] = {**(status.get("template") or {}), "alive": False}
        status["cluster"] = cluster
        return status

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
        """:meth:`RayCluster.run` in the driver process; never raises, and answers within the job's
        budget + ``answer_grace_seconds`` + ``cancel_seconds`` whatever the driver process does."""
        job_id = job_id or uuid.uuid4().hex[:12]
        started = time.monotonic()
        budget = wall_clock_seconds if wall_clock_seconds is not None else float(self.settings.job.wall_clock_seconds)
        refused = self.refusal()
        if refused is not None:
            code, sentence = refused
            return failed(job_id, code, sentence[:1].lower() + sentence[1:].rstrip("."))
        box: queue.Queue[tuple[Any, ...]] = queue.Queue()
        with self._lock:
            self._jobs[job_id] = box
        try:
            try:
                self._send(("run", job_id, target, dumps(payload), budget,
                            {str(k): str(v) for k, v in (files or {}).items()},
                            None if connect_ports is None else list(connect_ports), list(write_paths)))
            except (OSError, ValueError) as exc:
                return failed(job_id, codes.CLUSTER_UNAVAILABLE, f"the job could not be handed to the worker's Ray "
                              f"driver process ({type(exc).__name__}); try again later")
            limit = started + budget + self.conf.answer_grace_seconds + self.conf.cancel_seconds
            poll = self.conf.poll_ms / 1000
            cancel_sent = False
            while True:
                if cancel is not None and cancel.is_set() and not cancel_sent:
                    cancel_sent = True
                    self._quiet_send(("cancel", job_id))
                try:
                    kind, data = box.get(timeout=poll)
                except queue.Empty:
                    if time.monotonic() > limit:
                        self._quiet_send(("cancel", job_id))
                        return failed(job_id, codes.CLUSTER_UNAVAILABLE, (
                            f"the worker's Ray driver process gave no answer for the job within its {budget:.1f} s "
                            f"budget + [cluster] answer_grace_seconds + cancel_seconds; the job was stopped: "
                            "send the request again"), wall_seconds=time.monotonic() - started)
                    continue
                if kind == "outcome":
                    return outcome_from_wire(data)
                if kind == "gone":
                    return failed(job_id, codes.CLUSTER_UNAVAILABLE, (
                        f"the connection to the Ray cluster at {self.conf.address} was lost while the job ran "
                        f"({data}); its result is lost: send the request again"), wall_seconds=time.monotonic() - started)
                if kind == "event" and on_event is not None and isinstance(data, dict):
                    try:
                        on_event(data)
                    except Exception:  # a broken progress bar must not break the job
                        log.debug("on_event failed", exc_info=True)
        finally:
            with self._lock:
                self._jobs.pop(job_id, None)

    def _quiet_send(self, msg: tuple[Any, ...]) -> None:
        try:
            self._send(msg)
        except (OSError, ValueError):
            pass


def _filter_stderr(proc: subprocess.Popen[bytes]) -> None:
    """The driver process's stderr on to the app's, less Ray's multi-line state dumps."""
    assert proc.stderr is not None
    dropped = 0
    out = sys.stderr.buffer if hasattr(sys.stderr, "buffer") else None
    for line in proc.stderr:
        if _STATE_DUMP in line:
            dropped += 1
            continue
        if dropped:
            log.info("the Ray driver printed a state dump of %d lines (dropped here; in Ray's session logs)", dropped)
            dropped = 0
        try:
            if out is not None:
                out.write(line)
                out.flush()
        except (OSError, ValueError):
            pass


# -- the driver process ----------------------------------------------------------------------


def _state(cluster: Any) -> dict[str, Any]:
    return {"capacity": cluster.capacity(), "refusal": cluster.refusal(), "status": cluster.status(),
            "self_check": cluster.self_check()}


def main(argv: list[str]) -> int:
    """The driver process: connect to the cluster (on its main thread), then serve the app's pipe."""
    conn = Connection(int(argv[1]))
    lock = threading.Lock()

    def send(msg: tuple[Any, ...]) -> None:
        with lock:
            conn.send(msg)

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s (ray driver): %(message)s")
    try:
        _, setup, target = conn.recv()
    except (EOFError, OSError):
        return 0
    try:
        from service.cluster.ray_engine import RayCluster

        cluster = RayCluster(setup, target=target, on_capacity=lambda _n: None).start()
    except ClusterStartError as exc:
        send(("start_error", str(exc)))
        return 2
    except Exception as exc:  # said as one line, never a traceback in the app's answer
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        send(("start_error", f"the Ray engine could not start: {type(exc).__name__}: {first}"))
        return 2
    send(("ready", _state(cluster)))
    stop = threading.Event()
    cancels: dict[str, threading.Event] = {}

    def report() -> None:
        while not stop.wait(_STATE_EVERY):
            try:
                send(("state", _state(cluster)))
            except (OSError, ValueError):
                return
            except Exception:
                logging.getLogger("service.cluster").exception("state report failed")

    def job(job_id: str, target: str, body: bytes, budget: float, files: dict[str, str],
            connect_ports: list[int] | None, write_paths: list[str], cancel: threading.Event) -> None:
        import orjson

        try:
            out = cluster.run(target, orjson.Fragment(body), wall_clock_seconds=budget,
                              on_event=lambda e: send(("event", job_id, e)), cancel=cancel, job_id=job_id,
                              connect_ports=connect_ports, write_paths=write_paths, files=files or None)
            # the state first: when the app has the answer, its health already counts the job ended
            send(("state", _state(cluster)))
            send(("outcome", job_id, outcome_to_wire(out)))
        except (OSError, ValueError):  # the app is gone
            pass
        finally:
            cancels.pop(job_id, None)

    threading.Thread(target=report, name="state", daemon=True).start()
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg[0] == "run":
            cancel = cancels[msg[1]] = threading.Event()
            threading.Thread(target=job, args=(*msg[1:], cancel), name=f"job-{msg[1]}", daemon=True).start()
        elif msg[0] == "cancel":
            event = cancels.get(msg[1])
            if event is not None:
                event.set()
        elif msg[0] == "close":
            break
    stop.set()
    for event in list(cancels.values()):
        event.set()
    cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
