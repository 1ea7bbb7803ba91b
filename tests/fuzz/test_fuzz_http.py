"""Fuzzing through HTTP: a sample of generated workflows sent the platform's way to a real server.

Whatever is sent, the exchange (POST /call/predict, then the SSE stream) ends in exactly one JSON
result with a known code, and the server keeps answering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.config import RequestLimits
from tests.fuzz.envelope import check_envelope, input_codes
from tests.fuzz.strategies import any_workflow

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.network_server,
]

RAW_BODIES = [
    "",
    " ",
    "null",
    "[]",
    "{}",
    "42",
    '"x"',
    "{",
    '{"nodes": [}',
    "\x00",
    "\ufeff{}",
    '{"nodes": 1e999}',
    '{"nodes": [{"id": "\\ud800", "type": "dataset", "config": {"dataset_id": "iris"}}], "edges": []}',
    '{"nodes": [{"id": "d", "type": "dataset", "config": {"dataset_id": "\\udfff"}}], "edges": []}',
    '{"nodes": [' + '{"a": [' * 400 + "1" + "]}" * 400 + '], "edges": []}',
    "[" * 100_000 + "]" * 100_000,
    json.dumps(
        {"nodes": [{"id": f"n{i}", "type": "dataset", "config": {}} for i in range(5000)], "edges": []}
    ),
    json.dumps(json.dumps({"nodes": [], "edges": []})),
    '{"nodes": [{"id": "d", "type": "dataset", "config": {"dataset_id": "iris", "rows": 100000000000000000000000}}], "edges": []}',
]
UNPASSABLE = [b for b in RAW_BODIES if "\\ud800" in b or "\\udfff" in b]
MAX_ERROR_BYTES = 1024 * RequestLimits().max_error_kb
"""[request] max_error_kb (the shared server keeps the shipped value, the default): no failure answer
may be larger, whatever was sent."""


@pytest.fixture(scope="module")
def fuzz_server(shared_server: Any) -> str:
    """The shared real server (tests/servers.py: shipped limits, a 60 s job wall clock). Fault
    injection is on there, but tests/fuzz/strategies.py never generates a ``kind`` key, so a node
    it types ``fault`` is refused (invalid_workflow) like any other broken node."""
    return shared_server.url


def _exchange(url: str, body: str) -> str:
    from bench.loopback import call_predict

    answer = call_predict(url, body, timeout=120)
    assert answer is not None, f"no JSON result for {body[:200]!r}"
    code = check_envelope(answer, codes=input_codes())  # internal_error / crashed fail the test
    if code != "completed":
        assert len(json.dumps(answer)) <= MAX_ERROR_BYTES, f"{code} answer over max_error_kb"
    return code


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
@given(workflow=any_workflow())
def test_fuzz_http_every_workflow_gets_one_json_result(fuzz_server: str, workflow: Any) -> None:
    _exchange(fuzz_server, json.dumps(workflow))


@settings(max_examples=len(RAW_BODIES), deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.sampled_from(RAW_BODIES))
def test_fuzz_http_malformed_bodies_get_one_json_result(fuzz_server: str, body: str) -> None:
    _exchange(fuzz_server, body)


@pytest.mark.parametrize("body", UNPASSABLE, ids=["lone-high", "lone-low"])
def test_fuzz_http_unpassable_values_are_refused_not_an_internal_error(fuzz_server: str, body: str) -> None:
    """A lone-surrogate escape cannot be re-encoded for the child (an integer beyond 64 bits is
    decoded as a float, as most JSON parsers do, and judged by the engine like any number)."""
    code = _exchange(fuzz_server, body)
    assert code == "invalid_request", "a value the child cannot receive must be refused as invalid_request"


def test_fuzz_http_server_still_serves_a_good_workflow_afterwards(fuzz_server: str) -> None:
    body = (ROOT / "examples").glob("*iris*.json")
    path = next(iter(sorted(body)), None)
    if path is None:
        pytest.skip("no iris example in examples/")
    from bench.loopback import call_predict

    answer = call_predict(fuzz_server, path.read_text(), timeout=120)
    assert answer is not None and answer.get("status") == "completed", answer
