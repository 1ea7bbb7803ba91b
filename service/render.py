"""Turn one result JSON string into what the UI shows: summary, metrics, plots, messages, model, details.

Plot images and the model file are written into a private temp directory that keeps only the
files of the last :data:`KEEP_RESULTS` results and is removed at shutdown.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shutil
import tempfile
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.stale import make_owned_dir, sweep_stale
from service.catalog import plot_name

__all__ = ["KEEP_RESULTS", "METRIC_HEADERS", "ResultFiles", "View", "metrics_table", "plain", "render", "split_messages"]

UI_PREFIX = "worker-ui-"
"""Name prefix of the result files' dir in the temp dir."""

KEEP_RESULTS = 16
"""Results whose plot and model files stay on disk for the UI to serve."""

METRIC_HEADERS = ["Metric", "Value"]
"""The metrics table's columns when no metric has per-fold values, an interval or a baseline."""


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
    metrics: dict[str, Any] = field(default_factory=lambda: {"headers": list(METRIC_HEADERS), "data": []})
    plots: list[tuple[str, str]] = field(default_factory=list)
    warnings: str = ""
    """Markdown: the run's warnings, then its notes (informational), each under its own heading."""
    model_file: str | None = None
    usage: str = ""
    """Markdown: how to load the model file and predict, when the model came back."""
    details: str = ""
    """Markdown: node ids, steps, timings, resource usage, log tail: for whoever debugs the run."""
    raw: dict[str, Any] = field(default_factory=dict)


_TAG = re.compile(r"^\[([^\]]{1,200})\]\s*")
_NOTE = re.compile(
    r"\(default |are filled with|one-hot encoded|are turned into|become TF-IDF|are used as 0/1|metrics are means over"
    r"|^no split node|clustering uses every row|Optuna ran|problem type inferred|names no target column; using"
    r"|no plots selected|no metrics selected|has no evaluate node|^baseline:|was downloaded from|^[a-z_]+: "
    r"|confidence intervals use"
)
"""Engine messages that describe what was done by default (notes), as opposed to what went wrong."""
_WORDING = [
    (re.compile(r"\bInline CSV\b"), "The CSV data"),
    (re.compile(r"\bInline data\b"), "The data"),
    (re.compile(r"\binline\b"), "sent"),
]
"""Internal words in engine messages and how a person reads them."""
_FAILURES = {
    "invalid_request": "the request was refused",
    "busy": "the worker is busy",
    "deadline_exceeded": "the request waited too long for a free slot",
    "invalid_workflow": "the workflow is not valid",
    "dataset_error": "the data could not be used",
    "execution_error": "a step failed",
    "timeout": "the job ran out of time",
    "cpu_time_exceeded": "the job used too much CPU time",
    "memory_exceeded": "the job ran out of memory",
    "process_limit_exceeded": "the job started too many processes",
    "file_size_exceeded": "the job wrote too large a file",
    "result_too_large": "the result was too large",
    "crashed": "the job crashed",
    "exited": "the job stopped early",
    "invalid_result": "the job's answer was unreadable",
    "internal_error": "the worker failed",
}
"""Error code → the headline a person reads (the code itself stays visible beside it)."""
_USAGE_LABELS = {
    "wall_seconds": ("wall time", "s"), "cpu_seconds": ("CPU time", "s"), "peak_memory_mb": ("peak memory", "MB"),
    "max_rss_mb": ("largest resident set", "MB"), "exit_code": ("exit code", ""), "signal": ("signal", ""),
    "limit_hit": ("limit hit", ""), "processes": ("processes", ""), "peak_tasks": ("most tasks at once", ""),
}


def _decode_data_url(url: str) -> bytes | None:
    if not isinstance(url, str) or not url.startswith("data:") or "," not in url:
        return None
    try:
        return base64.b64decode(url.split(",", 1)[1], validate=False)
    except (binascii.Error, ValueError):
        return None


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def plain(text: Any, *, field: str | None = None) -> tuple[str, str | None]:
    """An engine message as a person reads it, and the node id it named.

    The ``[node-id]`` prefix goes (to the details), a leading ``field:`` or ``op_name:`` becomes
    words, and internal words are replaced (:data:`_WORDING`).
    """
    text, node = _bare(text)
    if field and text.startswith(f"{field}: "):
        text = text[len(field) + 2:]
    text = re.sub(r"^([a-z]+(?:_[a-z0-9]+)+): ", lambda m: m.group(1).replace("_", " ") + ": ", text)
    for pattern, words in _WORDING:
        text = pattern.sub(words, text)
    return (text[:1].upper() + text[1:]) if text else text, node


def _code(value: Any) -> str:
    """``value`` as inline code (backticks and table bars taken out, cut to 80 characters)."""
    return "`" + str(value).replace("`", "'").replace("|", "¦").replace("\n", " ")[:80] + "`"


def _bare(text: Any) -> tuple[str, str | None]:
    text = str(text)
    m = _TAG.match(text)
    return (text[m.end():], m.group(1)) if m else (text, None)


def _md(text: str) -> str:
    """Text shown inside Markdown as it is (no emphasis, links or HTML from a message)."""
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text)


def split_messages(results: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(warnings, notes): the engine's ``notes`` if it sends them, else its warnings sorted by wording."""
    warnings, notes = [], [str(n) for n in results.get("notes") or []]
    for w in results.get("warnings") or []:
        text, _node = _bare(w)
        (notes if _NOTE.search(text) and not results.get("notes") else warnings).append(str(w))
    return warnings, notes


def _messages_md(warnings: list[str], notes: list[str]) -> str:
    parts = []
    if warnings:
        parts += ["**Warnings:** what was skipped or could not be done as asked", ""] + [f"- {_md(plain(w)[0])}" for w in warnings] + [""]
    if notes:
        parts += ["**Notes:** what was done by default", ""] + [f"- {_md(plain(n)[0])}" for n in notes]
    return "\n".join(parts)


def _usage_md(usage: dict[str, Any]) -> str:
    parts = []
    for key, value in usage.items():
        if value in (None, 0, 0.0, "", False):
            continue
        label, unit = _USAGE_LABELS.get(key, (key.replace("_", " "), ""))
        parts.append(f"{label} {_fmt(round(value, 2) if isinstance(value, float) else value)}{' ' + unit if unit else ''}")
    return ", ".join(parts) or "none recorded"


def _failure(env: dict[str, Any]) -> tuple[str, str]:
    """(panel, details) of a failed answer."""
    details = env.get("errorDetails") if isinstance(env.get("errorDetails"), dict) else {}
    code = str(env.get("errorCode", "unknown"))
    message, node = plain(env.get("error", "(no message)"), field=details.get("field"))
    if code == "cancelled":
        heading = "### Stopped: the job was cancelled"
    else:
        heading = f"### Failed: {_FAILURES.get(code, 'the run did not complete')}"
    lines = [heading, "", f"`{code.replace('`', '')[:60]}` · {_md(message)}"]
    problems = [p for p in details.get("problems") or [] if isinstance(p, dict)]
    if len(problems) > 1:
        head = message.split(":", 1)[0] if re.search(r"\(\d+ problems\):", message) else message
        lines = [heading, "", f"`{code.replace('`', '')[:60]}` · {_md(head)}:", ""]
        for p in problems[:20]:
            where = str(p.get("field") or "").removeprefix("config.")
            text = plain(p.get("message"))[0]
            lines.append(f"- {_md(where) + ': ' if where else ''}{_md(text[:1].lower() + text[1:])}")
    limit = details.get("limit")
    if isinstance(limit, dict) and limit.get("name"):
        unit = f" {limit['unit']}" if limit.get("unit") else ""
        lines += ["", f"**Limit:** {_code(limit['name'])} = {_md(str(limit.get('value')))}{_md(unit)}"]
    more = []
    node = details.get("nodeId") or node
    if node:
        field_ = f", field {_code(details['field'])}" if details.get("field") else ""
        more.append(f"**Step:** node {_code(node)}{field_}")
    if len(problems) > 1:
        more.append("\n".join(["**Problems by node:**", ""] + [
            f"- {_code(p.get('nodeId') or '?')} {_md(str(p.get('field') or ''))}" for p in problems[:20]]))
    usage = details.get("usage")
    if isinstance(usage, dict):
        more.append(f"**Resources used:** {_usage_md(usage)}")
    tail = details.get("logTail")
    if tail:
        more.append("\n".join(["**Log tail:**", "```", str(tail)[-3000:].replace("```", "'''"), "```"]))
    return "\n".join(lines), "\n\n".join(more)


def _summary(results: dict[str, Any]) -> str:
    name = results.get("algorithmName") or results.get("algorithm") or "model"
    dataset = results.get("dataset") if isinstance(results.get("dataset"), dict) else {}
    bits = [f"**{name}** · {results.get('problemType', '?')}"]
    if dataset.get("name"):
        bits.append(str(dataset["name"]))
    bits += [
        f"{results.get('trainSamples', '?')} train / {results.get('testSamples', '?')} test rows",
        f"{results.get('featuresCount', '?')} features",
        f"trained in {_fmt(results.get('trainingTimeSeconds', 0))} s",
    ]
    folds = _fold_count(results)
    if results.get("trainingMode") == "cross_validation" or folds:
        bits.append(f"{folds or 'k'}-fold cross-validation: values are the mean ± std over the folds")
    return "### Completed\n\n" + " · ".join(bits)


def _fold_values(metric: dict[str, Any]) -> list[Any] | None:
    for key in ("foldValues", "foldScores", "perFold", "folds"):
        value = metric.get(key)
        if isinstance(value, list) and value:
            return value
    return None


def _fold_count(results: dict[str, Any]) -> int | None:
    for m in results.get("metrics") or []:
        if isinstance(m, dict):
            folds = m.get("folds")
            if isinstance(folds, int) and not isinstance(folds, bool):
                return folds
            values = _fold_values(m)
            if values:
                return len(values)
    return None


def metrics_table(results: dict[str, Any]) -> dict[str, Any]:
    """Metric / Value (mean ± std under cross-validation) / per-fold values / 95 % CI / baseline.

    A column is there only when some metric has it: the CI column only when intervals were asked
    for, per-fold values only when the engine sent them.
    """
    metrics = [m for m in results.get("metrics") or [] if isinstance(m, dict)]
    baseline = results.get("baseline") if isinstance(results.get("baseline"), dict) else {}
    base_values = {b.get("key"): b.get("value") for b in baseline.get("metrics") or [] if isinstance(b, dict)}
    has_folds = any(_fold_values(m) for m in metrics)
    has_ci = any(isinstance(m.get("confidenceInterval"), list) for m in metrics)
    headers = ["Metric", "Value"] + (["Per fold"] if has_folds else []) + (["95% CI"] if has_ci else [])
    headers += ["Baseline"] if base_values else []
    rows = []
    for m in metrics:
        value = _fmt(m.get("value"))
        if isinstance(m.get("std"), (int, float)):
            value = f"{m.get('value'):.4g} ± {m['std']:.2g}" if isinstance(m.get("value"), float) else value
        row = [m.get("name") or m.get("key"), value]
        if has_folds:
            row.append(", ".join(_fmt(v) for v in _fold_values(m) or []))
        if has_ci:
            ci = m.get("confidenceInterval")
            row.append(f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if isinstance(ci, list) and len(ci) == 2 else "")
        if base_values:
            row.append(_fmt(base_values.get(m.get("key"), "")))
        rows.append(row)
    return {"headers": headers, "data": rows}


def _usage_snippet(results: dict[str, Any], file_name: str) -> str:
    usage = results.get("modelUsage")
    if not isinstance(usage, dict):
        return (f"**Use the model:** `model = joblib.load(\"{file_name}\")`, then `model.predict(rows)` with a "
                "pandas DataFrame of the training columns (target left out).")
    lines = ["**Use the model** (Python, scikit-learn and joblib installed):", ""]
    snippet = usage.get("snippet")
    if isinstance(snippet, str) and snippet.strip():
        snippet = snippet.strip()[:2000].replace('"model.joblib"', f'"{file_name}"')  # the file as downloaded
        lines += ["```python", snippet, "```"]
    columns = [c for c in usage.get("columns") or [] if isinstance(c, dict)]
    if columns:
        shown = ", ".join(f"`{str(c.get('name'))[:60]}` ({str(c.get('dtype'))[:20]})" for c in columns[:60])
        more = f" … and {len(columns) - 60} more" if len(columns) > 60 else ""
        lines += ["", f"**Input columns ({len(columns)}):** {shown}{more}"]
    return "\n".join(lines)


def _run_details(results: dict[str, Any]) -> str:
    lines = []
    nodes = [n for n in results.get("nodes") or [] if isinstance(n, dict)]
    if nodes:
        lines += ["| step | node | type | status | seconds |", "|---|---|---|---|---|"]
        lines += [f"| {i + 1} | {_code(n.get('id'))} | {_md(str(n.get('type')))} | {_md(str(n.get('status')))} | "
                  f"{_fmt(n.get('seconds'))} |"
                  for i, n in enumerate(nodes)]
    warned = [plain(w)[1] for w in results.get("warnings") or []]
    tagged = [f"- {_code(node)}: {_md(plain(w)[0])}" for w, node in zip(results.get("warnings") or [], warned, strict=False)
              if node]
    if tagged:
        lines += ["", "**Messages by node:**"] + tagged
    if isinstance(results.get("usage"), dict):
        lines += ["", f"**Resources used:** {_usage_md(results['usage'])}"]
    if results.get("hyperparameters"):
        params = ", ".join(f"{k} = {_fmt(v)}" for k, v in list(results["hyperparameters"].items())[:40])
        lines += ["", f"**Hyperparameters:** {_md(params)}"]
    return "\n".join(lines)


def render(text: str, files: ResultFiles | None) -> View:
    """The view of one result string (bad JSON is itself shown as a failure)."""
    try:
        env = json.loads(text)
    except (TypeError, ValueError):
        env = {"status": "failed", "errorCode": "invalid_result", "error": f"unreadable answer: {str(text)[:200]}"}
    if not isinstance(env, dict):
        env = {"status": "failed", "errorCode": "invalid_result", "error": "the answer is not an object"}
    if env.get("status") == "failed":
        panel, details = _failure(env)
        return View(ok=False, summary=panel, details=details, raw=env)
    results = env.get("results") if isinstance(env.get("results"), dict) else {}
    view = View(ok=True, summary=_summary(results), metrics=metrics_table(results), raw=_without_blobs(env),
                details=_run_details(results))
    warnings, notes = split_messages(results)
    view.warnings = _messages_md(warnings, notes)
    if files is None:
        return view
    folder = files.new_dir()
    problem = str(results.get("problemType") or "")
    for i, plot in enumerate(results.get("plots") or []):
        if not isinstance(plot, dict):
            continue
        data = _decode_data_url(plot.get("url", ""))
        if data:
            path = folder / f"{i:02d}-{re.sub(r'[^A-Za-z0-9_-]', '_', str(plot.get('key', 'plot')))[:40]}.png"
            path.write_bytes(data)
            view.plots.append((str(path), str(plot.get("name") or plot_name(str(plot.get("key")), problem))))
    model = results.get("model_base64")
    if isinstance(model, str) and model:
        try:
            path = folder / f"model_{re.sub(r'[^A-Za-z0-9_-]', '_', str(results.get('algorithm', 'model')))[:40]}.joblib"
            path.write_bytes(base64.b64decode(model))
            view.model_file = str(path)
            view.usage = _usage_snippet(results, path.name)
        except (binascii.Error, ValueError):
            view.warnings = "**Warnings:**\n\n- The model file could not be decoded.\n\n" + view.warnings
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
