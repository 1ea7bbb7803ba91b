"""Read one request body into a workflow, checking the ``[request]`` caps before any child runs.

Accepted shapes: the JSON text of ``{"nodes": [...], "edges": [...]}`` (what the platform sends),
the same as an object (the Python API), a JSON string holding that text (double-encoded), and a
``{"workflow": ...}`` wrapper. Node-level variants (``node.data.config``, ``trainTestSplit``…) are
the engine's business.

The text is JSON only (orjson); no Python parser ever sees it. Before it is decoded, its size is
checked and a linear scan (:mod:`service.jsonscan`) bounds its nesting depth, the number of values
and the longest string, so decoding can neither recurse deeply nor build more objects than the
caps allow. The caller runs this off the event loop (``Worker`` uses a small parse pool).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from service.catalog import SAMPLES
from service.config import RequestLimits
from service.jsonscan import scan

__all__ = ["Fetches", "ParsedRequest", "RequestError", "decode_request", "fetches", "parse_request", "summarize"]

_URL_KEYS = ("dataset_url", "datasetUrl", "file_url", "fileUrl")
"""Every name the engine reads a dataset URL from (``executor.schema.DatasetConfig.dataset_url``)."""
_ID_KEYS = ("dataset_id", "datasetId", "selectedDatasetId")
"""Every name the engine reads a dataset id from (``executor.schema.DatasetConfig.dataset_id``)."""
_DOWNLOADED = frozenset(key for key, sample in SAMPLES.items() if sample["origin"] == "download")

_KB = 1024
_EMPTY = "the request is empty: send the workflow JSON {\"nodes\": [...], \"edges\": [...]}"


@dataclass
class RequestError(Exception):
    """The request cannot become a workflow: code ``invalid_request``."""

    message: str
    limit: dict[str, Any] | None = None
    """``{"name": <[request] key>, "value": <limit>, "got": <value seen>}`` when a cap was hit."""

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Fetches:
    """What a workflow may download, judged by the parent: which TCP ports and files its job needs.

    Only dataset nodes count (the engine downloads nowhere else), in every place and under every
    alias the engine reads a config from: never under, so a download is never refused by mistake.
    """

    url: bool = False
    """A node names a dataset URL."""
    sample: bool = False
    """A node names a sample the engine downloads on first use (and then caches)."""
    ports: frozenset[int] = frozenset()
    """Ports written out in those URLs (``http://host:8080/…``); scheme ports are ``[guards] connect_ports``."""

    @property
    def any(self) -> bool:
        return self.url or self.sample


@dataclass(frozen=True)
class ParsedRequest:
    """A checked workflow as the parent keeps it while it waits: compact JSON bytes, not objects."""

    body: bytes
    """The workflow object as compact JSON, exactly what the job child receives."""
    summary: dict[str, Any]
    """What the log line says about it (:func:`summarize`)."""
    fetches: Fetches = field(default_factory=Fetches)
    """What its job may download (:func:`fetches`)."""


def _over(name: str, what: str, got: float, limit: int, unit: str = "") -> RequestError:
    shown = f"{got:.0f}" if isinstance(got, float) else str(got)
    return RequestError(
        f"the request {what} {shown}{unit}, over the limit of {limit}{unit} ([request] {name})",
        {"name": name, "value": limit, "got": got},
    )


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a Python object (iterative; stops counting once past ``limit``)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if not isinstance(item, (dict, list)):
            continue
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children)
    return deepest


def _encode_object(value: Any, caps: RequestLimits) -> bytes:
    """An object handed over by the Python API, as JSON text (checked like any text after)."""
    depth = _depth(value, caps.max_depth)
    if depth > caps.max_depth:
        raise _over("max_depth", "is nested", depth, caps.max_depth, " levels")
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise RequestError(
            f"the request holds a value that cannot be passed on ({str(exc)[:120]}): integers must fit in "
            "64 bits and strings must not contain unpaired UTF-16 surrogates"
        ) from None


def _as_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise RequestError(
            "the request holds a string with an unpaired UTF-16 surrogate, which cannot be passed on"
        ) from None


def _decode_text(text: bytes, caps: RequestLimits) -> Any:
    """Size check, linear scan against the caps, then orjson. Raises :class:`RequestError`."""
    if len(text) > caps.max_request_kb * _KB:
        raise _over("max_request_kb", "is", round(len(text) / _KB, 1), caps.max_request_kb, " KB")
    if not text.strip():
        raise RequestError(_EMPTY)
    shape = scan(text, max_depth=caps.max_depth)
    if shape.depth > caps.max_depth:
        raise _over("max_depth", "is nested", shape.depth, caps.max_depth, " levels")
    if shape.values > caps.max_json_values:
        raise _over("max_json_values", "holds up to", shape.values, caps.max_json_values, " JSON values")
    if shape.longest_string > caps.max_string_kb * _KB:
        raise _over("max_string_kb", "holds a string of", round(shape.longest_string / _KB, 1), caps.max_string_kb, " KB")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        hint = ""
        if text.lstrip()[:2] in (b"{'", b"['"):
            hint = " (it looks like a Python object: send JSON text, with double quotes)"
        raise RequestError(f"the request is not valid JSON: {str(exc)[:160]}{hint}") from None


def decode_request(raw: Any, caps: RequestLimits) -> dict[str, Any]:
    """The workflow object in ``raw``, or :class:`RequestError` naming what was wrong and the limit."""
    if raw is None:
        raise RequestError(_EMPTY)
    value = _decode_text(_encode_object(raw, caps) if isinstance(raw, (dict, list)) else _as_bytes(raw), caps)
    if isinstance(value, str):  # double-encoded: a JSON string holding the workflow text
        value = _decode_text(_as_bytes(value), caps)
    if isinstance(value, dict) and "nodes" not in value and isinstance(value.get("workflow"), (dict, str)):
        inner = value["workflow"]
        value = _decode_text(_as_bytes(inner), caps) if isinstance(inner, str) else inner
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        raise RequestError(f"the request must be a JSON object with nodes and edges; got {kind}")
    nodes = value.get("nodes")
    if nodes is None or nodes == []:
        raise RequestError("the workflow has no nodes: send at least a dataset node and a model node")
    if not isinstance(nodes, list):
        raise RequestError(f"the workflow's nodes must be a list; got {type(nodes).__name__}")
    if len(nodes) > caps.max_nodes:
        raise _over("max_nodes", "has", len(nodes), caps.max_nodes, " nodes")
    return value


def parse_request(raw: Any, caps: RequestLimits) -> ParsedRequest:
    """:func:`decode_request`, kept as bytes plus a summary (the decoded objects are dropped)."""
    workflow = decode_request(raw, caps)
    return ParsedRequest(body=orjson.dumps(workflow), summary=summarize(workflow), fetches=fetches(workflow))


def fetches(workflow: dict[str, Any]) -> Fetches:
    """Which downloads a workflow's job may make: dataset URLs (and their ports), downloaded samples."""
    url = sample = False
    ports: set[int] = set()
    for node in workflow.get("nodes") or []:
        if not isinstance(node, dict) or node.get("type") != "dataset":  # only a dataset node downloads
            continue
        data = node.get("data")
        places = (node.get("config"), data.get("config") if isinstance(data, dict) else None, data)
        for cfg in (place for place in places if isinstance(place, dict)):
            for key in _URL_KEYS:
                value = cfg.get(key)
                if isinstance(value, str) and value.strip():
                    url = True
                    port = _port(value.strip())
                    if port is not None:
                        ports.add(port)
            for key in _ID_KEYS:
                value = cfg.get(key)
                if isinstance(value, str) and value.strip().removeprefix("sample-") in _DOWNLOADED:
                    sample = True
    return Fetches(url=url, sample=sample, ports=frozenset(ports))


def _port(url: str) -> int | None:
    """The port written out in ``url``, if any and valid (the engine refuses the rest itself)."""
    try:
        port = urlsplit(url).port
    except ValueError:
        return None
    return port if port else None


def _config(node: dict[str, Any]) -> dict[str, Any]:
    for candidate in (node.get("config"), (node.get("data") or {}).get("config") if isinstance(node.get("data"), dict) else None, node.get("data")):
        if isinstance(candidate, dict):
            return candidate
    return {}


def summarize(workflow: dict[str, Any] | None) -> dict[str, Any]:
    """A short description for the log line: node types, algorithms, dataset ids, fault kinds."""
    if not workflow:
        return {}
    nodes = [n for n in workflow.get("nodes") or [] if isinstance(n, dict)]
    types, algorithms, datasets, faults = [], [], [], []
    for node in nodes:
        kind = str(node.get("type"))[:40]
        types.append(kind)
        cfg = _config(node)
        if kind == "model" and cfg.get("algorithm") is not None:
            algorithms.append(str(cfg["algorithm"])[:40])
        if kind == "dataset":
            ident = cfg.get("dataset_id") or cfg.get("datasetId") or cfg.get("selectedDatasetId")
            datasets.append(str(ident)[:64] if ident is not None else ("inline" if cfg.get("data") else None))
        if kind == "fault":
            faults.append(str(cfg.get("kind"))[:40])
    out: dict[str, Any] = {"nodes": len(nodes), "types": types, "algorithms": algorithms, "datasets": datasets}
    if faults:
        out["faults"] = faults
    return out
