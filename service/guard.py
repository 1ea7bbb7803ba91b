"""ASGI middleware in front of Gradio: every request body is bounded before any route reads it.

For each HTTP request, before Gradio sees a byte:

* **size**: a body over ``[server] max_body_kb`` (``max_upload_mb`` for Gradio's upload route) is
  answered ``413`` from its ``Content-Length`` alone, or as soon as the streamed bytes pass it;
* **time**: each chunk of a body must arrive within ``[server] idle_timeout_seconds``;
* **memory**: bodies buffered at once share ``[server] max_buffered_mb``; past it ``503``;
* **shape**: every body is scanned off the event loop (:mod:`service.jsonscan`) against the
  ``[request]`` caps (depth, JSON values, string length) before Gradio decodes it on the loop,
  so no body can make Gradio's own ``json.loads`` build millions of objects;
* **JSON only**: every body (but an upload's) is decoded in the same thread with orjson and
  refused with ``400`` if it is not strict JSON, so what Gradio decodes is what was checked
  (an escaped key such as ``"pat\\u0068"`` is seen decoded);
* **files**: a body that names a file (any object with a ``path``) is refused with ``400`` unless
  every path is an upload of this app (:mod:`service.uploads`).
  Gradio's own check is turned on too (:func:`service.gradio_compat.activate_upload_check`); this
  one does not depend on Gradio's internals and also refuses URLs, which Gradio would fetch;
* **memory after**: once a large body's request is answered, freed heap goes back to the system;
* **no dev routes**: Gradio's ``/dev/`` routes (hot-reload streams) are answered ``404``;
* **no raw 500**: an exception a route raises becomes a small JSON ``500`` (``internal_error``),
  logged with its traceback, never Gradio's plain-text page.

Refusals are small JSON objects with an ``errorCode`` and the limit's name, never an echo of
the body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.jsonscan import scan
from service.memory import release_free_memory
from service.uploads import refused_paths

__all__ = ["BodyGuard"]

log = logging.getLogger(__name__)

_KB = 1024
_UPLOAD_SUFFIX = "/upload"
_DEV_ROUTES = "/gradio_api/dev/"
_ENVELOPE_DEPTH = 4
"""Levels Gradio's envelope (``{"data": [...]}``) may add above a workflow's own ``max_depth``."""
_LARGE_BODY = 1 << 20
"""Bytes of body past which the heap is trimmed once the request is answered."""


class _Refused(Exception):
    def __init__(self, status: int, message: str, limit: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.limit = limit


async def _reply(send: Send, status: int, message: str, limit: dict[str, Any] | None = None) -> None:
    code = "invalid_request" if status < 500 else ("internal_error" if status == 500 else "busy")
    body = {"status": "failed", "errorCode": code, "error": message}
    if limit:
        body["errorDetails"] = {"limit": limit}
    data = orjson.dumps(body)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                    (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": data})


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers") or ():
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyGuard:
    """Bound every request body in size, time and memory, and refuse client paths that are not uploads."""

    def __init__(self, app: ASGIApp, *, settings: Settings, upload_root: Callable[[], Path]) -> None:
        self.app = app
        self.server = settings.server
        self.request = settings.request
        self.upload_root = upload_root
        self.buffered = 0
        self._limiter = anyio.CapacityLimiter(settings.server.parse_threads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path", "").startswith(_DEV_ROUTES):
            await _reply(send, 404, "Not found: development routes are off.")
            return
        started = replaced = False

        async def tracked(message: Message) -> None:
            # Gradio's own error middleware answers an exception with a plain-text 500 before it
            # re-raises: replace that page by the small JSON answer.
            nonlocal started, replaced
            if message["type"] == "http.response.start":
                started = True
                headers = dict(message.get("headers") or ())
                if message.get("status") == 500 and not headers.get(b"content-type", b"").startswith(b"application/json"):
                    replaced = True
                    await _reply(send, 500, "The server could not handle this request.")
                    return
            elif replaced:
                return
            await send(message)

        try:
            await self._guarded(scope, receive, tracked)
        except Exception as exc:
            log.exception("a route raised on %s %s", scope.get("method"), scope.get("path", "")[:200])
            if replaced:
                return
            if started:
                raise
            await _reply(send, 500, f"The server could not handle this request ({type(exc).__name__}).")

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        upload = scope.get("path", "").endswith(_UPLOAD_SUFFIX)
        cap = self.server.max_upload_mb * _KB * _KB if upload else self.server.max_body_kb * _KB
        name = "max_upload_mb" if upload else "max_body_kb"
        length = _content_length(scope)
        if length is not None and length > cap:
            await _reply(send, 413, f"The request body is {length} bytes, over the limit of {cap} bytes ([server] {name}).",
                         {"name": name, "value": cap // (_KB * _KB if upload else _KB), "got": length})
            return
        try:
            if upload:
                await self.app(scope, self._counted(receive, cap, name), send)
                return
            body = await self._buffer(receive, cap, name, length)
        except _Refused as exc:
            await _reply(send, exc.status, exc.message, exc.limit)
            return
        except TimeoutError:
            await _reply(send, 408, f"The request body stopped arriving for {self.server.idle_timeout_seconds} s "
                                    "([server] idle_timeout_seconds).")
            return
        try:
            if body:
                problems = await anyio.to_thread.run_sync(self._inspect, body, limiter=self._limiter)
                if problems:
                    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                    await _reply(send, 400, f"File refused: {problems[0]}{more}.")
                    return
        except _Refused as exc:
            await _reply(send, exc.status, exc.message, exc.limit)
            return
        try:
            await self.app(scope, _replay(body, receive), send)
        finally:
            if len(body) > _LARGE_BODY:
                del body
                await anyio.to_thread.run_sync(release_free_memory, limiter=self._limiter)

    async def _next(self, receive: Receive) -> Message:
        return await asyncio.wait_for(receive(), self.server.idle_timeout_seconds)

    async def _buffer(self, receive: Receive, cap: int, name: str, length: int | None) -> bytes:
        budget = self.server.max_buffered_mb * _KB * _KB
        reserved = 0
        chunks: list[bytes] = []
        try:
            while True:
                message = await self._next(receive)
                if message["type"] == "http.disconnect":
                    raise _Refused(400, "The client disconnected while sending its request.")
                chunk = message.get("body", b"")
                if chunk:
                    if reserved + len(chunk) > cap:
                        raise _Refused(413, f"The request body is over the limit of {cap} bytes ([server] {name}).",
                                       {"name": name, "value": cap // _KB, "got": reserved + len(chunk)})
                    if self.buffered + len(chunk) > budget:
                        raise _Refused(503, "The server is receiving too many request bodies at once; try again in a "
                                            "few seconds ([server] max_buffered_mb).",
                                       {"name": "max_buffered_mb", "value": self.server.max_buffered_mb})
                    self.buffered += len(chunk)
                    reserved += len(chunk)
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
        finally:
            self.buffered -= reserved

    def _counted(self, receive: Receive, cap: int, name: str) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await self._next(receive)
            seen += len(message.get("body", b""))
            if seen > cap:
                raise _Refused(413, f"The upload is over the limit of {cap} bytes ([server] {name}).",
                               {"name": name, "value": self.server.max_upload_mb, "got": seen})
            return message

        return counted

    def _inspect(self, body: bytes) -> list[str]:
        """Scan a body against the caps; if it names files, decode it and judge every path in it."""
        caps = self.request
        depth = caps.max_depth + _ENVELOPE_DEPTH
        shape = scan(body, max_depth=depth)
        for name, got, limit in (
            ("max_depth", shape.depth, depth),
            ("max_json_values", shape.values, caps.max_json_values),
            ("max_string_kb", shape.longest_string, caps.max_string_kb * _KB),
        ):
            if got > limit:
                raise _Refused(413, f"The request body is over [request] {name} ({got} > {limit}).",
                               {"name": name, "value": getattr(caps, name), "got": got})
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _Refused(400, f"The request body is not valid JSON: {str(exc)[:160]}.") from None
        return refused_paths(value, self.upload_root(), max_items=caps.max_json_values, echo_chars=caps.max_echo_chars)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
