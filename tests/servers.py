"""Real servers for the tests (``python app.py`` on loopback), started lazily and at most once.

A server start is mostly the Gradio import, the template's preload and the start-up self-check
(~10 s on an idle 2-CPU machine, several times that on a busy one). So:

* one **shared server** serves every test that needs no limits of its own (fixture ``shared_server``
  in tests/conftest.py; ``hostile_server`` and ``security_server`` of tests/security are the same
  server): the shipped limits.toml with fault injection on, the secrets of the deny tests and the
  operator's /health token in its environment, its own Gradio folder;
* one **one-slot server** (fixture ``one_slot_server``) for the tests that need small limits: one
  job slot, one place in line and an 8 s deadline (``busy``, ``deadline_exceeded``, ``timeout``
  over HTTP) and small request caps (the cap deny tests send small bodies);
* a test that kills its server (start-up, stale dirs) or needs yet other limits (the soak) has its
  own, single-use server (``sigterm_server``, ``stale_server``, ``soak_server``).

Each is a :class:`LazyServer`: spawned when the collected tests need it (``pytest_collection_finish``
in tests/conftest.py, so its start overlaps the tests that run before its first user), waited for
by the first test that uses it, stopped at the end of the session. A run that selects none of its
tests (``-m "not slow"``, ``-k``, one file) never starts it.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.loopback import ROOT, Server, spawn_server, stop_server, wait_ready

SECRETS = {
    "HF_TOKEN": "hf_denytest_4f1c9a7e2b",
    "PLATFORM_DB_PASSWORD": "pw_denytest_9d03e6b1",
}
"""Secrets put into the shared server's environment; no job may see a key or a value of them."""

OPERATOR_TOKEN = "op_denytest_7a1e0c55"
"""The operator's /health token in the shared server's environment (WORKER_HEALTH_TOKEN)."""

UNREAD_SECONDS = 3
"""[server] unread_result_seconds of the shared server (short, so a test can wait it out; every
client of the tests opens its stream right after its POST, long before a job ends)."""

SHARED_WALL_CLOCK_SECONDS = 60
"""[job] wall_clock_seconds of the shared server. No test job needs more than a few seconds (a busy
machine included); the shipped 200 s would let one runaway fuzzed workflow hold a slot for minutes."""

CAPS = {"max_request_kb": 64, "max_nodes": 16, "max_depth": 16}
"""The request caps of the one-slot server, so the cap deny tests send small bodies."""

CAPS_SABOTAGED = {"max_request_kb": 1_000_000, "max_nodes": 1_000_000, "max_depth": 1_000_000}
"""The request caps of a server under ``--sabotage=caps``: out of reach of any test body."""


def toml_text(tables: dict[str, dict[str, Any]]) -> str:
    """A limits file from ``{table: {key: value}}`` (the value types limits.toml uses)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise TypeError(f"no TOML for {v!r}")

    return "\n".join(
        f"[{name}]\n" + "".join(f"{key} = {value(v)}\n" for key, v in table.items())
        for name, table in tables.items()
    )


def shipped_limits(**overrides: dict[str, Any]) -> str:
    """The repo's limits.toml with ``overrides`` (``table={key: value}``) applied, as TOML text."""
    tables = tomllib.loads((ROOT / "limits.toml").read_text())
    for name, keys in overrides.items():
        tables.setdefault(name, {}).update(keys)
    return toml_text(tables)


def shared_limits(sabotage: str | None) -> str:
    request = CAPS_SABOTAGED if sabotage == "caps" else {}
    # With eval sabotaged, an evaluated attack must be able to leave its marker file: a job's
    # filesystem confinement (guard `confine`, proven by its own deny tests) would refuse the write
    # and hide the evaluation, so it is off for that run only.
    guards = {"landlock_fs": "off"} if sabotage == "eval" else {}
    return shipped_limits(
        job={"wall_clock_seconds": SHARED_WALL_CLOCK_SECONDS},
        server={"unread_result_seconds": UNREAD_SECONDS},
        request=request,
        guards=guards,
        testing={"fault_injection": True},
    )


ONE_SLOT_LIMITS = """
[job]
wall_clock_seconds = 20
cpu_seconds = 30
memory_mb = 300
max_processes = 48
threads = 1

[queue]
max_concurrent_jobs = 1
max_waiting = 1
request_deadline_seconds = 8

[guards]
kill_grace_seconds = 2

[request]
{request}

[testing]
fault_injection = true
"""
"""One slot and one place in line make ``busy`` and ``deadline_exceeded`` easy to provoke. The job's
wall clock is above the request deadline, and a 2 s kill grace keeps a SIGTERM-ignoring job's slot
past the deadline of a request that waits behind it (the test sends that request as soon as the
slot is taken). A job's budget is the 8 s deadline: a good workflow run here must be small (iris)."""


def one_slot_limits(sabotage: str | None) -> str:
    caps = CAPS_SABOTAGED if sabotage == "caps" else CAPS
    return ONE_SLOT_LIMITS.format(request="\n".join(f"{k} = {v}" for k, v in caps.items()))


@dataclass
class Spec:
    limits: str | None
    env: dict[str, str]
    workdir: Path
    """Where its limits file and log go."""
    root: Path | None = None
    """Removed at the end of the session (default: ``workdir``)."""
    tmpdir: Path | None = None
    """The server's own TMPDIR, for a test that looks at what it leaves there."""


class LazyServer:
    """One server: spawned at most once (``spawn``), waited for by its first user (``get``)."""

    def __init__(self, name: str, make_spec: Callable[[Any], Spec]) -> None:
        self.name = name
        self._make_spec = make_spec
        self._lock = threading.Lock()
        self._server: Server | None = None
        self._ready = False
        self._workdir: Path | None = None
        self.spec: Spec | None = None

    def spawn(self, config: Any) -> None:
        with self._lock:
            if self._server is None:
                self.spec = self._make_spec(config)
                self._workdir = self.spec.root or self.spec.workdir
                self._server = spawn_server(self.spec.limits, self.spec.workdir, extra_env=self.spec.env)

    def get(self, config: Any) -> Server:
        self.spawn(config)
        assert self._server is not None
        if not self._ready:
            wait_ready(self._server)  # raises (and stops it) when it exits or never answers
            self._ready = True
        return self._server

    def terminate(self) -> None:
        """Send SIGTERM (the app then closes its sandbox and exits); :meth:`stop` waits for it."""
        if self._server is not None and self._server.proc.poll() is None:
            self._server.proc.terminate()

    def stop(self) -> None:
        with self._lock:
            if self._server is not None:
                stop_server(self._server)
                self._server = None
                self._ready = False
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None


def _sabotage(config: Any) -> str | None:
    return config.getoption("--sabotage", default=None)


def _shared_spec(config: Any) -> Spec:
    from tests.security.sabotage import server_env

    workdir = Path(tempfile.mkdtemp(prefix="worker-shared-"))
    gradio_dir = workdir / "gradio"
    gradio_dir.mkdir()
    sabotage = _sabotage(config)
    env = {**SECRETS, **server_env(sabotage), "GRADIO_TEMP_DIR": str(gradio_dir), "WORKER_HEALTH_TOKEN": OPERATOR_TOKEN}
    return Spec(shared_limits(sabotage), env, workdir)


def _one_slot_spec(config: Any) -> Spec:
    from tests.security.sabotage import server_env

    sabotage = _sabotage(config)
    return Spec(one_slot_limits(sabotage), server_env(sabotage), Path(tempfile.mkdtemp(prefix="worker-one-slot-")))


SOAK_LIMITS = """
[job]
wall_clock_seconds = 4
cpu_seconds = 8
memory_mb = 400
max_processes = 48
max_file_size_mb = 16
max_result_mb = 24
threads = 1

[queue]
max_concurrent_jobs = 2
max_waiting = 16
request_deadline_seconds = 40

[testing]
fault_injection = true
"""
"""The reduced soak's server (tests/soak): 4 s jobs, so the faults that hang end soon."""


def _own(prefix: str, limits: str | None, env: dict[str, str]) -> Spec:
    """A server with its own TMPDIR (``root/tmp``), its files in ``root/server``."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    (root / "tmp").mkdir()
    (root / "server").mkdir()
    return Spec(limits, {**env, "TMPDIR": str(root / "tmp")}, root / "server", root=root, tmpdir=root / "tmp")


def _sigterm_spec(config: Any) -> Spec:
    return _own("worker-sigterm-", None, {})


def _stale_spec(config: Any) -> Spec:
    from tests.security.sabotage import server_env

    return _own("worker-stale-", stale_limits(), server_env(_sabotage(config)))


def stale_limits() -> str:
    from tests.security.conftest import limits_toml

    return limits_toml(caps=CAPS, fault_injection=True)


def _soak_spec(config: Any) -> Spec:
    return _own("worker-soak-", SOAK_LIMITS, {})


SHARED = LazyServer("shared_server", _shared_spec)
ONE_SLOT = LazyServer("one_slot_server", _one_slot_spec)
SIGTERM = LazyServer("sigterm_server", _sigterm_spec)
"""The repo's limits, its own TMPDIR: the test stops it with SIGTERM."""
STALE = LazyServer("stale_server", _stale_spec)
"""The first server of the stale-dirs deny test, which kills it with SIGKILL mid-job."""
SOAK = LazyServer("soak_server", _soak_spec)
"""The soak's server (bench.soak stops it)."""

LAZY: dict[str, LazyServer] = {lazy.name: lazy for lazy in (SHARED, ONE_SLOT, SIGTERM, STALE, SOAK)}
"""Every lazily started server, by the name of the fixture whose tests need it. The last three are
single-use: the one test that uses each stops or kills it; they are spawned early only so that their
start overlaps other tests."""

