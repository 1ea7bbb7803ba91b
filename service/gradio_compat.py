"""Every use of Gradio internals, in one place, checked against the Gradio version it was written for.

The worker needs four things Gradio has no public API for:

* the queue's running events (to notice a client that disconnected): ``Queue.active_jobs``;
* the queue's thread count (so admission, not Gradio, decides who waits): ``Queue.max_thread_count``;
* Gradio's own check that a file path sent by a client was uploaded to this app. It is skipped
  unless ``Blocks.has_launched``, which ``gr.mount_gradio_app`` never sets (a Gradio bug:
  docs/gradio-mount-file-check.md). :func:`activate_upload_check` sets it;
* a bound on per-session UI state: ``SessionState._update_value_in_config`` keeps a copy of every
  input and output value of every session (every API call is a session of its own), so large
  workflows and results would stay in the parent for ``max_ui_sessions`` sessions.
  :func:`bound_session_values` keeps only values under a size;
* a bound on answers nobody reads: the queue keeps each finished event's messages (the whole
  result) in ``Queue.pending_messages_per_session`` until a client streams them, for up to 2,000
  sessions. :func:`drop_unread_results` / :func:`result_finished` drop them
  ``[server] unread_result_seconds`` after the job ended if they are still unread.

:func:`check_compatible` fails loudly (at start-up and in a test) when a Gradio release moves any
of these, instead of the guards silently doing nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr
from gradio import state_holder

__all__ = [
    "GradioIncompatible",
    "drop_unread_results",
    "result_finished",
    "activate_upload_check",
    "active_events",
    "bound_session_values",
    "check_compatible",
    "set_queue_threads",
]

log = logging.getLogger(__name__)

TESTED_MAJOR = 6
"""The Gradio major version these internals were read from."""


class GradioIncompatible(RuntimeError):
    """The installed Gradio no longer has an internal the worker relies on."""


def check_compatible(blocks: gr.Blocks | None = None) -> None:
    """Raise :class:`GradioIncompatible` naming what is missing (never a silent no-op)."""
    problems = []
    major = int(str(gr.__version__).split(".")[0])
    if major != TESTED_MAJOR:
        problems.append(f"Gradio {gr.__version__} (internals read from {TESTED_MAJOR}.x)")
    if not hasattr(state_holder.SessionState, "_update_value_in_config"):
        problems.append("gradio.state_holder.SessionState._update_value_in_config")
    if not hasattr(state_holder.StateHolder, "__getitem__"):
        problems.append("gradio.state_holder.StateHolder.__getitem__")
    from gradio import processing_utils

    if not hasattr(processing_utils, "_check_allowed"):
        problems.append("gradio.processing_utils._check_allowed (the upload-folder check)")
    if blocks is not None:
        queue = getattr(blocks, "_queue", None)
        for name in ("active_jobs", "max_thread_count", "pending_messages_per_session",
                     "pending_event_ids_session", "event_ids_to_events"):
            if not hasattr(queue, name):
                problems.append(f"Blocks._queue.{name}")
        if not hasattr(blocks, "has_launched"):
            problems.append("Blocks.has_launched")
    if problems:
        raise GradioIncompatible("the installed Gradio lacks internals the worker uses: " + "; ".join(problems))


def active_events(blocks: gr.Blocks) -> Iterator[Any]:
    """The queue's events that are running now."""
    for job in list(blocks._queue.active_jobs):
        yield from job or ()


def set_queue_threads(blocks: gr.Blocks, threads: int) -> None:
    """Let ``threads`` events through Gradio's queue at once (admission is the worker's job)."""
    blocks.max_threads = threads
    blocks._queue.max_thread_count = threads


def activate_upload_check(blocks: gr.Blocks) -> None:
    """Make Gradio check that every file path a client sends to an event was uploaded to this app.

    ``processing_utils._check_allowed`` returns at once while ``not blocks.has_launched``; a
    Blocks served with ``mount_gradio_app`` never becomes launched, so every event would copy (and
    hash) any path a client names. Setting the flag is what ``launch()`` does.
    """
    blocks.has_launched = True


def _too_big(value: Any, limit: int) -> bool:
    """Whether ``value`` (JSON-like) holds more than ``limit`` bytes of text; stops once it knows."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, dict):
            total += 8 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            total += 8 * len(item)
            stack.extend(item)
        else:
            total += 8
        if total > limit:
            return True
    return False


def bound_session_values(blocks: gr.Blocks, max_value_bytes: int) -> None:
    """Keep no input or output value over ``max_value_bytes`` in any session's UI state.

    The page already holds what it sent and was sent; the copy in the parent only serves a page
    reload's deep link, which this app does not offer.
    """
    holder = blocks.state_holder

    class BoundedSessionState(state_holder.SessionState):
        def _update_value_in_config(self, key: int, value: Any) -> None:
            super()._update_value_in_config(key, None if _too_big(value, max_value_bytes) else value)

    class BoundedStateHolder(type(holder)):  # type: ignore[misc]
        def __getitem__(self, session_id: str) -> state_holder.SessionState:
            if session_id not in self.session_data:
                self.session_data[session_id] = BoundedSessionState(self.blocks)
            return super().__getitem__(session_id)

    holder.__class__ = BoundedStateHolder


def drop_unread_results(blocks: gr.Blocks, grace_seconds: float) -> None:
    """Arrange for :func:`result_finished` to drop answers still unread ``grace_seconds`` later."""
    blocks._worker_unread_grace = grace_seconds  # type: ignore[attr-defined]


def result_finished(blocks: gr.Blocks, session_hash: str | None) -> None:
    """An event of ``session_hash`` ended: drop its answers if nobody has read them by the grace time.

    Call it from the event's function, on the event loop. A client that streams its answer at once
    (the platform backend, the page) never notices; one that comes back later finds no event.
    """
    grace = getattr(blocks, "_worker_unread_grace", None)
    if grace is None or not session_hash:
        return
    # An empty context: by default the timer would keep the request's context (Gradio's context
    # variables hold the event, and so the whole request body) alive until it fires.
    asyncio.get_running_loop().call_later(grace, _drop_if_unread, blocks, session_hash, context=contextvars.Context())


def _drop_if_unread(blocks: gr.Blocks, session_hash: str) -> None:
    queue = blocks._queue
    messages = queue.pending_messages_per_session.get(session_hash)
    if messages is None or messages.empty():
        return
    del queue.pending_messages_per_session[session_hash]
    for event_id in queue.pending_event_ids_session.pop(session_hash, set()):
        queue.event_ids_to_events.pop(event_id, None)
    log.info("dropped %d unread message(s) of a session nobody streamed", messages.qsize())
