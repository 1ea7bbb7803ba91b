"""HTTP glue: the ``predict`` endpoint function, legacy ``/call/...`` routes, ``/health``, the server.

Legacy routes: the platform backend calls ``/call/predict`` (Gradio 4); Gradio 5+ serves
``/gradio_api/call/predict``. :class:`LegacyCallRoutes` rewrites the path of every request under
``/call/`` to ``/gradio_api/call/`` before routing, so both reach the same Gradio handler and
stream the same bytes (no redirect: the backend's client does not follow them).

Disconnect: when a client's SSE stream closes, Gradio marks the running event dead
(``Event.alive = False`` in ``Queue.clean_events``) but lets the function run on. The endpoint
function therefore watches its own event and sets the job's ``cancel`` event when it dies, which
makes the sandbox stop the child at once (code ``cancelled``).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import fastapi
import gradio as gr
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from service import gradio_compat
from service.guard import BodyGuard
from service.progress import ACTIVITIES
from service.results import dumps, failure
from service.uploads import upload_root
from service.worker import Worker

__all__ = [
    "LegacyCallRoutes",
    "StopButtons",
    "build_app",
    "make_predict",
    "progress_bridge",
    "run_watched",
    "server_address",
    "watch_disconnect",
]

_LEGACY_PREFIX = "/call/"
_CURRENT_PREFIX = "/gradio_api/call/"
DISCONNECT_POLL_SECONDS = 0.2
"""How often a running request checks whether its client is still connected."""


class LegacyCallRoutes:
    """ASGI middleware: serve ``/call/<api>[/<event_id>]`` exactly as ``/gradio_api/call/...``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith(_LEGACY_PREFIX):
            path = _CURRENT_PREFIX + scope["path"][len(_LEGACY_PREFIX):]
            scope = {**scope, "path": path, "raw_path": path.encode("utf-8")}
        await self.app(scope, receive, send)


def _find_event(blocks: gr.Blocks, request: gr.Request | None) -> Any:
    """The Gradio queue event running this request (matched by its HTTP request or session)."""
    if request is None:
        return None
    http_request = request.request
    session = request.session_hash
    for event in gradio_compat.active_events(blocks):
        if (http_request is not None and event.request is http_request) or (session and event.session_hash == session):
            return event
    return None


async def watch_disconnect(
    blocks: gr.Blocks,
    request: gr.Request | None,
    cancel: threading.Event,
    task: asyncio.Task[str],
    on_tick: Callable[[], None] | None = None,
) -> None:
    """Once Gradio marks this request's event dead (client gone): stop its job, drop it from the line.

    ``on_tick`` runs at every poll (the page's place-in-line and Stop checks).
    """
    event = None
    while not task.done():
        await asyncio.sleep(DISCONNECT_POLL_SECONDS)
        if on_tick is not None:
            on_tick()
        event = event or _find_event(blocks, request)
        if event is not None and not event.alive:
            cancel.set()
            task.cancel()
            return


async def run_watched(
    worker: Worker,
    blocks: gr.Blocks,
    raw: Any,
    request: gr.Request | None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    *,
    cancel: threading.Event | None = None,
    on_place: Callable[[int | None, int], None] | None = None,
    files: Mapping[str, str] | None = None,
) -> str:
    """``worker.submit`` with a watcher that stops the job when the client disconnects.

    ``files``: the page's checked uploads, passed to the job by reference (``Worker.submit(files=)``);
    the API route never passes any.

    ``cancel``: setting it stops the request (a Stop button): a running job is stopped by the
    sandbox and answers ``cancelled`` once its processes are gone; a request still waiting for a
    slot leaves the line. ``on_place(place, running)`` gets the request's place in the line
    (None once it is not waiting) and the number of running jobs at every watcher poll.
    """
    cancel = cancel or threading.Event()
    task = asyncio.ensure_future(worker.submit(raw, on_progress=on_progress, cancel=cancel, files=files))

    def tick() -> None:
        place = worker.admission.place(task)  # type: ignore[arg-type]
        if on_place is not None:
            on_place(place, worker.admission.running)
        if place is not None and cancel.is_set():
            task.cancel()  # stopped while waiting: leave the line (the watcher's answer is ``cancelled``)

    watcher = asyncio.create_task(watch_disconnect(blocks, request, cancel, task, tick))
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if cancel.is_set() and current is not None and not current.cancelling():
            # Nobody is listening any more (or Stop was pressed); Gradio wants a value, never an exception.
            return dumps(failure("cancelled", "The client disconnected; the job was stopped."))
        raise
    finally:
        watcher.cancel()
        gradio_compat.result_finished(blocks, request.session_hash if request is not None else None)


def progress_bridge(progress: Any) -> Callable[[dict[str, Any]], None]:
    """A job-thread callback that moves an engine progress event onto a ``gr.Progress`` bar.

    The bar moves inside a step when the event has ``fraction`` (0..1 within the node) and says
    its ``detail`` (``"fold 2 of 5"``). ``gr.Progress`` finds its event through context
    variables, so the update is scheduled on the event loop inside the handler's own context.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()

    def update(event: dict[str, Any]) -> None:
        index, total = int(event.get("index", 0)), max(1, int(event.get("total", 1)))
        fraction = event.get("fraction")
        inside = float(fraction) if isinstance(fraction, (int, float)) and 0 <= fraction <= 1 else 0.0
        desc = ACTIVITIES.get(str(event.get("nodeType")), "Working")
        if event.get("detail"):
            desc += f" · {str(event['detail'])[:80]}"
        desc += f" · step {index + 1} of {total}"
        loop.call_soon_threadsafe(lambda: progress((index + inside) / total, desc=desc), context=context)

    return update


class StopButtons:
    """The page's running jobs that a Stop button may stop, one per session and panel.

    The run handler holds ``running(key)`` while its job runs and passes the event to
    :func:`run_watched` as ``cancel``; the Stop button's handler calls ``stop(key)``. Used on the
    event loop only.
    """

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}

    @staticmethod
    def key(request: gr.Request | None, panel: str) -> str | None:
        session = request.session_hash if request is not None else None
        return f"{session}:{panel}" if session else None

    @contextmanager
    def running(self, key: str | None) -> Iterator[threading.Event]:
        event = threading.Event()
        if key is not None:
            self._events[key] = event
        try:
            yield event
        finally:
            if key is not None and self._events.get(key) is event:
                del self._events[key]

    def stop(self, key: str | None) -> bool:
        """Stop the job running under ``key``; False when none runs."""
        event = self._events.get(key) if key is not None else None
        if event is None:
            return False
        event.set()
        return True


def make_predict(worker: Worker, blocks: gr.Blocks) -> Callable[[str, gr.Request], Awaitable[str]]:
    """The API endpoint function: one string in, one JSON string out, never raises.

    Register it with ``preprocess=False``: the function then gets ``data[0]`` as the client sent
    it, a JSON string or, from a client that sends the object itself, that object. (``gr.Textbox``
    would hand an object on as its Python ``repr``, which only a Python parser could read; the
    worker reads JSON only.)
    """

    async def predict(workflow: Any, request: gr.Request) -> str:
        return await run_watched(worker, blocks, workflow, request)

    return predict


def build_app(worker: Worker, blocks: gr.Blocks, **mount_kwargs: Any) -> fastapi.FastAPI:
    """A FastAPI app with ``/health``, the legacy routes, and the Gradio app mounted at ``/``.

    Every request passes :class:`~service.guard.BodyGuard` first (body size, time and memory,
    client file paths), then the legacy-path rewrite.
    """
    settings = worker.settings
    app = fastapi.FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    def health(authorization: str | None = fastapi.Header(None)) -> fastapi.Response:  # noqa: B008
        report = worker.health(operator=worker.is_operator(authorization))
        return fastapi.Response(orjson.dumps(report, default=str), media_type="application/json")

    app.add_middleware(LegacyCallRoutes)
    app.add_middleware(BodyGuard, settings=settings, upload_root=upload_root)
    # Admission is the worker's job: let every event through Gradio's queue at once, so no
    # request is ever answered with Gradio's 503 or parked behind another.
    q = settings.queue
    threads = max(40, 4 * (q.max_concurrent_jobs + q.max_waiting) + 8)
    # Gradio keeps per-session UI state (a copy of the whole UI config) for every session, and
    # every /call request is a new session: cap it, or the parent grows ~150 KB per request.
    blocks.state_session_capacity = q.max_ui_sessions
    blocks.queue(max_size=None, default_concurrency_limit=None)
    gradio_compat.check_compatible(blocks)
    gradio_compat.set_queue_threads(blocks, threads)
    mount_kwargs.setdefault("max_file_size", settings.server.max_upload_mb * 1024 * 1024)
    # Fewer routes for a client to reach: no run history (it records every public call and can
    # write it to a Hub bucket a client names), no MCP server, no Node SSR process.
    mount_kwargs.setdefault("run_history", False)
    mount_kwargs.setdefault("mcp_server", False)
    mount_kwargs.setdefault("ssr_mode", False)
    mounted = gr.mount_gradio_app(app, blocks, path="/", **mount_kwargs)
    gradio_compat.activate_upload_check(blocks)
    gradio_compat.bound_session_values(blocks, q.max_ui_value_kb * 1024)
    gradio_compat.drop_unread_results(blocks, settings.server.unread_result_seconds)
    return mounted


def server_address() -> tuple[str, int]:
    """0.0.0.0:7860 on a Space (``SPACE_ID`` set); else ``GRADIO_SERVER_NAME``/``PORT`` or 127.0.0.1:7860."""
    on_space = bool(os.environ.get("SPACE_ID"))
    host = os.environ.get("GRADIO_SERVER_NAME") or ("0.0.0.0" if on_space else "127.0.0.1")
    port = int(os.environ.get("GRADIO_SERVER_PORT") or 7860)
    return host, port
