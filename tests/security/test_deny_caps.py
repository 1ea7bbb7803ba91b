"""Request size, node count and nesting depth are capped before any child runs.

Guard: ``caps`` (``[request]`` max_request_kb, max_nodes, max_depth, checked by the service).
``--sabotage=caps`` raises the three caps out of reach (limits file of the test server, and the
Settings of the in-process worker), so every over-cap request here must then get through the cap.

Each case is checked in-process (``service.worker.Worker.submit``, never started: a request that
passes the caps gets ``internal_error`` "not started", which is not what the test expects) and
through the real server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.security.conftest import CAPS, CAPS_SABOTAGED


def _node(i: int) -> dict[str, Any]:
    return {
        "id": f"dataset-{i}",
        "type": "dataset",
        "config": {"dataset_id": "iris", "target_column": "target"},
    }


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"k": value}
    return value


def _over_size() -> str:
    return json.dumps({"nodes": [_node(1)], "edges": [], "pad": "p" * (CAPS["max_request_kb"] * 1024 + 100)})


def _over_nodes() -> str:
    return json.dumps({"nodes": [_node(i) for i in range(CAPS["max_nodes"] + 1)], "edges": []})


def _over_depth() -> str:
    node = _node(1)
    node["config"]["extra"] = _deep(CAPS["max_depth"] + 4)
    return json.dumps({"nodes": [node], "edges": []})


def _json_bomb() -> str:
    """Far deeper than Python's recursion limit: must still be a coded refusal."""
    return '{"nodes": [' + "[" * 200_000 + "]" * 200_000 + '], "edges": []}'


CASES = {
    "max_request_kb": _over_size,
    "max_nodes": _over_nodes,
    "max_depth": _over_depth,
}


def _assert_refused(answer: dict[str, Any], limit: str) -> None:
    assert answer.get("status") == "failed", f"an over-cap request was accepted: {json.dumps(answer)[:300]}"
    assert answer.get("errorCode") == "invalid_request", answer
    assert limit in answer.get("error", ""), f"the message does not name {limit}: {answer.get('error')}"
    named = (answer.get("errorDetails") or {}).get("limit") or {}
    assert named.get("name") == limit, (
        f"errorDetails.limit does not name {limit}: {answer.get('errorDetails')}"
    )


def _submit(body: str, sabotage: str | None) -> dict[str, Any]:
    from service.config import RequestLimits, Settings
    from service.worker import Worker

    caps = CAPS_SABOTAGED if sabotage == "caps" else CAPS
    worker = Worker(Settings(request=RequestLimits(**caps)), self_check=False)
    return json.loads(asyncio.run(worker.submit(body)))


@pytest.mark.parametrize("limit", sorted(CASES))
def test_deny_caps_over_cap_request_is_refused_in_process(limit: str, sabotage: str | None) -> None:
    _assert_refused(_submit(CASES[limit](), sabotage), limit)


def test_json_bomb_deeper_than_the_recursion_limit_gets_a_coded_refusal_in_process(
    sabotage: str | None,
) -> None:
    answer = _submit(_json_bomb(), sabotage)
    assert answer.get("errorCode") == "invalid_request", answer
    assert "max_depth" in answer.get("error", "") or "max_request_kb" in answer.get("error", ""), answer


@pytest.mark.parametrize("limit", sorted(CASES))
def test_deny_caps_over_cap_object_request_is_refused_in_process(limit: str, sabotage: str | None) -> None:
    """The app also accepts a JSON object (not text): the caps apply to it too."""
    _assert_refused(_submit_object(json.loads(CASES[limit]()), sabotage), limit)


def _submit_object(body: dict[str, Any], sabotage: str | None) -> dict[str, Any]:
    from service.config import RequestLimits, Settings
    from service.worker import Worker

    caps = CAPS_SABOTAGED if sabotage == "caps" else CAPS
    worker = Worker(Settings(request=RequestLimits(**caps)), self_check=False)
    return json.loads(asyncio.run(worker.submit(body)))


@pytest.mark.slow
@pytest.mark.network_server
@pytest.mark.parametrize("limit", sorted(CASES))
def test_deny_caps_over_cap_request_is_refused_over_http(caps_server: str, limit: str) -> None:
    from bench.loopback import call_predict

    answer = call_predict(caps_server, CASES[limit](), timeout=120)
    assert answer is not None, "no answer"
    _assert_refused(answer, limit)


@pytest.mark.slow
@pytest.mark.network_server
def test_json_bomb_gets_a_coded_refusal_over_http(caps_server: str) -> None:
    from bench.loopback import call_predict

    answer = call_predict(caps_server, _json_bomb(), timeout=120)
    assert answer is not None, "no answer"
    assert answer.get("errorCode") == "invalid_request", answer
