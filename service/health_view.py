"""The *Health* tab: the public health report (``service.status``) drawn for an operator who has not read the code.

Only what ``/health`` already shows the public is drawn: status, counts, codes, timings, node
types, limits, guard layers, the self-check and the container; never request data. Every table is
HTML with full-length text (nothing cut off) and coloured status words.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

from service.config import REPO_ROOT

__all__ = ["health_views", "limit_descriptions"]

_STATUS = {
    "ok": ("good", "OK", "serving; every guard passed its start-up self-check"),
    "degraded": ("warn", "Degraded", "serving, but a guard failed its start-up self-check (see below)"),
    "down": ("bad", "Down", "the sandbox's template is not running: jobs cannot start"),
    "starting": ("idle", "Starting", "the sandbox is starting"),
}
_TABLE_TITLES = {
    "job": "One job (the isolated child process)", "queue": "Admission and waiting line", "request": "Request size",
    "guards": "How limits are enforced", "data": "Datasets", "output": "Results", "download": "Datasets by URL",
    "search": "Hyperparameter search", "model": "Model size", "testing": "Testing", "cluster": "Where jobs run",
}
_OWN_WORDS = {
    ("data", "max_rows"): "Rows a dataset may have (code `dataset_error`).",
    ("data", "max_columns"): "Columns a dataset may have (code `dataset_error`).",
    ("data", "max_dataset_mb"): "MB a dataset may take (inline text, an uploaded file, the loaded table); also the "
                                "largest CSV the page accepts (code `dataset_error`).",
}
"""Keys limits.toml describes only together with their table."""
_SKIP_TABLES = {"text"}
"""``text`` repeats ``[request]`` keys (the engine's copy)."""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _yes(flag: Any, yes: str = "yes", no: str = "no", no_tone: str = "bad") -> str:
    if flag is True:
        return f"<span class='pill good'>{yes}</span>"
    if flag is False:
        return f"<span class='pill {no_tone}'>{no}</span>"
    return "<span class='pill idle'>—</span>"


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f"<tr><td colspan='{len(headers)}' class='empty'>none yet</td></tr>"
    return f"<div class='table-scroll'><table class='health-table {cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


@lru_cache(maxsize=1)
def limit_descriptions() -> dict[tuple[str, str], str]:
    """(table, key) → the first sentence of the comment above the key in the shipped ``limits.toml``.

    A key without a comment of its own gets its table's; when a table's first comment block holds
    the table's introduction and then the first key's comment, the key gets the sentence after it.
    """
    out: dict[tuple[str, str], str] = {}
    try:
        lines = (REPO_ROOT / "limits.toml").read_text().splitlines()
    except OSError:
        return out
    table, comment, intro, first = "", [], "", True
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            table, comment, intro, first = stripped[1:-1], [], "", True
        elif stripped.startswith("#"):
            comment.append(stripped.lstrip("#").strip())
        elif "=" in stripped:
            key = stripped.split("=", 1)[0].strip()
            own = comment
            if first and not intro and len(comment) > 1:
                starts = [i for i in range(1, len(comment)) if comment[i - 1].endswith(".")]
                if starts:
                    intro, own = " ".join(comment[: starts[-1]]), comment[starts[-1]:]
            out[(table, key)] = _first_sentence(" ".join(own) or intro)
            if first and not intro:
                intro = " ".join(comment)
            comment, first = [], False
        elif not stripped and comment and first:
            intro, comment = " ".join(comment), []
    return {**out, **_OWN_WORDS}


def _first_sentence(text: str) -> str:
    m = re.match(r"(.+?\.)(\s|$)", text)
    return (m.group(1) if m else text)[:240]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    if value == "":
        return "(none)"
    return str(value)


def _described(text: str) -> str:
    """A limits.toml comment as HTML: escaped, with its `code` spans kept as code."""
    return re.sub(r"`([^`]{1,80})`", r"<code>\1</code>", _e(text))


def _limits_table(limits: dict[str, Any]) -> str:
    described = limit_descriptions()
    sections = []
    for table, values in limits.items():
        if table in _SKIP_TABLES or not isinstance(values, dict):
            continue
        rows = "".join(
            f"<tr><td><code>{_e(key)}</code></td><td><b>{_e(_value(value))}</b></td>"
            f"<td>{_described(described.get((table, key), ''))}</td></tr>"
            for key, value in values.items()
        )
        sections.append(f"<tr class='section'><th colspan='3'>[{_e(table)}] · {_e(_TABLE_TITLES.get(table, table))}</th></tr>"
                        + rows)
    head = "<tr><th>setting</th><th>value</th><th>what it means</th></tr>"
    return (f"<div class='table-scroll'><table class='health-table limits'><thead>{head}</thead>"
            f"<tbody>{''.join(sections)}</tbody></table></div>")


def _flat(prefix: str, value: Any, rows: list[list[str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix} {str(k).replace('_', ' ')}".strip(), v, rows)
    else:
        rows.append([_e(prefix), _e(_value(value) if value is not None else "not set")])


_NODE_TONES = {"ready": "good", "starting": "idle", "failed": "bad", "lost": "bad"}


def _cluster_view(cluster: dict[str, Any]) -> str:
    """The Ray engine's nodes: state, capacity, guards (each node's own self-check) and jobs running."""
    request = cluster.get("request") or {}
    unreachable = "" if cluster.get("reachable", True) else " <span class='pill bad'>unreachable</span>"
    head = (f"<p>Ray cluster at <code>{_e(cluster.get('address'))}</code>{unreachable}: "
            f"capacity <b>{_e(cluster.get('capacity'))}</b> jobs at once (at most {_e(cluster.get('maxJobs'))}); "
            f"each job asks for {_e(request.get('cpus'))} CPUs and {_e(request.get('memoryMb'))} MB, each node's "
            f"sandbox holds {_e(request.get('sandboxMemoryMb'))} MB.</p>")
    rows = []
    for n in cluster.get("nodes") or []:
        if not isinstance(n, dict):
            continue
        check = n.get("selfCheck") or {}
        guards = (_yes(check.get("ok"), "passed", "failed") if check.get("probes") else _yes(None))
        if check.get("failing"):
            guards += " " + _e(", ".join(str(f) for f in check["failing"]))
        rows.append([
            f"<code>{_e(n.get('nodeId'))}</code>", _e(n.get("address")),
            f"<span class='pill {_NODE_TONES.get(str(n.get('state')), 'idle')}'>{_e(n.get('state'))}</span>"
            + (f" {_e(n.get('error'))}" if n.get("error") else ""),
            _e(n.get("cpus")), _e(n.get("memoryMb")), _e(n.get("slots")), _e(n.get("running")),
            _yes(n.get("templateAlive")), _e(n.get("niceness")), guards, _e(n.get("jobsStarted")),
        ])
    table = _table(["node", "address", "state", "CPUs", "memory MB", "job slots", "jobs running", "template",
                    "niceness", "guards (self-check)", "jobs started"], rows, "cluster")
    return head + table


def health_views(h: dict[str, Any]) -> tuple[str, str, str, str, str, str]:
    """(status, guard layers, self-check, recent outcomes, limits, container and template) as HTML."""
    tone, word, meaning = _STATUS.get(h.get("status", ""), ("idle", str(h.get("status")), ""))
    jobs = h.get("jobs", {})
    by_code = ", ".join(f"{_e(k)} {_e(v)}" for k, v in sorted((jobs.get("byCode") or {}).items())) or "none yet"
    template = h.get("template") or {}
    status = [
        f"<div class='health-status'><span class='status-chip {tone}'>{_e(word)}</span> <span>{_e(meaning)}</span></div>",
        "<dl class='counters'>",
        f"<div><dt>Jobs running</dt><dd>{_e(jobs.get('running'))} of {_e(jobs.get('maxConcurrent'))}</dd></div>",
        f"<div><dt>Waiting in line</dt><dd>{_e(jobs.get('waiting'))} of {_e(jobs.get('maxWaiting'))}</dd></div>",
        f"<div><dt>Jobs started since start-up</dt><dd>{_e(jobs.get('started'))}</dd></div>",
        f"<div><dt>Warm template running</dt><dd>{_yes(template.get('alive'))}</dd></div>",
        f"<div><dt>Answers by outcome</dt><dd>{by_code}</dd></div>",
        "</dl>",
        f"<p class='muted'>Version {_e(h.get('version'))} · Gradio {_e(h.get('gradio'))} · Python {_e(h.get('python'))}"
        f" · limits from {_e(h.get('limitsFile'))} · engine {_e(h.get('engine', 'local'))}</p>",
    ]
    if h.get("cluster"):
        status.append(_cluster_view(h["cluster"]))
    failing = (h.get("selfCheck") or {}).get("failing") or []
    if failing:
        status.append(f"<p class='upload-error'>Guards failing their start-up self-check: {_e(', '.join(failing))}. "
                      "Run <code>python -m sandbox check</code> and compare the container's limits with limits.toml.</p>")
    guards = _table(["guard", "active", "what it enforces here"], [
        [f"<code>{_e(g.get('name'))}</code>", _yes(g.get("active"), "active", "inactive", "warn"),
         _e(g.get("detail") or g.get("reason") or "")]
        for g in h.get("guards") or [] if isinstance(g, dict)
    ], "guards")
    probes = _table(["probe", "expected answer", "answer", "result", "detail"], [
        [f"<code>{_e(p.get('name'))}</code>", _e(p.get("expected") or "—"), _e(p.get("got") or "—"),
         _yes(p.get("ok"), "passed", "failed"), _e(p.get("detail") or "")]
        for p in (h.get("selfCheck") or {}).get("probes") or [] if isinstance(p, dict)
    ], "probes")
    recent = _table(["time", "outcome", "seconds", "waited (s)", "steps", "step types"], [
        [_e(r.get("at")), f"<span class='pill {'good' if r.get('code') == 'completed' else 'warn'}'>{_e(r.get('code'))}</span>",
         _e(r.get("seconds")), _e(r.get("queueWaitSeconds")), _e(r.get("nodes")), _e(", ".join(r.get("types") or []))]
        for r in h.get("recent") or [] if isinstance(r, dict)
    ], "recent")
    rows: list[list[str]] = []
    _flat("container", h.get("container") or {}, rows)
    _flat("template", template, rows)
    _flat("calibrated", h.get("calibrated") or {}, rows)
    container = _table(["item", "value"], rows, "container")
    return "".join(status), guards, probes, recent, _limits_table(h.get("limits") or {}), container
