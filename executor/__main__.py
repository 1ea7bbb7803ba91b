"""Command line: ``python -m executor run WORKFLOW.json [--in-process]`` and ``python -m executor schema``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from executor.results import envelope_json


def _settings(path: str | None) -> Any:
    from service.config import load_settings

    return load_settings(path)


def _sandbox_envelope(outcome: Any) -> dict[str, Any]:
    if outcome.ok:
        value = outcome.value
        return value if isinstance(value, dict) else {"status": "failed", "error": "the job returned no result",
                                                      "errorCode": "execution_error", "errorDetails": {}}
    details = {"usage": outcome.usage.to_dict(), "limit": outcome.details.get("limit"), "logTail": outcome.log_tail}
    return {"status": "failed", "error": outcome.message, "errorCode": outcome.code, "errorDetails": details}


def run(args: argparse.Namespace) -> int:
    settings = _settings(args.limits)
    text = Path(args.workflow).read_text(encoding="utf-8") if args.workflow != "-" else sys.stdin.read()
    try:
        workflow: Any = json.loads(text)
    except ValueError:
        workflow = text  # the engine reports it as invalid JSON, in the usual envelope
    payload = {"workflow": workflow, "limits": settings.engine_limits(),
               "fault_injection": settings.testing.fault_injection, "request_id": "cli"}
    if args.in_process:
        from executor.entry import run as entry_run
        from sandbox import JobContext

        threads = settings.job.threads or 1
        ctx = JobContext.local(threads=threads, fault_injection=settings.testing.fault_injection)
        envelope = entry_run(payload, ctx)
    else:
        from sandbox import Sandbox

        preload = ["executor.preload"]
        with Sandbox(settings.job, settings.guards, preload=preload,
                     fault_injection=settings.testing.fault_injection) as sb:
            envelope = _sandbox_envelope(sb.run("executor.entry:run", payload))
    print(envelope_json(envelope))
    return 0 if envelope.get("status") == "completed" else 2


def schema(args: argparse.Namespace) -> int:
    from executor.schema import workflow_json_schema

    print(json.dumps(workflow_json_schema(), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m executor", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run a workflow JSON file and print the API's JSON answer")
    p_run.add_argument("workflow", help="path to the workflow JSON ('-' = stdin)")
    p_run.add_argument("--in-process", action="store_true", help="skip the sandbox (no isolation, no limits)")
    p_run.add_argument("--limits", default=None, help="limits.toml to use (default: the repo's)")
    p_run.set_defaults(func=run)
    p_schema = sub.add_parser("schema", help="print the JSON Schema of an accepted workflow")
    p_schema.set_defaults(func=schema)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
