"""The engine in a job child vs in-process: per node, in one run.

Run: ``python bench/bench_child.py [--rounds 15] [--example iris_random_forest] [--json out.json]``.
Three arms, interleaved round by round so the machine's load hits all alike:

- ``in-process``: the engine (``executor.entry:run``) called in this process, warm (after a first run);
- ``sandbox, idle``: the same payload through a sandbox built like the service's (the engine's
  preload and warm-up), each job started after the previous one has ended and the next child had
  time to get ready (a quiet worker);
- ``sandbox, back to back``: jobs submitted one right after the other (a busy worker).

Prints each node's median seconds and the child/in-process ratio (target: within 1.10), and the
whole run's. The per-node times are the engine's own (``results.nodes[].seconds``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import JobContext, Sandbox  # noqa: E402
from service.config import load_settings  # noqa: E402
from service.worker import ENGINE_TARGET, PRELOAD, WARMUP  # noqa: E402

IDLE_PAUSE_SECONDS = 1.5
"""Between two 'idle' jobs: time for the next job child's warm-up to finish."""


def _payload(settings: Any, example: str) -> dict[str, Any]:
    workflow = json.loads((ROOT / "examples" / f"{example}.json").read_text())
    return {"workflow": workflow.get("workflow", workflow), "limits": settings.engine_limits(),
            "fault_injection": False, "request_id": "bench"}


def _nodes(value: Any) -> dict[str, float]:
    results = (value or {}).get("results") or {}
    return {f"{n['type']}": float(n.get("seconds") or 0.0) for n in results.get("nodes") or []}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--example", default="iris_random_forest")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    settings = load_settings()
    payload = _payload(settings, args.example)
    from executor.entry import run as engine_run  # the parent bench process: in-process arm

    threads = settings.job.threads or 2
    tmp = tempfile.mkdtemp(prefix="bench-child-")
    ctx = JobContext.local(threads=threads, tmpdir=tmp)
    engine_run(payload, ctx)  # warm the in-process arm
    arms: dict[str, list[tuple[float, dict[str, float]]]] = {"in-process": [], "sandbox, idle": [],
                                                             "sandbox, back to back": []}
    with Sandbox(settings.job, settings.guards, preload=PRELOAD, warmup=WARMUP,
                 extra_env={"MPLBACKEND": "Agg"}) as sb:
        sb.run(ENGINE_TARGET, payload)
        for _ in range(args.rounds):
            started = time.perf_counter()
            value = engine_run(payload, ctx)
            arms["in-process"].append((time.perf_counter() - started, _nodes(value)))
            time.sleep(IDLE_PAUSE_SECONDS)
            started = time.perf_counter()
            out = sb.run(ENGINE_TARGET, payload)
            arms["sandbox, idle"].append((time.perf_counter() - started, _nodes(out.value)))
            started = time.perf_counter()  # right after: the next child has had no time to warm
            out = sb.run(ENGINE_TARGET, payload)
            arms["sandbox, back to back"].append((time.perf_counter() - started, _nodes(out.value)))
    node_names = list(arms["in-process"][0][1])
    figures: dict[str, Any] = {"example": args.example, "rounds": args.rounds, "threads": threads, "arms": {}}
    for arm, samples in arms.items():
        figures["arms"][arm] = {
            "total_ms": round(statistics.median(s[0] for s in samples) * 1000, 1),
            "nodes_ms": {n: round(statistics.median(s[1].get(n, 0.0) for s in samples) * 1000, 1) for n in node_names},
        }
    base = figures["arms"]["in-process"]
    print(f"The engine in a job child vs in-process ({args.example}, {args.rounds} rounds, medians in ms; "
          f"ratio = arm / in-process, target <= 1.10 per node)")
    header = f"  {'node':12s}" + "".join(f"{arm:>24s}" for arm in arms)
    print(header)
    for n in [*node_names, "total"]:
        row = f"  {n:12s}"
        for arm in arms:
            f = figures["arms"][arm]
            ms = f["total_ms"] if n == "total" else f["nodes_ms"][n]
            ref = base["total_ms"] if n == "total" else base["nodes_ms"][n]
            ratio = f" ({ms / ref:.2f}x)" if arm != "in-process" and ref > 0 else ""
            row += f"{ms:>15.1f}{ratio:>9s}" if ratio else f"{ms:>24.1f}"
        print(row)
    print("  total = the whole call as the caller sees it (the sandbox arms include the hand-off)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
