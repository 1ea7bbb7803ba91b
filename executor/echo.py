"""How much of a user's text the engine parses and says back: the one place ``[request]`` text limits apply.

Every message, problem and warning that quotes something the request held (a value, a node id, a
column name, an op type) goes through :func:`shown` / :func:`clip` / :func:`tag`; every list it
names (valid options, missing columns, node ids) through :func:`listing`; every list of problems
through :func:`capped`. The limits are :class:`executor.limits.TextLimits` (limits.toml
``[request] max_problems``, ``max_echo_chars``, ``max_param_chars``), put in force once per run by
:func:`executor.runner.run_workflow`; outside a run the defaults of ``TextLimits()`` apply.

Everything here is linear in the length of what it is given, and never reads more of a string
than it may show.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from executor.limits import TextLimits

__all__ = [
    "ELLIPSIS",
    "capped",
    "capped_notes",
    "clip",
    "clip_message",
    "listing",
    "more_text",
    "shown",
    "tag",
    "text_limits",
    "text_limits_in_force",
    "too_long",
]

T = TypeVar("T")

ELLIPSIS = "…"
"""Ends a cut string; a cut list ends with ``… and N more``."""

_DEFAULT = TextLimits()
"""In force outside a run (tests, tools): limits.toml's defaults."""
_LIMITS: ContextVar[TextLimits | None] = ContextVar("executor_text_limits", default=None)


def text_limits() -> TextLimits:
    """The text limits in force (the run's, else ``TextLimits()``)."""
    return _LIMITS.get() or _DEFAULT


@contextmanager
def text_limits_in_force(limits: TextLimits) -> Iterator[TextLimits]:
    """Put ``limits`` in force for the code run inside (this thread / task only)."""
    token = _LIMITS.set(limits)
    try:
        yield limits
    finally:
        _LIMITS.reset(token)


def clip(text: str, limit: int | None = None) -> str:
    """``text`` cut to ``limit`` characters (default ``max_echo_chars``), ending with "…" when cut."""
    n = text_limits().max_echo_chars if limit is None else limit
    return text if len(text) <= n else text[: max(n - len(ELLIPSIS), 0)] + ELLIPSIS


def clip_message(text: str) -> str:
    """A whole message or warning cut to the room of a full :func:`listing` (``max_problems × max_echo_chars``).

    A safety net for text built from library errors or several quoted values; the values a
    message quotes are cut by :func:`shown` first, so a message stays readable.
    """
    limits = text_limits()
    return clip(text, limits.max_problems * limits.max_echo_chars)


def _repr(limit: int) -> reprlib.Repr:
    r = reprlib.Repr()
    r.maxlevel = 3
    r.maxstring = r.maxother = r.maxlong = limit
    r.maxlist = r.maxtuple = r.maxdict = r.maxset = r.maxfrozenset = r.maxdeque = r.maxarray = limit // 4 or 1
    return r


def shown(value: Any, limit: int | None = None) -> str:
    """``repr(value)`` as a message quotes it: at most ``max_echo_chars`` characters, "…" when cut.

    Only as much of a string or container is read as can be shown (a 4 MB string costs nothing).
    """
    n = text_limits().max_echo_chars if limit is None else limit
    if isinstance(value, str):
        return clip(repr(value[: n + 1]), n)
    try:
        return clip(_repr(n).repr(value), n)
    except Exception:  # an int past Python's digit limit, a hostile __repr__: never a crash
        return clip(f"<{type(value).__name__}>", n)


def tag(node_id: Any) -> str:
    """The ``[node-id]`` prefix of a warning, the id cut to ``max_echo_chars``."""
    return f"[{clip(str(node_id))}]"


def more_text(count: int, noun: str = "") -> str:
    """``… and N more`` (with an optional noun: ``… and N more problems``)."""
    return f"{ELLIPSIS} and {count} more" + (f" {noun}" if noun else "")


def capped(items: Sequence[T], limit: int | None = None) -> tuple[list[T], int]:
    """The first ``max_problems`` items (or ``limit``) and how many were left out."""
    n = text_limits().max_problems if limit is None else limit
    return list(items[:n]), max(len(items) - n, 0)


def capped_notes(notes: Sequence[str], noun: str) -> list[str]:
    """The first ``max_problems`` notes, then one "… and N more <noun>" note when there were more."""
    kept, more = capped(notes)
    return kept + ([more_text(more, noun)] if more else [])


def listing(items: Iterable[Any], *, quote: bool = False, limit: int | None = None) -> str:
    """Items joined by ", ": at most ``max_problems`` of them, each cut to ``max_echo_chars``, then "… and N more".

    ``quote`` shows each with :func:`shown` (``'a', 'b'``), else with :func:`clip` (``a, b``).
    Reads the items once; an iterable of a million names costs one pass and a counter.
    """
    n = text_limits().max_problems if limit is None else limit
    parts: list[str] = []
    extra = 0
    for item in items:
        if len(parts) < n:
            parts.append(shown(item) if quote else clip(str(item)))
        else:
            extra += 1
    if extra:
        parts.append(more_text(extra))
    return ", ".join(parts)


def too_long(text: str, what: str) -> str | None:
    """Why ``text`` may not be parsed (longer than ``max_param_chars``), or None when it may.

    ``what`` names the parameter; the message quotes the (cut) value and the limit.
    """
    limit = text_limits().max_param_chars
    if len(text) <= limit:
        return None
    return (f"{what} is {len(text)} characters long, over the limit of {limit}"
            f" (limits.toml [request] max_param_chars). Got {shown(text)} instead.")
