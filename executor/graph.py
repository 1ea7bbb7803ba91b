"""The workflow graph: execution order from the edges, each model's data chain and its evaluate/visualize nodes."""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from executor.echo import clip, listing, shown, tag
from executor.errors import Problem
from executor.schema import NODE_TYPES, Workflow

__all__ = ["DATA_TYPES", "Graph", "GraphNode", "build_graph"]

DATA_TYPES = frozenset({"dataset", "preprocessing", "split", "fault", "model"})
"""Types on a model's data path (a fault node may sit anywhere on it)."""

_ALLOWED_UPSTREAM: dict[str, frozenset[str]] = {
    "dataset": frozenset({"fault"}),
    "preprocessing": frozenset({"dataset", "preprocessing", "split", "fault"}),
    "split": frozenset({"dataset", "preprocessing", "fault"}),
    "model": frozenset({"dataset", "preprocessing", "split", "fault"}),
    "evaluate": frozenset({"model"}),
    "visualize": frozenset({"model", "evaluate"}),
    "fault": frozenset({"dataset", "preprocessing", "split", "fault", "model", "evaluate", "visualize"}),
}
"""Which node types may feed each type (the platform's rules, plus fault nodes anywhere)."""

_NO_EDGE_RANK = {"fault": 3.5}
"""Without edges, fault nodes run just before the models (after the data steps)."""


@dataclass
class GraphNode:
    """One node: id, engine type, canvas index and typed config."""

    id: str
    type: str
    index: int
    config: Any


@dataclass
class Graph:
    """Nodes in execution order and the links between them."""

    nodes: dict[str, GraphNode]
    order: list[str]
    parents: dict[str, list[str]]
    children: dict[str, list[str]]
    has_edges: bool
    warnings: list[str] = field(default_factory=list)

    def of_type(self, node_type: str) -> list[str]:
        """Ids of every node of ``node_type``, in execution order."""
        return [nid for nid in self.order if self.nodes[nid].type == node_type]

    def chain(self, model_id: str) -> list[str]:
        """The data path of a model: dataset first, the model last."""
        if not self.has_edges:
            steps = [nid for nid in self.order if self.nodes[nid].type in ("preprocessing", "split", "fault")]
            return [self.of_type("dataset")[0], *steps, model_id]
        path = [model_id]
        current = model_id
        while self.nodes[current].type != "dataset":
            ups = [p for p in self.parents[current] if self.nodes[p].type in DATA_TYPES - {"model"}]
            if not ups or ups[0] in path:
                break  # reported by validation: no dataset upstream
            current = ups[0]
            path.append(current)
        return path[::-1]

    def attachments(self, model_id: str) -> tuple[list[str], list[str]]:
        """The evaluate and visualize nodes that report on ``model_id``."""
        if not self.has_edges:
            return self.of_type("evaluate"), self.of_type("visualize")
        evaluates = [c for c in self.children[model_id] if self.nodes[c].type == "evaluate"]
        visuals = [c for c in self.children[model_id] if self.nodes[c].type == "visualize"]
        for ev in evaluates:
            visuals += [c for c in self.children[ev] if self.nodes[c].type == "visualize" and c not in visuals]
        return evaluates, [v for v in self.order if v in visuals]


def _edge_problems(workflow: Workflow, ids: set[str]) -> list[Problem]:
    out = []
    for i, edge in enumerate(workflow.edges):
        for end in ("source", "target"):
            ref = getattr(edge, end)
            if ref not in ids:
                out.append(Problem(f"edge {clip(str(edge.id or i))} refers to a node {shown(ref)} that does not exist",
                                   None, f"edges[{i}].{end}", ref))
    return out


def _topological(ids: list[str], parents: dict[str, list[str]], children: dict[str, list[str]]) -> list[str]:
    """Kahn's algorithm; ties keep the canvas order (a heap of canvas positions). Nodes on a cycle are left out."""
    indegree = {nid: len(parents[nid]) for nid in ids}
    position = {nid: i for i, nid in enumerate(ids)}
    ready = [position[nid] for nid in ids if indegree[nid] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        nid = ids[heapq.heappop(ready)]
        order.append(nid)
        for child in children[nid]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, position[child])
    return order


def _reachable_problems(graph: Graph) -> list[Problem]:
    out = []
    for nid in graph.order:
        node = graph.nodes[nid]
        for parent in graph.parents[nid]:
            ptype = graph.nodes[parent].type
            if ptype not in _ALLOWED_UPSTREAM.get(node.type, frozenset()):
                allowed = ", ".join(sorted(_ALLOWED_UPSTREAM.get(node.type, ())))
                out.append(Problem(f"a {node.type} node cannot take input from a {ptype} node ({clip(parent)});"
                                   f" allowed inputs: {allowed or 'none'}", nid, "edges", parent))
        if node.type == "model":
            current, seen = nid, set()
            while graph.nodes[current].type != "dataset" and current not in seen:
                seen.add(current)
                ups = [p for p in graph.parents[current] if graph.nodes[p].type in DATA_TYPES - {"model"}]
                if not ups:
                    out.append(Problem("this model has no dataset upstream: connect a dataset node to it",
                                       nid, "edges"))
                    break
                if len(ups) > 1:
                    graph.warnings.append(f"{tag(current)} has {len(ups)} data inputs ({listing(ups)});"
                                          f" only the first, {clip(ups[0])}, is used")
                current = ups[0]
    return out


def build_graph(workflow: Workflow, configs: dict[str, Any]) -> tuple[Graph | None, list[Problem]]:
    """Order the nodes and check the links. Returns every problem found, or the graph."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, node in enumerate(workflow.nodes):
        if node.id in seen:
            problems.append(Problem(f"duplicate node id {shown(node.id)} (nodes #{seen[node.id]} and #{i}):"
                                    " every node needs its own id", node.id, "id", node.id))
        else:
            seen[node.id] = i
    if problems:
        return None, problems
    ids = [n.id for n in workflow.nodes]
    nodes = {n.id: GraphNode(n.id, n.node_type(), i, configs.get(n.id)) for i, n in enumerate(workflow.nodes)}
    problems += _edge_problems(workflow, set(ids))
    parents: dict[str, list[str]] = defaultdict(list)
    children: dict[str, list[str]] = defaultdict(list)
    for edge in workflow.edges:
        if edge.source in nodes and edge.target in nodes and edge.source not in parents[edge.target]:
            parents[edge.target].append(edge.source)
            children[edge.source].append(edge.target)
    has_edges = bool(workflow.edges)
    if has_edges:
        order = _topological(ids, parents, children)
        if len(order) < len(ids):
            placed = set(order)
            stuck = [nid for nid in ids if nid not in placed]
            problems.append(Problem(f"the edges form a cycle through {listing(stuck)}", stuck[0], "edges", stuck))
            return None, problems
    else:
        rank = {t: float(i) for i, t in enumerate(NODE_TYPES)} | _NO_EDGE_RANK
        order = sorted(ids, key=lambda nid: (rank.get(nodes[nid].type, len(rank)), nodes[nid].index))
    graph = Graph(nodes, order, parents, children, has_edges)
    if not has_edges and len(graph.of_type("dataset")) > 1 and graph.of_type("model"):
        problems.append(Problem("several dataset nodes and no edges: connect each model to its dataset",
                                graph.of_type("dataset")[1], "edges"))
    if has_edges:
        problems += _reachable_problems(graph)
    return (None if problems else graph), problems
