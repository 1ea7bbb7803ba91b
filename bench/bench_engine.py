"""Engine benchmark: the iris example in-process (median ms) and random forest thread scaling.

The iris target (issue 3) is 150 ms where the platform's original worker took about 220 ms for
the same work, i.e. about 0.68x of it. Machines differ (this one's speed varies by 2x from day to
day), so the script also times a *plain baseline* in the same run: the same work done the
straightforward way the original worker does it (a DataFrame from ``load_iris``, a random split,
a 100-tree random forest, four weighted metrics, and two pyplot figures of 8 x 6 inches with
``tight_layout`` saved at 100 dpi), and reports the ratio next to the absolute figure.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from executor import EngineLimits, run_workflow  # noqa: E402
from sandbox import JobContext  # noqa: E402

IRIS_TARGET_MS = 150.0
"""Issue 3: the iris example, in-process, median at most this many milliseconds."""
ORIGINAL_MS = 220.0
"""Issue 3: what the original worker took for the same work on the machine the targets were set on."""
RATIO_TARGET = IRIS_TARGET_MS / ORIGINAL_MS
"""The same target as a ratio to the plain baseline timed in this run (~0.68)."""
SPEEDUP_TARGET = 1.7
"""Issue 3: random forest (200 trees, 20,000 rows) on 2 threads at least this much faster than on 1."""


def _datasets() -> None:
    try:
        import executor.datasets  # noqa: F401
    except ImportError:  # until the dataset module lands: the tests' stand-in over sklearn samples
        from tests.executor.enginekit import ensure_datasets

        ensure_datasets()


def iris_once() -> float:
    """One in-process run of the iris example, in milliseconds."""
    wf = json.loads((ROOT / "examples" / "iris_random_forest.json").read_text())
    ctx = JobContext.local(threads=2)
    started = time.perf_counter()
    out = run_workflow(wf, limits=EngineLimits(), ctx=ctx)
    elapsed = (time.perf_counter() - started) * 1000
    assert out["status"] == "completed", out.get("error")
    return elapsed


def iris_and_plain(repeats: int = 21) -> tuple[list[float], list[float]]:
    """The iris example and the plain baseline, run alternately so both see the same machine."""
    plain = plain_baseline()
    iris, base = [], []
    for i in range(repeats + 2):
        a = iris_once()
        started = time.perf_counter()
        plain()
        b = (time.perf_counter() - started) * 1000
        if i >= 2:  # the first runs warm imports and matplotlib
            iris.append(a)
            base.append(b)
    return iris, base


def plain_baseline() -> Any:
    """The same work as the iris example, written plainly (see the module docstring)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn import datasets
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score, recall_score
    from sklearn.model_selection import train_test_split

    def once() -> None:
        iris = datasets.load_iris()
        X, y = iris.data, iris.target
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=42)
        model = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=42).fit(X_tr, y_tr)
        pred = model.predict(X_te)
        model.predict_proba(X_te)
        accuracy_score(y_te, pred)
        for score in (precision_score, recall_score, f1_score):
            score(y_te, pred, average="weighted", zero_division=0)
        for kind in ("confusion_matrix", "feature_importance"):
            fig, ax = plt.subplots(figsize=(8, 6))
            if kind == "confusion_matrix":
                fig.colorbar(ax.imshow(confusion_matrix(y_te, pred), cmap="Blues"), ax=ax)
            else:
                order = np.argsort(model.feature_importances_)
                ax.barh(range(len(order)), model.feature_importances_[order])
                ax.set_yticks(range(len(order)), [iris.feature_names[i] for i in order])
            ax.set_title(kind)
            fig.tight_layout()
            fig.savefig(io.BytesIO(), format="png", dpi=100)
            plt.close(fig)

    return once


def forest_seconds(threads: int, records: list[dict[str, Any]], repeats: int = 3) -> float:
    wf = {"nodes": [
        {"id": "dataset-1", "type": "dataset", "config": {"dataset_id": "synthetic", "is_sample": False,
                                                          "data": records, "target_column": "target",
                                                          "problem_type": "classification"}},
        {"id": "model-2", "type": "model", "config": {"algorithm": "random_forest",
                                                      "hyperparameters": {"n_estimators": 200, "max_depth": None}}},
        {"id": "evaluate-3", "type": "evaluate", "config": {"selected_metrics": ["accuracy"]}}],
        "edges": [{"id": "e1", "source": "dataset-1", "target": "model-2"},
                  {"id": "e2", "source": "model-2", "target": "evaluate-3"}]}
    limits = EngineLimits.model_validate({"output": {"max_model_mb": 0}})
    best = []
    for _ in range(repeats):
        out = run_workflow(wf, limits=limits, ctx=JobContext.local(threads=threads))
        assert out["status"] == "completed", out.get("error")
        best.append(out["results"]["trainingTimeSeconds"])
    return statistics.median(best)


def synthetic(rows: int = 20_000, features: int = 20) -> list[dict[str, Any]]:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=rows, n_features=features, n_informative=10, random_state=0)
    return [{**{f"f{j}": float(v) for j, v in enumerate(row)}, "target": int(t)} for row, t in zip(X, y, strict=True)]


def main() -> int:
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    _datasets()
    times, plain_times = iris_and_plain()
    median = statistics.median(times)
    plain = statistics.median(plain_times)
    ratio = statistics.median(a / b for a, b in zip(times, plain_times, strict=True))
    records = synthetic()
    one, two = forest_seconds(1, records), forest_seconds(2, records)
    speedup = one / two if two else float("inf")
    print(f"{'benchmark':44s} {'measured':>12s} {'target':>12s}  ok")
    print(f"{'iris example in-process, median of 21':44s} {median:10.1f}ms {IRIS_TARGET_MS:10.0f}ms  "
          f"{median <= IRIS_TARGET_MS}")
    print(f"{'plain baseline (the same work, plainly)':44s} {plain:10.1f}ms {ORIGINAL_MS:10.0f}ms  (original)")
    print(f"{'iris example / plain baseline (median ratio)':44s} {ratio:11.2f}x {RATIO_TARGET:11.2f}x  {ratio <= RATIO_TARGET}")
    print(f"{'RF 200 trees, 20,000 rows, 1 thread (fit)':44s} {one:11.2f}s {'':>12s}")
    print(f"{'RF 200 trees, 20,000 rows, 2 threads (fit)':44s} {two:11.2f}s {'':>12s}")
    print(f"{'speedup 2 threads vs 1':44s} {speedup:11.2f}x {SPEEDUP_TARGET:11.1f}x  {speedup >= SPEEDUP_TARGET}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "iris_median_ms": median, "iris_target_ms": IRIS_TARGET_MS, "plain_baseline_ms": plain,
            "iris_over_plain": ratio, "iris_ratio_target": RATIO_TARGET, "rf_1_thread_s": one, "rf_2_threads_s": two,
            "speedup": speedup, "speedup_target": SPEEDUP_TARGET}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
