"""One machine's sandbox, built from the settings: the same code for the local engine and every Ray node.

The local Worker and each Ray node's sandbox actor call :class:`NodeSetup`, so a job gets the same
template, limits, guard layers, dataset cache and start-up self-check wherever it runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sandbox import GuardLimits, Sandbox
from service.config import Settings

__all__ = ["NodeSetup", "job_guards"]

log = logging.getLogger("service.worker")


def job_guards(settings: Settings) -> tuple[GuardLimits, str | None]:
    """``[guards]`` with this machine's dataset cache readable by every job (created now if need be),
    and the cache's path (None when it cannot be created: jobs then fetch samples every time)."""
    guards = settings.guards
    cache = settings.download.cache_path().absolute()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # jobs then fetch samples every time; the engine says so in a warning
        log.warning("dataset cache %s cannot be created (%s): samples are not cached", cache, exc)
        return guards, None
    return guards.model_copy(update={"confine_read_paths": [*guards.confine_read_paths, str(cache)]}), str(cache)


@dataclass(frozen=True)
class NodeSetup:
    """What a machine needs to build its sandbox: the settings and what the template preloads."""

    settings: Settings
    preload: list[str] = field(default_factory=list)
    warmup: str = ""
    run_self_check: bool = True

    def build(self, guards: GuardLimits) -> Sandbox:
        """The (unstarted) sandbox of this machine under ``[job]`` and ``guards``."""
        return Sandbox(
            self.settings.job,
            guards,
            preload=self.preload,
            fault_injection=self.settings.testing.fault_injection,
            extra_env={"MPLBACKEND": "Agg"},
            warmup=self.warmup,
        )

    def self_check(self, sb: Sandbox) -> list[dict[str, Any]]:
        """The start-up self-check's probes as dicts (none when it is switched off); failing guards logged."""
        if not self.run_self_check:
            return []
        from sandbox.selfcheck import run_self_check

        probes = [probe.to_dict() for probe in run_self_check(sb)]
        bad = [p["name"] for p in probes if not p["ok"]]
        if bad:
            log.warning("self-check: guards not answering correctly: %s", ", ".join(bad))
        return probes
