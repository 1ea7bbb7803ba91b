"""Graph: order from the edges, node-type order without edges, duplicate ids and cycles refused."""

from __future__ import annotations

import random

import pytest

from executor.graph import build_graph
from executor.schema import Workflow, parse_config
from tests.executor import enginekit as kit


def _graph(wf: dict):  # type: ignore[no-untyped-def]
    workflow = Workflow.model_validate(wf)
    configs = {n.id: parse_config(n)[0] for n in workflow.nodes}
    return build_graph(workflow, configs)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_order_follows_the_edges_whatever_the_canvas_order(seed: int) -> None:
    wf = kit.example("random_forest_classification")
    random.Random(seed).shuffle(wf["nodes"])
    graph, problems = _graph(wf)
    assert problems == []
    pos = {nid: i for i, nid in enumerate(graph.order)}
    assert all(pos[e["source"]] < pos[e["target"]] for e in wf["edges"])


def test_without_edges_nodes_run_in_type_order() -> None:
    wf = kit.example("random_forest_classification")
    wf["edges"] = []
    wf["nodes"].reverse()
    graph, problems = _graph(wf)
    assert problems == []
    assert [graph.nodes[n].type for n in graph.order] == ["dataset", "preprocessing", "split", "model", "evaluate",
                                                          "visualize"]
    assert graph.chain("model-15") == ["dataset-11", "preprocessing-13", "split-12", "model-15"]


def test_workflow_without_edges_runs() -> None:
    wf = kit.example("iris_random_forest")
    wf["edges"] = []
    assert kit.run(wf)["status"] == "completed"


@pytest.mark.parametrize("mutate, fragment", [
    (lambda wf: wf["nodes"].append(dict(kit.node(wf, "split-12"))), "duplicate node id 'split-12'"),
    (lambda wf: wf["edges"].append(kit.edge("visualize-17", "dataset-11")), "cycle"),
    (lambda wf: wf["edges"].append(kit.edge("evaluate-16", "model-15")), "cycle"),
    (lambda wf: wf["edges"].append(kit.edge("dataset-11", "evaluate-16")), "cannot take input from a dataset"),
])
def test_bad_graphs_are_refused(mutate, fragment: str) -> None:  # type: ignore[no-untyped-def]
    wf = kit.example("iris_random_forest")
    mutate(wf)
    graph, problems = _graph(wf)
    assert graph is None and any(fragment in p.message for p in problems)


def test_evaluate_and_visualize_attach_to_their_model_only() -> None:
    wf = kit.example("iris_random_forest")
    wf["nodes"] += [{"id": "model-20", "type": "model", "config": {"algorithm": "knn"}},
                    {"id": "visualize-21", "type": "visualize", "config": {"selected_plots": ["roc_curve"]}}]
    wf["edges"] += [kit.edge("split-12", "model-20"), kit.edge("model-20", "visualize-21")]
    graph, _ = _graph(wf)
    assert graph.attachments("model-15") == (["evaluate-16"], ["visualize-17"])
    assert graph.attachments("model-20") == ([], ["visualize-21"])


def test_unconnected_nodes_are_skipped_with_a_warning() -> None:
    wf = kit.example("iris_random_forest")
    wf["nodes"].append({"id": "split-30", "type": "split", "config": {}})
    wf["edges"].append(kit.edge("dataset-11", "split-30"))
    res = kit.run(wf)["results"]
    assert {n["id"]: n["status"] for n in res["nodes"]}["split-30"] == "skipped"
    assert any("split-30" in w and "skipped" in w for w in res["warnings"])
