"""Command line: ``python -m sandbox check`` and ``python -m sandbox run module:function``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from .container import detect
from .layers import guard_layers
from .limits import GuardLimits, JobLimits
from .supervisor import Sandbox

_MB = 1 << 20


def _load_limits(path: str | None) -> tuple[JobLimits, GuardLimits, bool]:
    try:
        from service.config import ConfigError, load_settings
    except ImportError:  # the sandbox used on its own: defaults
        return JobLimits(), GuardLimits(), False
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    return settings.job, settings.guards, settings.testing.fault_injection


def _warnings(job: JobLimits, info: Any, threads: int, max_concurrent: int | None) -> list[str]:
    out = []
    memory = info.memory_mb()
    if memory and job.memory_mb and job.memory_mb * (max_concurrent or 1) > memory:
        out.append(
            f"memory_mb {job.memory_mb} x {max_concurrent or 1} concurrent job(s) exceeds the container's {memory:.0f} MB"
        )
    if job.threads and job.threads > info.cpus():
        out.append(f"threads {job.threads} exceeds the container's {info.cpus()} CPU(s)")
    return out


def check(args: argparse.Namespace) -> int:
    job, guards, _ = _load_limits(args.limits)
    info = detect()
    threads = job.threads or info.cpus()
    max_concurrent = None
    try:
        from service.config import load_settings

        max_concurrent = load_settings(args.limits).queue.max_concurrent_jobs
    except Exception:
        pass
    print("Guard layers:")
    for layer in guard_layers(job, guards, info, threads=threads):
        mark = "active  " if layer["active"] else "inactive"
        print(f"  [{mark}] {layer['name']:22s} {layer['detail']}")
    print("Container:")
    for key, value in info.to_dict().items():
        print(f"  {key:28s} {value}")
    print("Limits ([job]):")
    for key, value in job.model_dump().items():
        print(f"  {key:28s} {value}")
    if args.calibrate:
        with Sandbox(job, guards, preload=args.preload.split(",") if args.preload else ()) as sb:
            cal = sb.status()
        print("Calibrated (template with --preload):")
        for key, value in {**cal["calibrated"], "template_vm_size_mb": cal["template"]["vm_size_mb"]}.items():
            print(f"  {key:28s} {value}")
    problems = _warnings(job, info, threads, max_concurrent)
    for warning in problems:
        print(f"WARNING: {warning}")
    return 0


def run(args: argparse.Namespace) -> int:
    job, guards, faults = _load_limits(args.limits)
    payload = orjson.loads(args.payload) if args.payload else None
    with Sandbox(job, guards, preload=args.preload.split(",") if args.preload else (), fault_injection=faults) as sb:
        outcome = sb.run(args.target, payload)
    sys.stdout.write(orjson.dumps(outcome.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if outcome.ok else 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--limits", help="limits file (default: $WORKER_LIMITS_FILE or limits.toml)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="print guard layers, container limits and calibrated limits")
    p_check.add_argument("--calibrate", action="store_true", help="start a template to measure its size")
    p_check.add_argument("--preload", default="numpy,pandas,sklearn,xgboost,matplotlib")
    p_check.set_defaults(func=check)
    p_run = sub.add_parser("run", help="run one target in the sandbox and print its outcome as JSON")
    p_run.add_argument("target", help="module:function")
    p_run.add_argument("--payload", help="JSON payload")
    p_run.add_argument("--preload", default="")
    p_run.set_defaults(func=run)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
