"""What the page shows while a job waits or runs: place in line, step, detail, elapsed and remaining time.

:class:`JobProgress` collects a request's engine progress events (from the job thread) and its
place in the admission line (from the event loop); :meth:`JobProgress.html` draws one progress
block from them. Engine events are ``{"type": "progress", "node", "nodeType", "index", "total"}``,
optionally with ``"detail"`` (``"fold 2 of 5"``) and ``"fraction"`` (0..1 within the node).
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ACTIVITIES", "JobProgress", "clock", "ordinal"]

ACTIVITIES = {
    "dataset": "Loading the data",
    "preprocessing": "Preparing the features",
    "split": "Splitting train and test rows",
    "model": "Training the model",
    "evaluate": "Computing the metrics",
    "visualize": "Drawing the plots",
    "fault": "Running a test fault",
}
"""What each node type does, as the progress line says it."""

WARN_SHARE = 0.2
"""Below this share of its time budget left, the remaining time is shown as a warning."""


def clock(seconds: float) -> str:
    """``0:07``, ``3:20``: minutes and seconds."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``…"""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass
class JobProgress:
    """One request's progress as the page shows it. ``on_event`` may be called from any thread."""

    wall_clock_seconds: float
    """``[job] wall_clock_seconds`` (0 = no job limit)."""
    deadline_seconds: float
    """``[queue] request_deadline_seconds``, counted from ``arrival``."""
    running_jobs: int = 0
    arrival: float = field(default_factory=time.monotonic)
    started: float | None = None
    place: int | None = None
    node_type: str | None = None
    index: int = 0
    total: int = 1
    detail: str | None = None
    fraction: float | None = None
    stopping: bool = False

    def on_event(self, event: dict[str, Any]) -> None:
        """An engine progress event (job thread)."""
        if self.started is None:
            self.started = time.monotonic()
        self.place = None
        new_node = event.get("index") != self.index or event.get("nodeType") != self.node_type
        self.node_type = str(event.get("nodeType") or "")
        try:
            self.index = int(event.get("index", 0))
            self.total = max(1, int(event.get("total", 1)))
        except (TypeError, ValueError):
            pass
        detail, fraction = event.get("detail"), event.get("fraction")
        if detail is not None or new_node:
            self.detail = str(detail)[:80] if detail else None
        if isinstance(fraction, (int, float)) and 0 <= fraction <= 1:
            self.fraction = float(fraction)
        elif new_node:
            self.fraction = None

    def on_place(self, place: int | None, running: int | None = None) -> None:
        """The request's place in the admission line (1 = next), None when it is not waiting."""
        self.place = place
        if running is not None:
            self.running_jobs = running

    def budget(self) -> float | None:
        """Seconds the job may run: the job's wall clock, or what the request deadline leaves."""
        if self.started is None:
            return None
        left = self.deadline_seconds - (self.started - self.arrival)
        return min(self.wall_clock_seconds, left) if self.wall_clock_seconds else left

    def share(self) -> float:
        """How far the job is, 0..1: steps done plus the running step's fraction."""
        inside = self.fraction or 0.0
        return min(1.0, (self.index + inside) / self.total) if self.node_type else 0.0

    def html(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        e = html.escape
        elapsed = now - self.arrival
        if self.stopping:
            return ("<div class='job-progress stopping' role='status'><div class='jp-line'><b>Stopping the job…</b>"
                    f"</div><div class='jp-time'>{clock(elapsed)} elapsed</div></div>")
        if self.place is not None or self.started is None:
            if self.place is not None:
                line = (f"<b>Waiting for a free slot: {ordinal(self.place)} in line</b> · "
                        f"{self.running_jobs} job{'s' if self.running_jobs != 1 else ''} running")
            else:
                line = "<b>Starting…</b>"
            left = self.deadline_seconds - elapsed
            time_line = (f"{clock(elapsed)} waiting · it is refused if it has not started in {clock(left)}"
                         if self.place is not None else f"{clock(elapsed)} elapsed")
            return (f"<div class='job-progress waiting' role='status'><div class='jp-line'>{line}</div>"
                    f"<div class='jp-bar indeterminate'><div></div></div><div class='jp-time'>{time_line}</div></div>")
        activity = ACTIVITIES.get(self.node_type or "", "Working")
        detail = f" · {e(self.detail)}" if self.detail else ""
        step = f"<span class='jp-step'>step {self.index + 1} of {self.total}</span>"
        percent = round(100 * self.share())
        budget = self.budget() or 0.0
        ran = now - (self.started or now)
        remaining = budget - ran
        warn = budget > 0 and remaining < WARN_SHARE * budget
        limit = f"the {budget:.0f} s limit" if budget else "its limit"
        time_line = (f"{clock(elapsed)} elapsed · {clock(remaining)} left before {limit} stops it"
                     if budget else f"{clock(elapsed)} elapsed")
        return (f"<div class='job-progress running{' near-limit' if warn else ''}' role='status'>"
                f"<div class='jp-line'><b>{e(activity)}</b>{detail} {step}</div>"
                f"<div class='jp-bar' aria-valuenow='{percent}'><div style='width:{percent}%'></div></div>"
                f"<div class='jp-time'>{time_line}</div></div>")
