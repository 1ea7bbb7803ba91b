"""Progress inside a node (cross-validation folds, search trials, plots), rate-limited, for a progress bar.

The runner emits one ``{"type": "progress", "node", "nodeType", "index", "total"}`` event as each
node starts (``ctx.emit``: the sandbox's event channel). Inside a long node, :class:`Progress` sends
the same event again with ``"detail": "fold 2 of 5"`` and ``"fraction"`` (how far into the node,
0..1), at most one every :data:`PROGRESS_INTERVAL_SECONDS`: events that come sooner are dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PROGRESS_INTERVAL_SECONDS", "Progress"]

PROGRESS_INTERVAL_SECONDS = 0.25
"""Policy: the shortest time between two detail events of a job (at most 4 a second)."""

Emit = Callable[[dict[str, Any]], None]


@dataclass
class _Clock:
    """When the last detail event went out; shared by a node's :class:`Progress` and its parts."""

    last: float = float("-inf")
    interval: float | None = None
    """None = :data:`PROGRESS_INTERVAL_SECONDS` (read when sent, so tests can change it)."""


@dataclass
class Progress:
    """Detail events of one node; :meth:`part` maps a stage onto a share of the node's 0..1."""

    emit: Emit | None
    base: dict[str, Any]
    start: float = 0.0
    width: float = 1.0
    clock: _Clock = field(default_factory=_Clock)
    now: Callable[[], float] = time.monotonic

    @classmethod
    def silent(cls) -> Progress:
        """A Progress that sends nothing (callers without a node event)."""
        return cls(None, {})

    def part(self, start: float, width: float) -> Progress:
        """The stage that covers ``[start, start + width)`` of this one (fractions of it)."""
        return Progress(self.emit, self.base, self.start + self.width * start, self.width * width, self.clock,
                        self.now)

    def step(self, i: int, n: int, what: str) -> None:
        """Item ``i`` (1-based) of ``n`` starts: ``"<what> i of n"`` at fraction ``(i - 1) / n`` of this stage."""
        self.say(f"{what} {i} of {n}", (i - 1) / max(1, n))

    def say(self, detail: str, fraction: float = 0.0) -> None:
        """Send ``detail`` at ``fraction`` (0..1) of this stage, unless the last event is too recent."""
        if self.emit is None:
            return
        moment = self.now()
        interval = PROGRESS_INTERVAL_SECONDS if self.clock.interval is None else self.clock.interval
        if moment - self.clock.last < interval:
            return
        self.clock.last = moment
        share = min(1.0, max(0.0, self.start + self.width * fraction))
        self.emit({**self.base, "detail": detail, "fraction": round(share, 4)})
