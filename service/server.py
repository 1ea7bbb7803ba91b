"""The HTTP server (uvicorn) with bounded connections: no client can hoard the parent's descriptors.

uvicorn keeps a connection that has not sent a request yet open forever (its keep-alive timer
starts only after a first response, and any byte stops it), so 1,000 idle sockets stay 1,000 open
descriptors. :func:`guarded_protocol` makes uvicorn's h11 protocol

* close a connection that has not sent a complete request head within ``[server]
  idle_timeout_seconds`` (a new connection, a keep-alive between requests, or a head trickled a
  byte at a time), and
* past ``[server] max_connections``, close the connection that has been idle longest (no request
  in progress) to make room; else the oldest heartbeat stream (``/heartbeat/``: it only tells
  Gradio a tab is open, and the browser reconnects it); when every connection is serving a real
  request, answer the newcomer ``503`` and close it,

so the descriptor count stays under the cap whatever clients do, and a flood of idle sockets
cannot keep a real request out. The soft ``RLIMIT_NOFILE`` is
raised to the hard limit at start so the cap, not ``EMFILE``, is what a flood meets.
"""

from __future__ import annotations

import resource
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.config import ServerLimits

__all__ = ["guarded_protocol", "raise_fd_limit", "serve"]


def _busy_response() -> bytes:
    body = orjson.dumps({
        "status": "failed",
        "errorCode": "busy",
        "error": "The server has too many open connections; try again in a few seconds "
                 "([server] max_connections).",
    })
    head = (
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def guarded_protocol(limits: ServerLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with an idle timeout from the first byte and a connection cap."""
    busy = _busy_response()

    class GuardedH11Protocol(H11Protocol):
        idle_since: float | None = None
        request_since: float = 0.0
        _seen_cycle: Any = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections and not self._evict_idle():
                transport.write(busy)
                transport.close()
                return
            self.idle_since = self.loop.time()
            self.timeout_keep_alive_task = self.loop.call_later(limits.idle_timeout_seconds, self.timeout_keep_alive_handler)

        def _evict_idle(self) -> bool:
            """Close the connection idle longest, else the oldest heartbeat stream (never this one);
            False when every other connection serves a real request."""
            others = [c for c in self.connections if c is not self and isinstance(c, GuardedH11Protocol)
                      and not c.transport.is_closing()]
            idle = [c for c in others if c.idle_since is not None and c._is_idle()]
            if idle:
                oldest = min(idle, key=lambda c: c.idle_since)
                oldest.timeout_keep_alive_handler()
            else:
                beats = [c for c in others if c._is_heartbeat()]
                if not beats:
                    return False
                oldest = min(beats, key=lambda c: c.request_since)
                oldest.transport.close()
            self.connections.discard(oldest)
            return True

        def _is_idle(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _is_heartbeat(self) -> bool:
            return not self._is_idle() and "/heartbeat/" in str((self.scope or {}).get("path", ""))

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and self.cycle is not self._seen_cycle:
                self._seen_cycle = self.cycle
                self.request_since = self.loop.time()
                self.idle_since = None

        def on_response_complete(self) -> None:
            self.idle_since = self.loop.time()
            super().on_response_complete()

        def data_received(self, data: bytes) -> None:
            # uvicorn stops the idle timer at any byte; keep it until a whole request head has
            # arrived (handle_events stops it then), so a trickled head still times out.
            self.conn.receive_data(data)
            self.handle_events()

    return GuardedH11Protocol


def raise_fd_limit() -> int:
    """Raise the soft descriptor limit to the hard one; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def serve(app: Any, host: str, port: int, limits: ServerLimits) -> None:
    """Serve ``app`` until SIGINT/SIGTERM, with the connection guards above."""
    raise_fd_limit()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=5,
        http=guarded_protocol(limits),
        timeout_keep_alive=max(1, int(limits.idle_timeout_seconds)),
        # uvicorn answers 503 once its connections *or running requests* reach this. The protocol
        # above keeps connections at the cap; a request whose connection it just closed (an evicted
        # heartbeat stream) still runs for a few loop turns until it sees the disconnect, so the
        # request that made the room would meet a 503 at a count of max_connections + 1. Room for
        # one closing request per open connection keeps the cap's eviction real while still
        # bounding requests in flight.
        limit_concurrency=2 * limits.max_connections + 1,
    )
