"""Read one request body into a workflow dict, checking the ``[request]`` caps before any child runs.

Accepted shapes: the JSON text of ``{"nodes": [...], "edges": [...]}`` (what the platform sends),
the same as an object, a JSON string holding that text (double-encoded), and a ``{"workflow": ...}``
wrapper. Node-level variants (``node.data.config``, ``trainTestSplit``…) are the engine's business.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

import orjson

from service.config import RequestLimits

__all__ = ["RequestError", "parse_request", "summarize"]

_KB = 1024


@dataclass
class RequestError(Exception):
    """The request cannot become a workflow: code ``invalid_request``."""

    message: str
    limit: dict[str, Any] | None = None
    """``{"name": <[request] key>, "value": <limit>, "got": <value seen>}`` when a cap was hit."""

    def __str__(self) -> str:
        return self.message


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of ``value`` (iterative; stops counting once past ``limit``)."""
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


def _too_deep(depth: int, caps: RequestLimits) -> RequestError:
    return RequestError(
        f"the request is nested {depth}+ levels deep, over the limit of {caps.max_depth} ([request] max_depth)",
        {"name": "max_depth", "value": caps.max_depth, "got": depth},
    )


def _decode(text: str, caps: RequestLimits) -> Any:
    size = len(text.encode("utf-8", errors="replace"))
    if size > caps.max_request_kb * _KB:
        raise RequestError(
            f"the request is {size / _KB:.0f} KB, over the limit of {caps.max_request_kb} KB ([request] max_request_kb)",
            {"name": "max_request_kb", "value": caps.max_request_kb, "got": round(size / _KB, 1)},
        )
    if not text.strip():
        raise RequestError("the request is empty: send the workflow JSON {\"nodes\": [...], \"edges\": [...]}")
    try:
        return json.loads(text)
    except RecursionError:
        raise _too_deep(caps.max_depth + 1, caps) from None
    except ValueError as exc:
        value = _python_literal(text)
        if value is None:
            raise RequestError(f"the request is not valid JSON: {exc}") from None
        return value


def _python_literal(text: str) -> Any:
    """An object that reached us as its Python repr (a client sent an object to a text input), else None.

    Only literals are read (``ast.literal_eval``); nothing is ever evaluated as code.
    """
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def parse_request(raw: Any, caps: RequestLimits) -> dict[str, Any]:
    """The workflow object in ``raw``, or :class:`RequestError` naming what was wrong and the limit."""
    value = raw
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if value is None:
        raise RequestError("the request is empty: send the workflow JSON {\"nodes\": [...], \"edges\": [...]}")
    if isinstance(value, str):
        value = _decode(value, caps)
        if isinstance(value, str):  # double-encoded: a JSON string holding the workflow text
            value = _decode(value, caps)
    elif isinstance(value, (dict, list)):
        depth = _depth(value, caps.max_depth)
        if depth > caps.max_depth:
            raise _too_deep(depth, caps)
        size = len(json.dumps(value, default=str))
        if size > caps.max_request_kb * _KB:
            raise RequestError(
                f"the request is {size / _KB:.0f} KB, over the limit of {caps.max_request_kb} KB ([request] max_request_kb)",
                {"name": "max_request_kb", "value": caps.max_request_kb, "got": round(size / _KB, 1)},
            )
    if isinstance(value, dict) and "nodes" not in value and isinstance(value.get("workflow"), (dict, str)):
        inner = value["workflow"]
        value = _decode(inner, caps) if isinstance(inner, str) else inner
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        raise RequestError(f"the request must be a JSON object with nodes and edges; got {kind}")
    depth = _depth(value, caps.max_depth)
    if depth > caps.max_depth:
        raise _too_deep(depth, caps)
    try:
        orjson.dumps(value)  # what the sandbox must do to hand it to the child
    except orjson.JSONEncodeError as exc:
        raise RequestError(
            f"the request holds a value that cannot be passed on ({exc}): integers must fit in 64 bits "
            "and strings must not contain unpaired UTF-16 surrogates"
        ) from None
    nodes = value.get("nodes")
    if nodes is None or nodes == []:
        raise RequestError("the workflow has no nodes: send at least a dataset node and a model node")
    if not isinstance(nodes, list):
        raise RequestError(f"the workflow's nodes must be a list; got {type(nodes).__name__}")
    if len(nodes) > caps.max_nodes:
        raise RequestError(
            f"the workflow has {len(nodes)} nodes, over the limit of {caps.max_nodes} ([request] max_nodes)",
            {"name": "max_nodes", "value": caps.max_nodes, "got": len(nodes)},
        )
    return value


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
