"""Answers are bounded whatever the request holds (limits.toml ``[request]`` max_problems, max_echo_chars).

Finding reproduced: a 45 KB workflow (2,500 unknown preprocessing ops, a 7,000-character node id)
got a 38.6 MB error answer: one problem per op, each repeating the id and the list of valid ops.
Here every string field of a full workflow gets adversarial values (long, nested, separator runs,
a 7,000-character id, the ReDoS string), and every list field many entries; each answer must be a
coded failure or a success, at most ``4 × request + 16 KB`` once the plot images and the model
(which do not echo the request) are set aside, listing at most ``max_problems`` problems + a count.
"""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from executor import EngineLimits
from executor.limits import TextLimits
from tests.executor import enginekit as kit
from tests.fuzz.envelope import check_envelope

TEXT = TextLimits()
FIXED_BYTES = 16 * 1024
GROWTH = 4
"""An answer may be GROWTH × the request + FIXED_BYTES (plot images and the model set aside)."""

VARIANTS = {
    "redos": "1  " * 40 + "1x",
    "long": "x" * 20_000,
    "nested": "(" * 3000 + "[1]" + ")" * 3000,
    "separators": " ,\t١" * 4000 + "1",
    "id7000": "n" * 7000,
}
"""Adversarial strings put in every string field, one field at a time."""


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here may reach a network (a dataset_url variant must be refused before any look-up)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror("name resolution is off in these tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _full() -> dict[str, Any]:
    """dataset → preprocessing → split → model → evaluate + visualize, every string field set."""
    nodes = [
        {"id": "dataset-1", "type": "dataset",
         "config": {"dataset_id": "iris", "dataset_name": "Iris", "is_sample": True, "target_column": "target",
                    "problem_type": "classification"}},
        {"id": "preprocessing-2", "type": "preprocessing",
         "config": {"operations": [
             {"type": "fill_missing", "params": {"strategy": "mean", "columns": "all_numeric"}},
             {"type": "scale_standard", "params": {"columns": "all_numeric"}},
             {"type": "binning_quantile", "params": {"column": "petal width (cm)", "quantiles": "0.25, 0.5, 0.75",
                                                     "encoding": "ordinal"}},
         ]}},
        {"id": "split-3", "type": "split", "config": {"test_size": 0.2, "random_seed": 1}},
        {"id": "model-4", "type": "model",
         "config": {"algorithm": "neural_network",
                    "hyperparameters": {"hidden_layer_sizes": "(4,)", "activation": "relu", "solver": "adam",
                                        "batch_size": "auto", "max_iter": 5},
                    "optuna_metric": "accuracy"}},
        {"id": "evaluate-5", "type": "evaluate", "config": {"selected_metrics": ["accuracy", "f1"]}},
        {"id": "visualize-6", "type": "visualize", "config": {"selected_plots": ["confusion_matrix"]}},
    ]
    chain = ["dataset-1", "preprocessing-2", "split-3", "model-4", "evaluate-5"]
    edges = [kit.edge(a, b) for a, b in zip(chain, chain[1:], strict=False)] + [kit.edge("model-4", "visualize-6")]
    return {"nodes": nodes, "edges": edges}


def _string_paths(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _string_paths(v, (*path, k))]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _string_paths(v, (*path, i))]
    return [path] if isinstance(obj, str) else []


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


def _dataset_url(value: str) -> Callable[[dict], None]:
    return lambda wf: kit.node(wf, "dataset-1")["config"].update(dataset_url=value)


PATHS = _string_paths(_full())
FIELD_CASES = [(".".join(map(str, p)), p, name) for p in PATHS for name in VARIANTS]


def _set_aside(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer without plot images and model bytes (large, but never an echo of the request)."""
    out = copy.deepcopy(answer)
    results = out.get("results") or {}
    for entry in [results, *(results.get("models") or [])]:
        entry.pop("model_base64", None)
        for plot in entry.get("plots") or []:
            plot.pop("url", None)
    return out


def _check_bounded(workflow: Any, answer: dict[str, Any], text: TextLimits = TEXT) -> dict[str, Any]:
    check_envelope(answer)
    request = len(json.dumps(workflow))
    size = len(json.dumps(_set_aside(answer)))
    assert size <= GROWTH * request + FIXED_BYTES, f"a {request}-byte request got a {size}-byte answer"
    if answer["status"] == "failed":
        problems = answer["errorDetails"]["problems"]
        assert len(problems) <= text.max_problems + 1, len(problems)
        for p in problems:
            for key in ("nodeId", "field", "value"):
                if isinstance(p.get(key), str):
                    assert len(p[key]) <= text.max_echo_chars, (key, len(p[key]))
    return answer


def test_the_base_workflow_trains() -> None:
    answer = _check_bounded(_full(), kit.run(_full()))
    assert answer["status"] == "completed", answer.get("error")


@pytest.mark.slow  # a sweep: every field x every hostile string, ~250 engine runs
@pytest.mark.parametrize("field, path, variant", FIELD_CASES, ids=[f"{f}-{v}" for f, _, v in FIELD_CASES])
def test_an_adversarial_string_in_any_field_gets_a_bounded_coded_answer(field: str, path: tuple[Any, ...],
                                                                        variant: str) -> None:
    wf = _full()
    _set(wf, path, VARIANTS[variant])
    _check_bounded(wf, kit.run(wf))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_an_adversarial_dataset_url_is_refused_without_a_lookup(variant: str) -> None:
    wf = _full()
    _dataset_url(VARIANTS[variant])(wf)
    answer = _check_bounded(wf, kit.run(wf))
    assert answer["errorCode"] == "dataset_error", answer["error"]


@pytest.mark.parametrize("url", ["http://[", "http://" + "[" * 5000, "h" * 5000 + "://x/y.csv", "http://x:99999999/"],
                         ids=["open-bracket", "5000-brackets", "5000-char-scheme", "bad-port"])
def test_an_unparseable_url_is_a_dataset_error_not_a_crash(url: str) -> None:
    wf = _full()
    _dataset_url(url)(wf)
    answer = _check_bounded(wf, kit.run(wf))
    assert answer["errorCode"] == "dataset_error", answer["error"]


def _rename(wf: dict[str, Any], old: str, new: str) -> None:
    kit.node(wf, old)["id"] = new
    for e in wf["edges"]:
        e["source"] = new if e["source"] == old else e["source"]
        e["target"] = new if e["target"] == old else e["target"]


NODE_IDS = [n["id"] for n in _full()["nodes"]]


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_a_7000_character_node_id_used_consistently_still_runs(node_id: str) -> None:
    wf = _full()
    _rename(wf, node_id, node_id + "-" + "n" * 7000)
    answer = _check_bounded(wf, kit.run(wf))
    assert answer["status"] == "completed", answer.get("error")
    assert all(len(w) <= TEXT.max_problems * TEXT.max_echo_chars for w in answer["results"]["warnings"])


def _many_metrics(wf: dict) -> None:
    kit.node(wf, "evaluate-5")["config"]["selected_metrics"] = [f"metric-{i}" for i in range(5000)] + ["f1"] * 5000


def _many_plots(wf: dict) -> None:
    kit.node(wf, "visualize-6")["config"]["selected_plots"] = [f"plot-{i}" for i in range(5000)] + ["roc_curve"]


def _many_hyperparameters(wf: dict) -> None:
    kit.node(wf, "model-4")["config"]["hyperparameters"].update({f"h{i}": i for i in range(5000)})


def _many_unknown_ops(wf: dict) -> None:
    kit.node(wf, "preprocessing-2")["config"]["operations"] = [{"type": f"op{i}"} for i in range(2500)]


def _many_filters(wf: dict) -> None:
    kit.node(wf, "preprocessing-2")["config"]["operations"] = [
        {"type": "drop_missing_rows", "params": {"threshold": i % 100}} for i in range(300)]


def _many_dangling_edges(wf: dict) -> None:
    wf["edges"] += [kit.edge("model-4", f"nowhere-{i}") for i in range(3000)]


def _many_unconnected_nodes(wf: dict) -> None:
    wf["nodes"] += [{"id": f"evaluate-x{i}-" + "e" * 300, "type": "evaluate",
                     "config": {"selected_metrics": ["accuracy"]}} for i in range(300)]


def _many_bad_hyperparameter_values(wf: dict) -> None:
    kit.node(wf, "model-4")["config"]["hyperparameters"].update(
        {k: "1  " * 40 + "1x" for k in ("hidden_layer_sizes", "activation", "solver", "alpha", "batch_size",
                                         "learning_rate_init", "max_iter", "early_stopping")})


LIST_CASES: dict[str, tuple[Callable[[dict], None], str]] = {
    "5000 unknown metrics and one repeated 5000 times": (_many_metrics, "completed"),
    "5000 unknown plots": (_many_plots, "completed"),
    "5000 unknown hyperparameters": (_many_hyperparameters, "completed"),
    "2500 unknown ops": (_many_unknown_ops, "invalid_workflow"),
    "300 row filters": (_many_filters, "completed"),
    "3000 dangling edges": (_many_dangling_edges, "invalid_workflow"),
    "300 unconnected nodes with long ids": (_many_unconnected_nodes, "completed"),
    "every hyperparameter the ReDoS string": (_many_bad_hyperparameter_values, "invalid_workflow"),
}


@pytest.mark.parametrize("name", sorted(LIST_CASES))
def test_many_entries_in_a_list_field_get_a_bounded_answer(name: str) -> None:
    mutate, outcome = LIST_CASES[name]
    wf = _full()
    mutate(wf)
    answer = _check_bounded(wf, kit.run(wf))
    assert answer.get("errorCode", answer["status"]) == outcome, answer.get("error")
    if answer["status"] == "completed":
        warnings = answer["results"]["warnings"]
        assert len(warnings) <= 6 * TEXT.max_problems, len(warnings)  # a few sources, each capped


def _the_38_mb_workflow() -> dict[str, Any]:
    """The attacker's workflow: 2,500 unknown ops in a preprocessing node whose id is 7,000 characters."""
    wf = kit.example("iris_random_forest")
    nid = "p" * 7000
    wf["nodes"].append({"id": nid, "type": "preprocessing",
                        "config": {"operations": [{"type": f"bogus_{i}", "params": {}} for i in range(2500)]}})
    wf["edges"] = [e for e in wf["edges"] if e["target"] != "model-15"]
    wf["edges"] += [kit.edge("split-12", nid), kit.edge(nid, "model-15")]
    return wf


def test_the_2500_unknown_ops_workflow_gets_a_small_answer_with_the_rest_counted() -> None:
    wf = _the_38_mb_workflow()
    answer = _check_bounded(wf, kit.run(wf))
    text = json.dumps(answer)
    assert len(text) < 64 * 1024, len(text)  # was 38.6 MB
    more = 2500 - TEXT.max_problems
    assert answer["errorCode"] == "invalid_workflow"
    assert answer["errorDetails"]["moreProblems"] == more
    assert answer["errorDetails"]["problems"][-1] == {"message": f"… and {more} more problems", "more": more}
    assert f"… and {more} more" in answer["error"] and "2500 problems" in answer["error"]
    assert text.count("Valid operations") == 2  # once in the message, once in errorDetails.hints
    assert "p" * (TEXT.max_echo_chars + 1) not in text


def test_the_text_limits_of_the_request_reach_the_engine() -> None:
    text = TextLimits(max_problems=3, max_echo_chars=16, max_param_chars=16)
    wf = _the_38_mb_workflow()
    answer = kit.run(wf, limits=EngineLimits(text=text))
    _check_bounded(wf, answer, text)
    assert len(answer["errorDetails"]["problems"]) == 4 and answer["errorDetails"]["moreProblems"] == 2497
    assert answer["errorDetails"]["problems"][0]["nodeId"] == "p" * 15 + "…"
    wf = _full()
    kit.node(wf, "model-4")["config"]["hyperparameters"]["hidden_layer_sizes"] = "(4, 4, 4, 4, 4, 4, 4)"
    assert kit.run(wf)["status"] == "completed"  # 21 characters: under the default cap
    answer = kit.run(wf, limits=EngineLimits(text=TextLimits(max_param_chars=16)))
    assert answer["errorCode"] == "invalid_workflow" and "max_param_chars" in answer["error"], answer["error"]


def test_the_redos_string_is_refused_naming_hidden_layer_sizes() -> None:
    wf = _full()
    kit.node(wf, "model-4")["config"]["hyperparameters"]["hidden_layer_sizes"] = "1  " * 2000 + "1x"
    answer = _check_bounded(wf, kit.run(wf))
    assert answer["errorCode"] == "invalid_workflow"
    assert "hidden_layer_sizes" in answer["error"] and "[request] max_param_chars" in answer["error"]
    assert answer["errorDetails"]["problems"][0]["field"] == "config.hyperparameters.hidden_layer_sizes"
