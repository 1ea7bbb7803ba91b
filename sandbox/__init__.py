"""Generic process isolation: run ``module:function`` targets in limited, disposable children.

Knows nothing about ML; the caller names the modules the warm template preloads.
"""

from __future__ import annotations

from .context import JobContext
from .errors import ErrorCode, ProcessLimitExceeded, SandboxError, TemplateError
from .limits import GuardLimits, JobLimits
from .outcome import Outcome, Usage
from .supervisor import DEFAULT_ENV_ALLOW, Sandbox

__all__ = [
    "DEFAULT_ENV_ALLOW",
    "ErrorCode",
    "GuardLimits",
    "JobContext",
    "JobLimits",
    "Outcome",
    "ProcessLimitExceeded",
    "Sandbox",
    "SandboxError",
    "TemplateError",
    "Usage",
]
