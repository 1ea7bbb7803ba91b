"""Targets the deny tests run in sandbox children (importable as tests.security.targets).

Each one plays an attacker: it looks for a secret or attempts an escape, and reports what it found.
They never harm the machine: reads only, and every loop is bounded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sandbox import JobContext


def own_environment(payload: Any, ctx: JobContext) -> dict[str, Any]:
    """The job's own environment, keys and values (values only as a set of secrets found)."""
    secrets = list(payload.get("secrets", []))
    found = sorted(k for k, v in os.environ.items() if any(s in v or s in k for s in secrets))
    return {"env_keys": sorted(os.environ), "found": found}


def scan_process_environments(payload: Any, ctx: JobContext) -> dict[str, Any]:
    """Read ``/proc/<pid>/environ`` of every visible process and report which hold a secret.

    This is what a hostile job does to get at the Gradio parent's HF_TOKEN: the kernel lets a
    process read the initial environment of any other process of the same user (and root reads
    all), whatever the parent later removed from ``os.environ``.
    """
    secrets = [s.encode() for s in payload.get("secrets", [])]
    found: list[dict[str, Any]] = []
    readable = 0
    for entry in list(Path("/proc").iterdir())[:5000]:
        if not entry.name.isdigit():
            continue
        try:
            data = (entry / "environ").read_bytes()
        except OSError:
            continue
        readable += 1
        hits = [s.decode() for s in secrets if s in data]
        if hits:
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
            except OSError:
                cmd = "?"
            found.append({"pid": int(entry.name), "cmdline": cmd, "secrets": hits})
    return {"found": found, "readable": readable, "me": os.getpid()}


def engine(payload: dict[str, Any], ctx: JobContext) -> Any:
    """``executor.entry:run`` with the test-only sabotage named in ``payload["sabotage"]`` applied."""
    from tests.security import sabotage

    sabotage.apply_in_process(payload.pop("sabotage", None), payload.get("marker_dir"))
    from executor.entry import run

    return run(payload, ctx)
