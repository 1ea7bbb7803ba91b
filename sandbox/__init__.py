"""Generic process isolation: run ``module:function`` targets in limited, disposable children.

Knows nothing about ML; the caller names the modules the warm template preloads.
"""

from __future__ import annotations

from .context import JobContext
from .errors import ErrorCode, ProcessLimitExceeded, SandboxError, TemplateError
from .limits import FROZEN, GuardLimits, JobLimits
from .outcome import Outcome, Usage
from .plan import LimitDetail, LimitPlan
from .spec import JobSpec
from .supervisor import DEFAULT_ENV_ALLOW, Sandbox

__all__ = [
    "DEFAULT_ENV_ALLOW",
    "ErrorCode",
    "FROZEN",
    "GuardLimits",
    "JobContext",
    "JobLimits",
    "JobSpec",
    "LimitDetail",
    "LimitPlan",
    "Outcome",
    "ProcessLimitExceeded",
    "Sandbox",
    "SandboxError",
    "TemplateError",
    "Usage",
]
