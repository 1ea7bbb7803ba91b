"""Targets the sandbox tests run in children (importable as tests.sandbox.targets)."""

from __future__ import annotations

from typing import Any

from sandbox import JobContext


def echo(payload: Any, ctx: JobContext) -> Any:
    return {"payload": payload, "threads": ctx.threads, "cwd_is_tmpdir": str(ctx.tmpdir)}


def returns(payload: Any, ctx: JobContext) -> Any:
    """Returns its payload as the job's value."""
    return payload


def emit_events(payload: int, ctx: JobContext) -> int:
    for i in range(payload):
        ctx.emit({"type": "progress", "index": i})
    return payload


def unserialisable(payload: Any, ctx: JobContext) -> Any:
    return {1, 2, 3}


def thread_pools(payload: Any, ctx: JobContext) -> Any:
    import os

    from threadpoolctl import threadpool_info

    return {
        "pools": [(i["internal_api"], i["num_threads"]) for i in threadpool_info()],
        "threads": ctx.threads,
        "env": os.environ.get("OMP_NUM_THREADS"),
    }


def forest(payload: dict[str, int], ctx: JobContext) -> dict[str, Any]:
    """An sklearn fit whose memory grows with the payload's sizes."""
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(0)
    X = rng.random((payload["rows"], payload["cols"]))
    y = rng.random(payload["rows"])
    model = RandomForestRegressor(n_estimators=payload["trees"], n_jobs=ctx.threads, random_state=0).fit(X, y)
    return {"nodes": int(sum(t.tree_.node_count for t in model.estimators_))}


def xgb_fit(payload: Any, ctx: JobContext) -> dict[str, Any]:
    """An XGBoost fit after fork: it must not hang on an inherited OpenMP pool."""
    import numpy as np
    import xgboost as xgb

    rng = np.random.default_rng(0)
    X = rng.random((2000, 10))
    y = (X[:, 0] > 0.5).astype(int)
    model = xgb.XGBClassifier(n_estimators=20, nthread=ctx.threads, tree_method="hist").fit(X, y)
    return {"accuracy": float((model.predict(X) == y).mean())}


# -- warm-ups (run once by the template, before it forks) -----------------------------------

WARMED: dict[str, Any] = {}


def warm_record() -> None:
    """Leaves a mark every job can read back (proof it ran once, in the template), and a temp file."""
    import os
    import tempfile

    WARMED["pid"] = os.getpid()
    WARMED["runs"] = WARMED.get("runs", 0) + 1
    with tempfile.NamedTemporaryFile(delete=False, suffix=".warm") as handle:
        WARMED["file"] = handle.name
    print("warm-up noise on stdout")


def warm_thread() -> None:
    """Leaves a thread running: a template that forks must refuse it."""
    import threading
    import time

    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()


def warm_spin() -> None:
    """Spends 1.5 s of CPU: more than a job with cpu_seconds = 1 may use."""
    import time

    end = time.process_time() + 1.5
    while time.process_time() < end:
        pass


def warm_fail() -> None:
    print("warm-up noise on stdout")
    raise RuntimeError("the warm-up broke")


def read_warm_mark(payload: Any, ctx: JobContext) -> Any:
    import os
    import tempfile

    return {"warmed_pid": WARMED.get("pid"), "runs": WARMED.get("runs"), "pid": os.getpid(),
            "ppid": os.getppid(), "file": WARMED.get("file"), "job_tempdir": tempfile.gettempdir(),
            "ctx_tmpdir": str(ctx.tmpdir)}


def tree_hog(payload: dict[str, int], ctx: JobContext) -> Any:
    """``procs`` processes each holding ``mb`` MB, each under its own RLIMIT_DATA but not together:
    only the parent's watchdog, which sums the tree, can stop them."""
    import os
    import signal
    import time

    pids = []
    for _ in range(payload["procs"] - 1):
        pid = os.fork()
        if pid == 0:
            block = bytearray(payload["mb"] << 20)  # zero-filled, so every page is touched
            block[::4096] = b"x" * len(block[::4096])
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
    block = bytearray(payload["mb"] << 20)
    block[::4096] = b"x" * len(block[::4096])
    time.sleep(payload.get("seconds", 6))
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return {"survived": True}


def read_files(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Reads each named file from its own dir; reports whether ``payload["outside"]`` can be opened."""
    import os

    out: dict[str, Any] = {"files": {}, "listing": sorted(os.listdir(ctx.tmpdir))}
    for name in payload.get("names", []):
        out["files"][name] = (ctx.tmpdir / name).read_text()
    outside = payload.get("outside")
    if outside:
        try:
            with open(outside) as handle:
                handle.read(1)
            out["outside"] = "read"
        except OSError as exc:
            out["outside"] = type(exc).__name__
    return out
