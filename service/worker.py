"""The glue between the HTTP app and the sandbox: admission, deadlines, one JSON answer per request.

    submit(raw) ─ parse pool: parse_request ──(bad)──────────────────► invalid_request
                   │
                   admission.acquire(deadline) ──(line full)─────────► busy
                   │                            ──(deadline passed)──► deadline_exceeded
                   │
                   thread: sandbox.run(engine, wall_clock = remaining budget, cancel, files)
                   │         │  (engine "ray": ClusterProcess.run → the Ray driver process → a cluster node)
                   │         └─ envelope, one JSON log line, ring of recent outcomes
                   ▼
                 JSON string (never raises; cancellation of the caller stops the child)
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from os import PathLike
from typing import TYPE_CHECKING, Any

import orjson

from sandbox import GuardLimits, Sandbox
from service import codes
from service.admission import Admission, Busy
from service.cluster.node import NodeSetup, job_guards
from service.config import Settings
from service.memory import release_free_memory
from service.request import Fetches, ParsedRequest, RequestError, parse_request
from service.results import bound_failure, completed_text, dumps, failure, from_outcome
from service.status import RECENT_SIZE, health_report, is_operator, operator_token

if TYPE_CHECKING:
    from service.cluster.driver import ClusterProcess

__all__ = ["ENGINE_TARGET", "PRELOAD", "WARMUP", "Worker"]

log = logging.getLogger("service.requests")

ENGINE_TARGET = "executor.entry:run"
PRELOAD = ["executor.preload"]
"""Modules the warm template imports once, so a job starts with them loaded."""
WARMUP = "executor.warmup:run"
"""What the template runs once at start-up, so every job child starts with first-call costs paid."""

ProgressCallback = Callable[[dict[str, Any]], None]


class Worker:
    """Runs workflows in the sandbox under the ``[queue]`` and ``[request]`` limits."""

    def __init__(
        self,
        settings: Settings,
        *,
        target: str = ENGINE_TARGET,
        preload: list[str] | None = None,
        warmup: str | None = None,
        self_check: bool = True,
    ) -> None:
        self.settings = settings
        self.target = target
        self.preload = list(PRELOAD if preload is None else preload)
        default = WARMUP if target == ENGINE_TARGET and settings.queue.warm_up else ""
        self.warmup = default if warmup is None else warmup
        self.run_self_check = self_check
        self.sandbox: Sandbox | None = None
        """What runs the jobs: this machine's Sandbox, or the RayCluster (same ``run``/``status``/``close``)."""
        self.cluster: ClusterProcess | None = None
        """The Ray engine's cluster (``[cluster] engine = "ray"``), else None."""
        self.self_check: list[dict[str, Any]] = []
        self.admission = Admission(settings.queue.max_concurrent_jobs, settings.queue.max_waiting)
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_SIZE)
        self.counts: dict[str, int] = {}
        self.started_at = time.time()
        on_ray = settings.cluster.engine == "ray"
        jobs = max(settings.queue.max_concurrent_jobs, settings.cluster.max_jobs) if on_ray else settings.queue.max_concurrent_jobs
        self._pool = ThreadPoolExecutor(jobs, thread_name_prefix="job")
        self._loop: asyncio.AbstractEventLoop | None = None
        # Request bodies are decoded here, off the event loop; one parse at a time (by default)
        # bounds the memory a burst of large bodies can take while it is decoded.
        self._parse_pool = ThreadPoolExecutor(settings.server.parse_threads, thread_name_prefix="parse")
        self._lock = threading.Lock()
        self._engine_limits = orjson.Fragment(orjson.dumps(settings.engine_limits()))
        """The same for every job: encoded once."""
        self._trim_pending = threading.Event()
        self._cache: str | None = None
        """The dataset cache jobs share (``[download] cache_dir`` resolved), once started."""
        self._operator_token = operator_token()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Worker:
        """Start the warm template and run the guard self-check; raises if the template cannot start.

        With ``[cluster] engine = "ray"``: connect to the cluster and start a sandbox actor on each
        node instead (service/cluster/driver.py, ray_engine.py); raises ClusterStartError when it cannot."""
        setup = NodeSetup(self.settings, self.preload, self.warmup, self.run_self_check)
        if self.settings.cluster.engine == "ray":
            return self._start_cluster(setup)
        sb = setup.build(self._guards())
        sb.start()
        self.sandbox = sb
        self.self_check = setup.self_check(sb)
        return self

    def _start_cluster(self, setup: NodeSetup) -> Worker:
        from service.cluster.driver import ClusterProcess  # a clear ClusterStartError without ray

        # Each node resolves and creates its own dataset cache; the parent only says "write it".
        self._cache = str(self.settings.download.cache_path().absolute())
        # Ray's driver runs in a child process (driver.py): a dead head ends that one, never this one.
        cluster = ClusterProcess(setup, target=self.target, on_capacity=self._set_capacity)
        cluster.start()
        self.cluster = cluster
        self.sandbox = cluster  # type: ignore[assignment]  # the same run/status/close
        self.self_check = cluster.self_check()
        return self

    def _set_capacity(self, jobs: int) -> None:
        """The cluster's capacity changed (nodes came or went): admission follows, from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self.admission.resize(jobs)
            return
        try:
            loop.call_soon_threadsafe(self.admission.resize, jobs)
        except RuntimeError:  # the loop is closing
            pass

    def _guards(self) -> GuardLimits:
        """``[guards]``, with the dataset cache readable by every job (created now if need be)."""
        guards, self._cache = job_guards(self.settings)
        return guards

    def access(self, fetches: Fetches) -> dict[str, Any]:
        """What a job may reach beyond its own dir: TCP ports only when it downloads (``[guards]
        connect_ports`` and any port written in its URLs), the dataset cache to write only when it
        fetches a sample. Applied where ``[guards] landlock_net`` / ``landlock_fs`` are on."""
        ports = sorted(set(self.settings.guards.connect_ports) | fetches.ports) if fetches.any else []
        writes = [self._cache] if fetches.sample and self._cache else []
        return {"connect_ports": ports, "write_paths": writes}

    def close(self) -> None:
        """Stop the template and the job threads (running jobs are left to finish or time out)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._parse_pool.shutdown(wait=False, cancel_futures=True)
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None

    def health(self, *, operator: bool = False) -> dict[str, Any]:
        """Everything /health and the UI's health tab show (``operator``: with request details)."""
        return health_report(self, operator=operator)

    def is_operator(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries the operator's ``WORKER_HEALTH_TOKEN``."""
        return is_operator(authorization, self._operator_token)

    def outcomes(self) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """A copy of the recent outcomes (newest first) and the count of answers by code."""
        with self._lock:
            return list(self.recent), dict(self.counts)

    # -- requests -----------------------------------------------------------------------------

    async def submit(
        self,
        raw: str | bytes | dict[str, Any] | None,
        *,
        on_progress: ProgressCallback | None = None,
        request_id: str | None = None,
        cancel: threading.Event | None = None,
        files: Mapping[str, str | PathLike[str]] | None = None,
    ) -> str:
        """Run one request and answer with one JSON result string. Never raises (except cancellation).

        When the calling task is cancelled (client gone), the job's child is stopped before the
        slot is given back; setting ``cancel`` does the same from outside.

        ``files`` (internal: the page's uploads, never anything a client sent) maps a dataset node
        id to a file the caller has checked (``service.uploads.uploaded_file``): the file is copied
        into the job's dir (``Sandbox.run(files=)``) and the engine reads that node's data from it,
        as CSV under the ``[data]`` caps; the payload says which file is whose (``payload["files"]``),
        outside the workflow. The API route never passes it.
        """
        arrival = time.monotonic()
        rid = request_id or uuid.uuid4().hex[:12]
        cancel = cancel or threading.Event()
        workflow: ParsedRequest | None = None
        job_started = False
        try:
            try:
                loop = asyncio.get_running_loop()
                workflow = await loop.run_in_executor(self._parse_pool, _parse, raw, self.settings.request)
                raw = None  # the parent keeps the checked bytes only, not the client's text
            except RequestError as exc:
                return self._answer(rid, None, failure(codes.INVALID_REQUEST, _sentence(exc.message), **({"limit": exc.limit} if exc.limit else {})), arrival)
            if self.sandbox is None:
                return self._answer(rid, workflow, failure(codes.INTERNAL_ERROR, "The worker is not started yet; try again shortly."), arrival)
            if self.cluster is not None:
                self._loop = loop
                refused = self.cluster.refusal()
                if refused is not None:  # cluster_no_fit, cluster_unavailable: no job could start
                    return self._answer(rid, workflow, failure(*refused), arrival)
            deadline = self.settings.queue.request_deadline_seconds
            try:
                granted = await self.admission.acquire(deadline - (time.monotonic() - arrival))
            except Busy:
                return self._answer(rid, workflow, self._busy(), arrival)
            if not granted:
                return self._answer(rid, workflow, self._expired(arrival), arrival)
            queue_wait = time.monotonic() - arrival
            remaining = deadline - queue_wait
            job_started = True
            fut = loop.run_in_executor(self._pool, self._run_job, rid, workflow, arrival, remaining, on_progress, cancel,
                                       files)
            fut.add_done_callback(lambda _f: self.admission.release())
            fut.add_done_callback(lambda _f: self._trim_later(loop))
            try:
                return await asyncio.shield(fut)
            except asyncio.CancelledError:
                cancel.set()  # the child is stopped (the thread logs it); the slot comes back when it ends
                raise
        except asyncio.CancelledError:
            if workflow is not None and not job_started:
                # Cancelled before a job started (client gone while waiting): log it, keep no slot.
                self._answer(rid, workflow, _cancelled(), arrival)
            raise
        except Exception as exc:  # the contract: one JSON answer, whatever happened
            logging.getLogger(__name__).exception("request %s failed inside the worker", rid)
            return self._answer(rid, workflow, failure(codes.INTERNAL_ERROR, f"The worker failed: {exc!r}."), arrival)

    def _trim_later(self, loop: asyncio.AbstractEventLoop) -> None:
        """Give the heap's free pages back to the system soon after a job, off its answer's path
        (malloc_trim takes a few ms and locks the arenas): once, for however many jobs end meanwhile."""
        if self._trim_pending.is_set() or loop.is_closed():
            return
        self._trim_pending.set()

        def trim() -> None:
            self._trim_pending.clear()
            release_free_memory()

        try:
            loop.call_later(_TRIM_DELAY_SECONDS, lambda: loop.run_in_executor(self._parse_pool, trim))
        except RuntimeError:  # the loop is closing
            self._trim_pending.clear()

    def _busy(self) -> dict[str, Any]:
        q = self.settings.queue
        return failure(
            codes.BUSY,
            f"The worker is busy: {self.admission.running} jobs are running and {self.admission.waiting} are waiting "
            f"({self._capacity_text()}, max_waiting = {q.max_waiting}); try again in a few seconds.",
            limit={"name": "max_waiting", "value": q.max_waiting},
            running=self.admission.running,
            waiting=self.admission.waiting,
        )

    def _capacity_text(self) -> str:
        if self.cluster is None:
            return f"max_concurrent_jobs = {self.settings.queue.max_concurrent_jobs}"
        return f"the cluster's capacity = {self.admission.max_running} jobs"

    def _expired(self, arrival: float) -> dict[str, Any]:
        q = self.settings.queue
        waited = time.monotonic() - arrival
        return failure(
            codes.DEADLINE_EXCEEDED,
            f"The request waited {waited:.1f} s for a free slot and its deadline passed before a job could start "
            f"(request_deadline_seconds = {q.request_deadline_seconds}); try again later.",
            limit={"name": "request_deadline_seconds", "value": q.request_deadline_seconds},
            queueWaitSeconds=round(waited, 3),
        )

    def _run_job(
        self,
        rid: str,
        workflow: ParsedRequest,
        arrival: float,
        remaining: float,
        on_progress: ProgressCallback | None,
        cancel: threading.Event,
        files: Mapping[str, str | PathLike[str]] | None = None,
    ) -> str:
        """Blocking: one sandbox run, its envelope, its log line. Runs in a job thread."""
        assert self.sandbox is not None
        queue_wait = time.monotonic() - arrival
        payload: dict[str, Any] = {
            "workflow": orjson.Fragment(workflow.body),
            "limits": self._engine_limits,
            "fault_injection": self.settings.testing.fault_injection,
            "request_id": rid,
        }
        job_files = _job_files(files)
        if job_files:  # which file is whose, outside the client's workflow
            payload["files"] = {node: name for node, (name, _source) in job_files.items()}
        on_event = _progress_filter(on_progress) if on_progress else None
        out = self.sandbox.run(self.target, payload, wall_clock_seconds=remaining, on_event=on_event, cancel=cancel,
                               job_id=rid, files={name: source for name, source in job_files.values()} or None,
                               **self.access(workflow.fetches))
        usage = out.usage.to_dict()
        text = completed_text(out)  # a completed envelope goes out as the job sent it
        if text is not None:
            return self._answer(rid, workflow, {"status": "completed"}, arrival, usage=usage, queue_wait=queue_wait,
                                pids=out.pids, text=text)
        envelope = from_outcome(out, self.settings.job, budget=remaining)
        return self._answer(rid, workflow, envelope, arrival, usage=usage, queue_wait=queue_wait, pids=out.pids)

    def _answer(
        self,
        rid: str,
        workflow: ParsedRequest | None,
        envelope: dict[str, Any],
        arrival: float,
        *,
        usage: dict[str, Any] | None = None,
        queue_wait: float = 0.0,
        pids: tuple[int, ...] = (),
        text: str | None = None,
    ) -> str:
        """Bound a failure, serialise the envelope, write the request's one log line, remember the outcome.

        ``text``: the answer already serialised (a completed envelope passed through undecoded);
        ``envelope`` then only has to summarise it for the log line.
        """
        envelope = bound_failure(envelope, self.settings.request)
        if text is None:
            text = dumps(envelope)
        try:
            code = envelope.get("errorCode") or envelope.get("status") or "unknown"
            record = {
                "event": "request",
                "requestId": rid,
                "code": code,
                "status": envelope.get("status"),
                "seconds": round(time.monotonic() - arrival, 3),
                "queueWaitSeconds": round(queue_wait, 3),
                "usage": usage,
                "workflow": workflow.summary if workflow is not None else {},
                "resultBytes": len(text),
                "pids": list(pids),
            }
            if envelope.get("status") == "failed":
                record["error"] = str(envelope.get("error"))[:300]
            with self._lock:
                self.counts[code] = self.counts.get(code, 0) + 1
                self.recent.appendleft({**record, "at": time.strftime("%Y-%m-%dT%H:%M:%S")})
            log.info(dumps(record))
        except Exception:  # logging must never cost the answer
            logging.getLogger(__name__).exception("could not log request %s", rid)
        return text


_TRIM_DELAY_SECONDS = 0.5
"""After a job ends, its answer goes out before the parent's heap is trimmed."""

_LARGE_BODY = 1 << 20
"""Bytes of request text past which the parse thread trims the heap after decoding it."""


def _parse(raw: Any, caps: Any) -> ParsedRequest:
    """:func:`parse_request` in the parse pool; a large body's freed memory goes back to the system."""
    try:
        return parse_request(raw, caps)
    finally:
        if isinstance(raw, (str, bytes)) and len(raw) > _LARGE_BODY:
            release_free_memory()


def _job_files(files: Mapping[str, Any] | None) -> dict[Any, tuple[str, Any]]:
    """Dataset node id → (the file's plain name in the job's dir, its source path).

    The names are the worker's own (``upload-0.csv``...), never derived from a node id or a path,
    so the sandbox's name check never depends on what a workflow calls its nodes.
    """
    return {node: (f"upload-{i}.csv", source) for i, (node, source) in enumerate((files or {}).items())}


def _cancelled() -> dict[str, Any]:
    return failure("cancelled", "The client disconnected before the job started; the request was dropped.")


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _progress_filter(callback: ProgressCallback) -> Callable[[dict[str, Any]], None]:
    def on_event(event: dict[str, Any]) -> None:
        if isinstance(event, dict) and event.get("type") == "progress":
            try:
                callback(event)
            except Exception:  # a broken progress bar must not break the job
                logging.getLogger(__name__).debug("progress callback failed", exc_info=True)

    return on_event
