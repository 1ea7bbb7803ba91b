"""Start-up self-check: prove each guard answers with the right code before serving.

Each probe runs a fault through the real sandbox under small per-probe limits (cheap: a few
seconds in all, two at a time, most of it the CPU probe's one second of CPU time and the wall-clock probe's kill)
and compares the code it gets with the code it should get. A guard that does not answer correctly
is reported loudly (``ok: false``) so the operator sees it on /health.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from . import confine
from .supervisor import Sandbox

__all__ = ["Probe", "PROBES", "run_self_check"]

_SECRET_PROBE = "SANDBOX_SELF_CHECK_SECRET"


@dataclass(frozen=True)
class Probe:
    name: str
    """The guard this probe proves."""
    fault: dict[str, Any]
    limits: dict[str, Any]
    """Per-probe overrides of the [job] limits (small, so the probe is quick and harmless)."""
    expected: str | None
    """The code the guard must answer with (None = the job must complete)."""


PROBES = [
    Probe("memory", {"kind": "allocate", "mb": 256}, {"memory_mb": 64}, "memory_exceeded"),
    Probe("wall_clock", {"kind": "ignore_sigterm", "seconds": 10}, {"wall_clock_seconds": 0.3}, "timeout"),
    Probe("cpu_time", {"kind": "busy_loop", "seconds": 10}, {"cpu_seconds": 1}, "cpu_time_exceeded"),
    Probe("file_size", {"kind": "write_file", "mb": 4}, {"max_file_size_mb": 1}, "file_size_exceeded"),
    Probe("processes", {"kind": "fork_bomb", "count": 64, "seconds": 1}, {"max_processes": 8}, "process_limit_exceeded"),
    Probe("result_size", {"kind": "huge_result", "mb": 3}, {"max_result_mb": 1}, "result_too_large"),
    Probe("crash", {"kind": "segfault"}, {}, "crashed"),
    Probe("orphan_cleanup", {"kind": "orphan", "seconds": 30}, {}, None),
    Probe("env_scrubbed", {"kind": "report_env"}, {}, None),
    # confinement: the job completes and reports that the kernel refused (skipped where the layer is off)
    Probe("landlock_fs", {"kind": "probe_list", "path": tempfile.gettempdir()}, {}, None),
    Probe("landlock_net", {"kind": "probe_bind"}, {}, None),
    Probe("landlock_scopes", {"kind": "probe_signal", "pid": 0}, {}, None),  # pid 0 = the parent's pid
    Probe("seccomp", {"kind": "probe_netlink"}, {}, None),
]


@dataclass(frozen=True)
class ProbeResult:
    name: str
    expected: str | None
    got: str | None
    ok: bool
    seconds: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _env_detail(sb: Sandbox, value: Any) -> tuple[bool, str]:
    keys = set(value.get("env_keys", [])) if isinstance(value, dict) else set()
    leaked = sorted(keys - sb.allowed_env_keys())
    if leaked:
        return False, f"variables outside the allow-list reached the job: {leaked}"
    return True, f"the job saw only its {len(keys)} allow-listed variables"


def _denied_detail(value: Any) -> tuple[bool, str]:
    if isinstance(value, dict) and value.get("allowed") is False:
        return True, f"refused by the kernel: {value.get('error')}"
    return False, f"the job was NOT refused: {value!r}"


def run_self_check(sb: Sandbox, parallel: int = 2) -> list[ProbeResult]:
    """Run every probe, ``parallel`` at a time (each is a job of its own, with its own limits; the
    slowest, cpu_time, burns a CPU second); the results in :data:`PROBES` order. Never raises."""
    layers = confine.status(sb.guards)
    os.environ[_SECRET_PROBE] = "must-not-reach-jobs"
    try:
        with ThreadPoolExecutor(max(1, parallel), thread_name_prefix="self-check") as pool:
            return list(pool.map(lambda probe: _run_probe(sb, probe, layers), PROBES))
    finally:
        os.environ.pop(_SECRET_PROBE, None)


def _run_probe(sb: Sandbox, probe: Probe, layers: dict[str, tuple[bool, str]]) -> ProbeResult:
    if probe.name in layers and not layers[probe.name][0]:
        return ProbeResult(probe.name, None, None, True, 0.0, f"skipped: {layers[probe.name][1]}")
    fault = {**probe.fault, "pid": os.getpid()} if probe.fault.get("pid") == 0 else probe.fault
    limits = sb.job.model_copy(update={"wall_clock_seconds": 10.0, "cpu_seconds": 10, **probe.limits})
    started = time.monotonic()
    outcome = sb.run("sandbox.faults:target", fault, limits=limits)
    ok = outcome.code == probe.expected
    detail = outcome.message
    if ok and probe.name == "env_scrubbed":
        ok, detail = _env_detail(sb, outcome.value)
    if ok and probe.name in layers:
        ok, detail = _denied_detail(outcome.value)
    if ok and probe.name == "orphan_cleanup":
        ok = outcome.usage.processes_killed >= 1
        detail = f"{outcome.usage.processes_killed} leftover process(es) killed"
    return ProbeResult(probe.name, probe.expected, outcome.code, ok, round(time.monotonic() - started, 3), detail)
