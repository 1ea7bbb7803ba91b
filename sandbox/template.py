"""Parent-side handle of the warm template process: start, restart, and hand it jobs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from .errors import TemplateError
from .waiting import wait_readable

__all__ = ["Template"]

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class Template:
    """One warm template process. Thread-safe; restarts itself when found dead."""

    def __init__(
        self, preload: Sequence[str], env: Mapping[str, str], start_seconds: float, warmup: str = ""
    ) -> None:
        self.preload = list(preload)
        self.warmup = warmup
        self.env = dict(env)
        self.start_seconds = start_seconds
        self.restarts = -1
        self.info: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> None:
        self._stop_locked()
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(self.env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")]))
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sandbox._template_main",
                    str(child_end.fileno()),
                    ",".join(self.preload),
                    self.warmup,
                ],
                pass_fds=[child_end.fileno()],
                env=env,
                cwd=str(_PACKAGE_ROOT),
                stdin=subprocess.DEVNULL,
                stdout=sys.stderr.fileno(),
                stderr=sys.stderr.fileno(),
            )
        finally:
            child_end.close()
        ready = wait_readable([parent_end], self.start_seconds)
        data = parent_end.recv(1 << 16) if ready else b""
        if not data:
            proc.kill()
            proc.wait()
            parent_end.close()
            raise TemplateError(
                f"the template did not become ready within {self.start_seconds} s (exit code {proc.poll()})"
            )
        info = orjson.loads(data)
        if info.get("failed"):
            proc.kill()
            proc.wait()
            parent_end.close()
            failures = "; ".join(f"{k}: {v}" for k, v in info["failed"].items())
            raise TemplateError(f"the template could not preload: {failures}")
        self._proc, self._control, self.info = proc, parent_end, info
        self.restarts += 1

    def _stop_locked(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc = None

    def close(self) -> None:
        with self._lock:
            self._stop_locked()

    # -- state --------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- jobs ---------------------------------------------------------------------------------

    def submit(self, job_sock: socket.socket) -> None:
        """Hand a job's socket to the template (restarting it once if it is dead); the job's spec
        is already written on that socket, for the runner that gets it."""
        message = orjson.dumps({"op": "run"})
        with self._lock:
            for attempt in (1, 2):
                if not self.alive() or self._control is None:
                    self._start_locked()
                assert self._control is not None
                try:
                    socket.send_fds(self._control, [message], [job_sock.fileno()])
                    return
                except OSError as exc:
                    if attempt == 2:
                        raise TemplateError(f"cannot reach the template: {exc}") from exc
                    self._stop_locked()

    def ping(self, timeout: float = 2.0) -> dict[str, Any] | None:
        """The template's current memory status, or None when it does not answer."""
        with self._lock:
            if not self.alive() or self._control is None:
                return None
            try:
                self._control.send(orjson.dumps({"op": "ping"}))
                deadline = time.monotonic() + timeout
                ready = wait_readable([self._control], max(0.0, deadline - time.monotonic()))
                if not ready:
                    return None
                reply = orjson.loads(self._control.recv(1 << 16))
            except (OSError, orjson.JSONDecodeError):
                return None
        return reply.get("status") if isinstance(reply, dict) else None
