"""The service layer between app.py and the sandbox: admission, deadlines, request checks, results."""

from __future__ import annotations

from service.codes import CODES
from service.worker import ENGINE_TARGET, PRELOAD, Worker

__all__ = ["CODES", "ENGINE_TARGET", "PRELOAD", "Worker"]
