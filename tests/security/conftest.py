"""Deny-test fixtures and the test-only sabotage switch.

``pytest tests/security --sabotage=GUARD`` turns one guard off *in the test process or in a test
server started through tests/security/serve.py*, never in product code, so every ``test_deny_*``
of that guard must then fail. ``.ci/sabotage`` runs each guard that way and requires every one of
its deny tests to fail. The guards and what turning each off means: docs/security.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.sabotage import GUARDS, server_env

ROOT = Path(__file__).resolve().parents[2]

SECRETS = {
    "HF_TOKEN": "hf_denytest_4f1c9a7e2b",
    "PLATFORM_DB_PASSWORD": "pw_denytest_9d03e6b1",
}
"""Secrets put into the parent's environment; no job may see a key or a value of them."""

# Small request caps so the cap tests send small bodies; --sabotage=caps raises them out of reach.
CAPS = {"max_request_kb": 64, "max_nodes": 16, "max_depth": 16}
CAPS_SABOTAGED = {"max_request_kb": 1_000_000, "max_nodes": 1_000_000, "max_depth": 1_000_000}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sabotage",
        action="store",
        default=None,
        choices=sorted(GUARDS),
        help="test-only: turn this guard off so its test_deny_* tests must fail (see docs/security.md)",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    guard = config.getoption("--sabotage", default=None)
    return f"SABOTAGE: guard {guard!r} is turned off; its deny tests are expected to FAIL" if guard else None


@pytest.fixture(scope="session")
def sabotage(request: pytest.FixtureRequest) -> str | None:
    """The guard turned off for this run (``--sabotage``), or None."""
    return request.config.getoption("--sabotage", default=None)






def limits_toml(*, caps: dict[str, int], fault_injection: bool) -> str:
    request = "\n".join(f"{k} = {v}" for k, v in caps.items())
    return f"""
[job]
wall_clock_seconds = 30
cpu_seconds = 40
memory_mb = 512
threads = 1

[queue]
max_concurrent_jobs = 2
max_waiting = 16
request_deadline_seconds = 60

[request]
{request}

[testing]
fault_injection = {"true" if fault_injection else "false"}
"""


@pytest.fixture(scope="session")
def security_server(sabotage: str | None) -> Iterator[str]:
    """A real server on loopback, holding SECRETS in its environment, with fault injection on.

    The --sabotage guard (if any) reaches the server process, its sandbox template and its jobs
    through the sitecustomize hook in tests/security/boot (see sabotage.server_env).
    """
    from bench.loopback import start_server, stop_server

    caps = CAPS_SABOTAGED if sabotage == "caps" else CAPS
    env = {**SECRETS, **server_env(sabotage)}
    server = start_server(limits_toml(caps=caps, fault_injection=True), extra_env=env)
    try:
        yield server.url
    finally:
        stop_server(server)


UNREAD_SECONDS = 3
"""[server] unread_result_seconds of the hostile server (short, so a test can wait it out)."""

OPERATOR_TOKEN = "op_denytest_7a1e0c55"
"""The operator's /health token in the hostile server's environment (WORKER_HEALTH_TOKEN)."""


@pytest.fixture(scope="session")
def hostile_server(sabotage: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real server with the shipped limits.toml (default request caps, as on a Space) plus fault
    injection, SECRETS and the operator token in its environment, and its own Gradio upload and
    cache folder (``server.gradio_dir``), for the parent-hardening deny tests.
    """
    from bench.loopback import start_server, stop_server

    limits = (ROOT / "limits.toml").read_text().replace("fault_injection = false", "fault_injection = true")
    limits = limits.replace("unread_result_seconds = 60", f"unread_result_seconds = {UNREAD_SECONDS}")
    gradio_dir = tmp_path_factory.mktemp("gradio")
    env = {**SECRETS, **server_env(sabotage), "GRADIO_TEMP_DIR": str(gradio_dir), "WORKER_HEALTH_TOKEN": OPERATOR_TOKEN}
    server = start_server(limits, extra_env=env)
    server.gradio_dir = gradio_dir  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def marker_dir(tmp_path: Path) -> Path:
    """A directory attack payloads try to write a marker file into."""
    path = tmp_path / "markers"
    path.mkdir()
    os.chmod(path, 0o777)
    return path
