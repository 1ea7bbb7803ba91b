"""Turn one result JSON string into what the UI shows: summary, metrics, plots, warnings, model file.

Plot images and the model file are written into a private temp directory that keeps only the
files of the last :data:`KEEP_RESULTS` results and is removed at shutdown.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import tempfile
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.stale import make_owned_dir, sweep_stale

__all__ = ["KEEP_RESULTS", "ResultFiles", "View", "render"]

UI_PREFIX = "worker-ui-"
"""Name prefix of the result files' dir in the temp dir."""

KEEP_RESULTS = 16
"""Results whose plot and model files stay on disk for the UI to serve."""

METRIC_HEADERS = ["Metric", "Value", "95% CI"]


class ResultFiles:
    """A temp directory holding the files of the most recent results only.

    ``home`` (``$TMPDIR/worker-ui-*``) names its owner process (``sandbox.stale``), so the next
    start removes it if this process was killed before :meth:`close`; at creation the dirs that
    dead owners left are removed. The files served to the UI are under ``root`` (inside
    ``home``), away from the owner marker.
    """

    def __init__(self) -> None:
        sweep_stale(tempfile.gettempdir(), UI_PREFIX)
        self.home = make_owned_dir(UI_PREFIX)
        self.root = self.home / "files"
        self.root.mkdir()
        self._dirs: deque[Path] = deque()
        self._lock = threading.Lock()

    def new_dir(self) -> Path:
        path = self.root / uuid.uuid4().hex[:12]
        path.mkdir()
        with self._lock:
            self._dirs.append(path)
            while len(self._dirs) > KEEP_RESULTS:
                shutil.rmtree(self._dirs.popleft(), ignore_errors=True)
        return path

    def close(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class View:
    """Everything the result panels show for one answer."""

    ok: bool
    summary: str
    metrics: list[list[Any]] = field(default_factory=list)
    plots: list[tuple[str, str]] = field(default_factory=list)
    warnings: str = ""
    model_file: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _decode_data_url(url: str) -> bytes | None:
    if not isinstance(url, str) or not url.startswith("data:") or "," not in url:
        return None
    try:
        return base64.b64decode(url.split(",", 1)[1], validate=False)
    except (binascii.Error, ValueError):
        return None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _failure_panel(env: dict[str, Any]) -> str:
    details = env.get("errorDetails") if isinstance(env.get("errorDetails"), dict) else {}
    lines = [f"### Failed: `{env.get('errorCode', 'unknown')}`", "", str(env.get("error", "(no message)"))]
    node = details.get("nodeId")
    if node:
        field_ = f" · field `{details['field']}`" if details.get("field") else ""
        lines += ["", f"**Node:** `{node}`{field_}"]
    problems = details.get("problems") or []
    if len(problems) > 1:
        lines += ["", "**Problems:**"] + [f"- {p.get('nodeId') or ''} {p.get('field') or ''}: {p.get('message')}" for p in problems[:20]]
    limit = details.get("limit")
    if isinstance(limit, dict) and limit.get("name"):
        unit = f" {limit['unit']}" if limit.get("unit") else ""
        lines += ["", f"**Limit:** `{limit['name']}` = {limit.get('value')}{unit}"]
    usage = details.get("usage")
    if isinstance(usage, dict):
        parts = [f"{k.replace('_', ' ')}: {v}" for k, v in usage.items() if v not in (None, 0, 0.0)]
        lines += ["", "**Usage:** " + (", ".join(parts) or "none")]
    tail = details.get("logTail")
    if tail:
        lines += ["", "**Log tail:**", "```", str(tail)[-3000:], "```"]
    return "\n".join(lines)


def _summary(results: dict[str, Any]) -> str:
    name = results.get("algorithmName") or results.get("algorithm") or "model"
    bits = [
        f"**{name}** · {results.get('problemType', '?')}",
        f"{results.get('trainSamples', '?')} train / {results.get('testSamples', '?')} test rows",
        f"{results.get('featuresCount', '?')} features",
        f"trained in {_fmt(results.get('trainingTimeSeconds', 0))} s",
    ]
    return "### Completed\n\n" + " · ".join(bits)


def render(text: str, files: ResultFiles | None) -> View:
    """The view of one result string (bad JSON is itself shown as a failure)."""
    try:
        env = json.loads(text)
    except (TypeError, ValueError):
        env = {"status": "failed", "errorCode": "invalid_result", "error": f"unreadable answer: {str(text)[:200]}"}
    if not isinstance(env, dict):
        env = {"status": "failed", "errorCode": "invalid_result", "error": "the answer is not an object"}
    if env.get("status") == "failed":
        return View(ok=False, summary=_failure_panel(env), raw=env)
    results = env.get("results") if isinstance(env.get("results"), dict) else {}
    metrics = []
    for m in results.get("metrics") or []:
        ci = m.get("confidenceInterval")
        ci_text = f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if isinstance(ci, list) and len(ci) == 2 else ""
        metrics.append([m.get("name") or m.get("key"), _fmt(m.get("value")), ci_text])
    view = View(ok=True, summary=_summary(results), metrics=metrics, raw=_without_blobs(env))
    warnings = [str(w) for w in results.get("warnings") or []]
    view.warnings = "\n".join(f"- Warning: {w}" for w in warnings)
    if files is None:
        return view
    folder = files.new_dir()
    for i, plot in enumerate(results.get("plots") or []):
        data = _decode_data_url(plot.get("url", ""))
        if data:
            path = folder / f"{i:02d}-{str(plot.get('key', 'plot'))[:40]}.png"
            path.write_bytes(data)
            view.plots.append((str(path), str(plot.get("name") or plot.get("key"))))
    model = results.get("model_base64")
    if isinstance(model, str) and model:
        try:
            path = folder / f"model_{results.get('algorithm', 'model')}.joblib"
            path.write_bytes(base64.b64decode(model))
            view.model_file = str(path)
        except (binascii.Error, ValueError):
            view.warnings += "\n- Warning: the model file could not be decoded"
    return view


def _without_blobs(env: dict[str, Any]) -> dict[str, Any]:
    """The envelope with base64 blobs shortened, so the raw-JSON panel stays readable."""
    results = env.get("results")
    if not isinstance(results, dict):
        return env
    short = dict(results)
    if isinstance(short.get("model_base64"), str):
        short["model_base64"] = f"<{len(short['model_base64'])} base64 chars>"
    short["plots"] = [
        {**p, "url": f"<data URL, {len(str(p.get('url', '')))} chars>"} for p in results.get("plots") or [] if isinstance(p, dict)
    ]
    return {**env, "results": short}
