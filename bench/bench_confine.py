"""What job confinement (Landlock filesystem, TCP and scopes, seccomp) costs, A/B in one run.

Run: ``python bench/bench_confine.py [--rounds 40] [--json out.json]``. Two sandboxes with the same
job limits, one with every ``[guards]`` confinement layer off and one with the shipped switches,
run the same jobs interleaved (A B, B A, …), so the machine's load hits both alike: a no-op job
round trip and the iris example through the engine. Prints the medians side by side and the
median pairwise difference (within the run-to-run noise here), then ``confine.apply`` timed alone
in a fresh fork. The target (job-confinement issue) is under 2 ms added per job.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import Sandbox, confine  # noqa: E402
from service.config import load_settings  # noqa: E402
from service.request import fetches  # noqa: E402

NOOP = ("sandbox.faults:target", {"kind": "sleep", "seconds": 0})


def _iris_payload(settings: Any) -> dict[str, Any]:
    workflow = json.loads((ROOT / "examples" / "iris_random_forest.json").read_text())
    workflow = workflow.get("workflow", workflow)
    return {"workflow": workflow, "limits": settings.engine_limits(), "fault_injection": False, "request_id": "bench"}


def _time(sb: Sandbox, target: str, payload: Any, ports: list[int]) -> float:
    started = time.perf_counter()
    out = sb.run(target, payload, connect_ports=ports)
    elapsed = time.perf_counter() - started
    if not out.ok:
        raise SystemExit(f"{target} failed: {out.to_dict()}")
    return elapsed


def apply_in_fork(guards: Any, rounds: int) -> float:
    """Median ms of ``confine.apply`` alone in a fresh fork of this (warm) process: an upper bound, as
    the fork's first touches of the code it runs count too (a job child has touched most already)."""
    import os
    import tempfile

    confine.prepare()
    job = Path(os.path.realpath(tempfile.mkdtemp(prefix="bench-confine-")))
    samples = []
    for _ in range(rounds):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: apply, report, leave without cleanup
            started = time.perf_counter()
            confine.apply(guards, job, [], [])
            os.write(w, str(time.perf_counter() - started).encode())
            os._exit(0)
        os.close(w)
        samples.append(float(os.read(r, 64)))
        os.close(r)
        os.waitpid(pid, 0)
    job.rmdir()
    return round(statistics.median(samples) * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40, help="A/B pairs per measure")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    settings = load_settings()
    job = settings.job.model_copy(update={"wall_clock_seconds": 60.0})
    on = settings.guards
    off = on.model_copy(update={layer: "off" for layer in confine.LAYERS})
    iris = _iris_payload(settings)
    ports: list[int] = [] if not fetches(iris["workflow"]).any else list(on.connect_ports)
    common = {"preload": ["executor.preload"], "fault_injection": True, "extra_env": {"MPLBACKEND": "Agg"}}
    with Sandbox(job, off, **common) as sb_off, Sandbox(job, on, **common) as sb_on:
        active = [layer["name"] for layer in sb_on.layers() if layer["active"] and layer["name"] in confine.LAYERS]
        figures: dict[str, Any] = {"layers_on": active, "rounds": args.rounds}
        for name, (target, payload) in {"noop": NOOP, "iris": ("executor.entry:run", iris)}.items():
            for sb in (sb_off, sb_on):  # warm both
                _time(sb, target, payload, ports)
            a, b = [], []
            rounds = args.rounds * (5 if name == "noop" else 1)
            for i in range(rounds):  # A B, B A, …: neither always runs right after the other
                if i % 2:
                    b.append(_time(sb_on, target, payload, ports))
                    a.append(_time(sb_off, target, payload, ports))
                else:
                    a.append(_time(sb_off, target, payload, ports))
                    b.append(_time(sb_on, target, payload, ports))
            diffs = [y - x for x, y in zip(a, b, strict=True)]
            figures[name] = {
                "off_median_ms": round(statistics.median(a) * 1000, 2),
                "on_median_ms": round(statistics.median(b) * 1000, 2),
                "added_median_ms": round(statistics.median(diffs) * 1000, 2),
                "pairs": rounds,
            }
    import executor.preload  # noqa: F401  # warm like the template, then fork
    figures["apply_in_fork_ms"] = apply_in_fork(on, args.rounds)
    print("Job confinement cost (this machine; A/B interleaved in one run)")
    print(f"  layers on in B: {', '.join(active) or 'none (the kernel offers none)'}; "
          f"{figures['noop']['pairs']} no-op pairs, {figures['iris']['pairs']} iris pairs (order alternating)")
    print(f"  {'job':28s} {'off (ms)':>10s} {'on (ms)':>10s} {'added (ms)':>11s} {'ratio':>7s}")
    for name, label in (("noop", "no-op round trip"), ("iris", "iris example (engine)")):
        f = figures[name]
        print(f"  {label:28s} {f['off_median_ms']:10.1f} {f['on_median_ms']:10.1f} {f['added_median_ms']:11.2f} "
              f"{f['on_median_ms'] / f['off_median_ms']:7.3f}")
    print(f"  confine.apply alone in a fresh fork of a warm process: {figures['apply_in_fork_ms']:.2f} ms (median)")
    print("  target: under 2 ms added per job (median of the pairwise differences)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
