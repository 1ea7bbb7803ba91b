"""First-come first-served admission: at most N running, at most M waiting, the rest turned away.

All methods run on the event loop thread (the Gradio server's loop); no lock is needed. A slot
freed while requests wait is handed straight to the oldest waiter, so the running count never
dips and no late arrival overtakes a waiter.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Admission", "Busy"]


class Busy(Exception):
    """Every slot is taken and the waiting line is full."""


class Admission:
    """Counts running jobs and the line of requests waiting for a slot."""

    def __init__(self, max_running: int, max_waiting: int) -> None:
        self.max_running = max_running
        self.max_waiting = max_waiting
        self.running = 0
        self._waiters: deque[asyncio.Future[bool]] = deque()
        self._owners: dict[asyncio.Future[bool], asyncio.Task[object] | None] = {}

    @property
    def waiting(self) -> int:
        return sum(1 for fut in self._waiters if not fut.done())

    def place(self, task: asyncio.Task[object] | None) -> int | None:
        """``task``'s place in the line (1 = next to get a slot), or None when it is not waiting."""
        n = 0
        for fut in self._waiters:
            if fut.done():
                continue
            n += 1
            if task is not None and self._owners.get(fut) is task:
                return n
        return None

    async def acquire(self, timeout: float | None) -> bool:
        """Take a slot: True when granted, False when ``timeout`` ran out first; :class:`Busy` when full.

        If the calling task is cancelled while waiting, no slot is kept.
        """
        if self.running < self.max_running and not self.waiting:
            self.running += 1
            return True
        if self.waiting >= self.max_waiting:
            raise Busy()
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._owners[fut] = asyncio.current_task()
        try:
            if timeout is not None and timeout <= 0:
                done: set[asyncio.Future[bool]] = set()
            else:
                done, _ = await asyncio.wait({fut}, timeout=timeout)
        except BaseException:
            self._abandon(fut)
            raise
        self._owners.pop(fut, None)
        if fut in done:
            return True
        self._abandon(fut)
        return False

    def _abandon(self, fut: asyncio.Future[bool]) -> None:
        """Leave the line; a slot granted in the meantime is passed on."""
        self._owners.pop(fut, None)
        if fut.done() and not fut.cancelled():
            self.release()
        else:
            fut.cancel()
        try:
            self._waiters.remove(fut)
        except ValueError:
            pass

    def release(self) -> None:
        """Give a slot back: to the oldest live waiter, else to the pool."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(True)
                return
        self.running = max(0, self.running - 1)

    def resize(self, max_running: int) -> None:
        """A new number of slots (a cluster's capacity changed): each added slot goes to the oldest
        waiter; running jobs past a smaller number are left to finish."""
        grown = max(0, min(max_running - self.max_running, max_running - self.running))
        self.max_running = max_running
        for _ in range(grown):
            self.running += 1
            self.release()  # a waiter takes the slot, or it goes back to the pool
