"""Deny-test fixtures and the test-only sabotage switch.

``pytest tests/security --sabotage=GUARD`` turns one guard off *in the test process or in the test
servers (tests/servers.py)*, never in product code, so every ``test_deny_*``
of that guard must then fail. ``.ci/sabotage`` runs each guard that way and requires every one of
its deny tests to fail. The guards and what turning each off means: docs/security.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.loopback import Server
from tests.security.sabotage import GUARDS
from tests.servers import CAPS, CAPS_SABOTAGED, OPERATOR_TOKEN, SECRETS, UNREAD_SECONDS  # noqa: F401 (re-exported)

ROOT = Path(__file__).resolve().parents[2]

# SECRETS: in the shared server's environment; no job may see a key or a value of them.
# CAPS: the one-slot server's small request caps, so the cap tests send small bodies;
# --sabotage=caps raises them out of reach (CAPS_SABOTAGED). See tests/servers.py.


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
def security_server(shared_server: Server) -> str:
    """The URL of the shared real server (tests/servers.py): SECRETS in its environment, fault
    injection on. The --sabotage guard (if any) reaches the server process, its sandbox template and
    its jobs through the sitecustomize hook in tests/security/boot (see sabotage.server_env)."""
    return shared_server.url


@pytest.fixture(scope="session")
def caps_server(one_slot_server: Server) -> str:
    """The URL of the one-slot server, whose request caps are CAPS (CAPS_SABOTAGED under
    --sabotage=caps). Its requests over a cap are refused before they take its one slot."""
    return one_slot_server.url


@pytest.fixture(scope="session")
def hostile_server(shared_server: Server) -> Server:
    """The shared real server (tests/servers.py): the shipped limits.toml (default request caps, as
    on a Space) with fault injection on and a 60 s job wall clock, SECRETS and the operator token in
    its environment, [server] unread_result_seconds = UNREAD_SECONDS, and its own Gradio upload and
    cache folder (``server.gradio_dir``), for the parent-hardening deny tests.
    """
    return shared_server


@pytest.fixture
def marker_dir(tmp_path: Path) -> Path:
    """A directory attack payloads try to write a marker file into."""
    path = tmp_path / "markers"
    path.mkdir()
    os.chmod(path, 0o777)
    return path
