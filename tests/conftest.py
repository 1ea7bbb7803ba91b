"""Session-wide: the real servers, started lazily and in the background, and the ``slow`` marker policy.

``python -m pytest`` runs everything; ``python -m pytest -m "not slow"`` is the fast inner loop
(unit tests of the engine, the service, the parsers and the config: no server, no sandbox, no
subprocess). A test is ``slow`` when it is marked so in its file, or here when it uses a fixture
that starts a server or a sandbox, or lives in a tests/sandbox module that starts sandboxes.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.loopback import Server
from tests.servers import LAZY, ONE_SLOT, SHARED, SIGTERM, SOAK, STALE, LazyServer

SERVER_FIXTURES = frozenset(LAZY)
"""Fixtures that start (or share) a real ``python app.py``, one per server of tests/servers.py
(fixtures built on them, like tests/security's ``hostile_server``, count too): their tests are
``slow`` and ``network_server``, and run last."""

SANDBOX_FIXTURES = frozenset({"sandbox", "engine_sandbox", "sb"})
"""Fixtures that start a warm sandbox template (a process preloading numpy, scikit-learn...)."""

FAST_SANDBOX_MODULES = frozenset({"test_errors.py", "test_plan.py", "test_files.py"})
"""tests/sandbox modules whose tests start no process; every other module there starts sandboxes
(a template and a job child per test or per module) and is ``slow`` as a whole."""

_SANDBOX_DIR = Path(__file__).resolve().parent / "sandbox"


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject.toml): two workers for a run with servers and sandboxes, which wait on
    them as much as they compute; none for the fast loop (``-m "not slow"``), whose unit tests would
    only pay each worker's collection."""
    if "not slow" in (config.option.markexpr or ""):
        return 0
    return min(2, len(os.sched_getaffinity(0)))


@pytest.hookimpl(tryfirst=True)  # before -m deselects on the markers added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark, then run the tests of the real servers last (in their order), so the servers start in
    the background while every other test runs."""
    on_server = []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        path = Path(str(item.path))
        if names & SERVER_FIXTURES:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.network_server)
            on_server.append(item)
        elif names & SANDBOX_FIXTURES or (path.parent == _SANDBOX_DIR and path.name not in FAST_SANDBOX_MODULES):
            item.add_marker(pytest.mark.slow)
    if on_server:
        last = set(on_server)
        items[:] = [item for item in items if item not in last] + on_server
    if _XDIST_WORKER:
        # Under pytest-xdist (--dist loadgroup): a file's tests run in one worker, so a module's
        # sandbox starts once; every test of a real server runs in the one worker that starts them.
        server_tests = set(on_server)
        for item in items:
            group = SERVERS_GROUP if item in server_tests else str(item.path)
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Spawn each real server the selected tests need now, so its start overlaps the tests before
    its first user; none is started when no selected test needs it.

    An xdist worker collects every test but runs only those it is sent, and only one worker runs
    the server tests: that worker spawns the servers from its first server test instead (:func:`_get`).
    """
    if session.config.option.collectonly:
        return
    _NEEDED[:] = [name for name in LAZY if any(name in getattr(item, "fixturenames", ()) for item in session.items)]
    if not _XDIST_WORKER:
        _spawn_needed(session.config)


_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
"""This process's xdist worker id (``gw0``...), or None when pytest runs without workers."""

SERVERS_GROUP = "real-servers"
"""The xdist group of every test of a real server."""

_NEEDED: list[str] = []
"""The lazily started servers the selected tests need, by fixture name."""


def _spawn_needed(config: pytest.Config, names: frozenset[str] | None = None) -> None:
    for name in _NEEDED:
        if names is None or name in names:
            LAZY[name].spawn(config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for lazy in LAZY.values():
        lazy.terminate()
    for lazy in LAZY.values():
        lazy.stop()


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (a CI timeout, ``kill``) ends the run like Ctrl-C, so the session still stops the
    servers it spawned; by default Python would die at once and leave them running."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _get(lazy: LazyServer, config: pytest.Config) -> Server:
    """``lazy``, ready. In an xdist worker (which spawned nothing at collection), the first call
    spawns the two shared servers together, and once one is ready the single-use ones, so that
    their starts overlap the tests before their users rather than all competing at once."""
    _spawn_needed(config, _SHARED_NAMES)
    server = lazy.get(config)
    _spawn_needed(config)
    return server


_SHARED_NAMES = frozenset({SHARED.name, ONE_SLOT.name})


@pytest.fixture(scope="session")
def shared_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The one real server for every test that needs no limits of its own (see tests/servers.py).

    Tests must leave it as they found it: idle (``wait_idle`` before a test that needs both slots),
    and never stopped or killed (a test that stops or kills its server has its own).
    """
    server = _get(SHARED, request.config)
    assert SHARED.spec is not None
    server.gradio_dir = Path(SHARED.spec.env["GRADIO_TEMP_DIR"])  # type: ignore[attr-defined]
    yield server


@pytest.fixture(scope="session")
def one_slot_server(request: pytest.FixtureRequest) -> Server:
    """The real server with small limits (one slot, one place in line, 8 s deadline, small request
    caps; tests/servers.py). Its tests start from an idle server: use ``wait_idle``."""
    return _get(ONE_SLOT, request.config)


@pytest.fixture
def sigterm_server(request: pytest.FixtureRequest) -> Server:
    """A server of its own (the repo's limits.toml, its own TMPDIR: ``SIGTERM.spec.tmpdir``) for the
    test that stops it with SIGTERM; spawned early, like the shared ones, so its start overlaps."""
    return _get(SIGTERM, request.config)


@pytest.fixture
def stale_server(request: pytest.FixtureRequest) -> Server:
    """A server of its own (its own TMPDIR: ``STALE.spec.tmpdir``) for the test that kills it."""
    return _get(STALE, request.config)


@pytest.fixture
def soak_server(request: pytest.FixtureRequest) -> Server:
    """The soak's server (``SOAK_LIMITS``, its own TMPDIR: ``SOAK.spec.tmpdir``); the soak stops it."""
    return _get(SOAK, request.config)
