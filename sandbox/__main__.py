"""Command line: ``python -m sandbox check`` and ``python -m sandbox run module:function``.

Limits come from a TOML file whose ``[job]`` and ``[guards]`` tables are validated with the
sandbox's own models; every other table is the caller's business and is ignored here.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from .container import ContainerInfo, detect
from .layers import guard_layers
from .limits import GuardLimits, JobLimits
from .plan import LimitPlan
from .supervisor import Sandbox

LIMITS_ENV_VAR = "WORKER_LIMITS_FILE"
"""Names the limits file when ``--limits`` is not given (else ``limits.toml`` in the current dir)."""


def _load_limits(path: str | None) -> tuple[JobLimits, GuardLimits]:
    """The ``[job]`` and ``[guards]`` tables of the limits file; the defaults when there is no file
    and none was named. Exits with status 2 and a message naming the file and key on any problem."""
    named = path or os.environ.get(LIMITS_ENV_VAR)
    file = Path(named or "limits.toml")
    if not named and not file.is_file():
        return JobLimits(), GuardLimits()
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        _fail(file, [f"cannot read: {exc}"])
    problems: list[str] = []
    job = _table(raw, "job", JobLimits, problems)
    guards = _table(raw, "guards", GuardLimits, problems)
    if problems or not isinstance(job, JobLimits) or not isinstance(guards, GuardLimits):
        _fail(file, problems)
    return job, guards


def _table(raw: dict[str, Any], name: str, model: type[BaseModel], problems: list[str]) -> BaseModel | None:
    try:
        return model.model_validate(raw.get(name, {}))
    except ValidationError as exc:
        for err in exc.errors():
            key = ".".join(str(part) for part in (name, *err["loc"]))
            problems.append(f"{key} = {err.get('input')!r}: {err['msg']}")
        return None


def _fail(file: Path, problems: list[str]) -> Any:
    lines = "\n".join(f"  - {p}" for p in problems)
    print(f"invalid limits file {file}:\n{lines}", file=sys.stderr)
    raise SystemExit(2)


def _warnings(job: JobLimits, info: ContainerInfo, concurrent: int) -> list[str]:
    out = []
    memory = info.memory_mb()
    if memory and job.memory_mb and job.memory_mb * concurrent > memory:
        out.append(f"memory_mb {job.memory_mb} x {concurrent} concurrent job(s) exceeds the container's {memory:.0f} MB")
    if job.threads and job.threads > info.cpus():
        out.append(f"threads {job.threads} exceeds the container's {info.cpus()} CPU(s)")
    return out


def check(args: argparse.Namespace) -> int:
    job, guards = _load_limits(args.limits)
    info = detect()
    threads = job.threads or info.cpus()
    print("Guard layers:")
    for layer in guard_layers(LimitPlan(job, guards), info, threads=threads):
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
    for warning in _warnings(job, info, args.concurrent_jobs):
        print(f"WARNING: {warning}")
    return 0


def run(args: argparse.Namespace) -> int:
    job, guards = _load_limits(args.limits)
    payload = orjson.loads(args.payload) if args.payload else None
    preload = args.preload.split(",") if args.preload else ()
    with Sandbox(job, guards, preload=preload, fault_injection=args.fault_injection) as sb:
        outcome = sb.run(args.target, payload)
    sys.stdout.write(orjson.dumps(outcome.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if outcome.ok else 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--limits", help=f"limits file (default: ${LIMITS_ENV_VAR}, else ./limits.toml if present)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="print guard layers, container limits and calibrated limits")
    p_check.add_argument("--calibrate", action="store_true", help="start a template to measure its size")
    p_check.add_argument("--preload", default="numpy,pandas,sklearn,xgboost,matplotlib")
    p_check.add_argument("--concurrent-jobs", type=int, default=1,
                         help="jobs that may run at once, for the memory warning (default: 1)")
    p_check.set_defaults(func=check)
    p_run = sub.add_parser("run", help="run one target in the sandbox and print its outcome as JSON")
    p_run.add_argument("target", help="module:function")
    p_run.add_argument("--payload", help="JSON payload")
    p_run.add_argument("--preload", default="")
    p_run.add_argument("--fault-injection", action="store_true", help="tell the job fault injection is allowed")
    p_run.set_defaults(func=run)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
