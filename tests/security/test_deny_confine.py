"""A job that runs code of its own choosing stays in its own dir, domain and syscalls.

Guard: ``confine`` (``sandbox.confine.apply``, called by the job child just before its target:
Landlock filesystem rules, Landlock scopes, seccomp; and Landlock TCP rules where
``[guards] landlock_net`` is on). Each test runs fault-injection probes (``sandbox.faults``
``probe_*``) through the real sandbox and expects the kernel to refuse. ``--sabotage=confine``
replaces ``confine.apply`` by a no-op in the sandbox template (through the boot hook), so every
probe succeeds and every test here must fail.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from sandbox import GuardLimits, JobLimits, Sandbox, confine
from sandbox.linux import job_process_name
from tests.security.sabotage import server_env

LIMITS = JobLimits(wall_clock_seconds=30, cpu_seconds=30, memory_mb=512, threads=1)


def _available(layer: str) -> bool:
    return confine.status(GuardLimits(**{layer: "auto"}))[layer][0]


@pytest.fixture(scope="module")
def sb(sabotage: str | None) -> Iterator[Sandbox]:
    with Sandbox(LIMITS, GuardLimits(landlock_net="auto"), fault_injection=True,
                 extra_env=server_env(sabotage) if sabotage == "confine" else None) as box:
        yield box


def _probe(sb: Sandbox, kind: str, **params: Any) -> dict[str, Any]:
    outcome = sb.run("sandbox.faults:target", {"kind": kind, **params})
    assert outcome.ok, f"{kind}: {outcome.code} {outcome.message} {outcome.log_tail[-800:]}"
    assert isinstance(outcome.value, dict)
    return outcome.value


def _assert_denied(result: dict[str, Any], what: str) -> None:
    assert result.get("allowed") is False, f"a job could {what}: {result}"


class _RunningJob:
    """A job sleeping in the same sandbox: its dir and pid, while it runs.

    It sleeps far longer than any probe takes (a busy machine included) and is cancelled by
    :meth:`stop` once the probes are done, so it is alive whenever it is probed.
    """

    def __init__(self, sb: Sandbox) -> None:
        self.job_id = f"victim{os.getpid()}"
        self.cancel = threading.Event()
        self.thread = threading.Thread(
            target=sb.run, args=("sandbox.faults:target", {"kind": "sleep", "seconds": 25}),
            kwargs={"job_id": self.job_id, "cancel": self.cancel}, daemon=True,
        )
        self.thread.start()
        root = sb._tmp_root
        assert root is not None
        deadline = time.monotonic() + 20
        self.dir: Path | None = None
        self.pid: int | None = None
        name = job_process_name(self.job_id)
        while time.monotonic() < deadline and (self.dir is None or self.pid is None):
            self.dir = next(iter(root.glob(f"job-{self.job_id}-*")), None)
            self.pid = next((p.pid for p in psutil.Process().children(recursive=True) if _name(p) == name), None)
            time.sleep(0.05)
        assert self.dir is not None and self.pid is not None, "the victim job did not start"

    def stop(self) -> None:
        self.cancel.set()
        self.thread.join(30)


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.Error:
        return ""


@pytest.mark.skipif(not _available("landlock_fs"), reason="no Landlock on this kernel")
def test_deny_confine_read_other_running_job(sb: Sandbox) -> None:
    victim = _RunningJob(sb)
    _assert_denied(_probe(sb, "probe_read", path=str(victim.dir / "payload.json")), "read another job's payload")
    _assert_denied(_probe(sb, "probe_list", path=str(victim.dir)), "list another job's dir")
    _assert_denied(_probe(sb, "probe_write", path=str(victim.dir / "planted")), "write into another job's dir")
    victim.stop()


@pytest.mark.skipif(not _available("landlock_fs"), reason="no Landlock on this kernel")
def test_deny_confine_tmp_and_gradio_cache(sb: Sandbox) -> None:
    cache = Path(tempfile.mkdtemp(prefix="gradio-"))
    try:
        (cache / "result.csv").write_text("another user's result\n")
        _assert_denied(_probe(sb, "probe_list", path=tempfile.gettempdir()), "list the system temp dir")
        _assert_denied(_probe(sb, "probe_list", path=str(cache)), "list Gradio's cache")
        _assert_denied(_probe(sb, "probe_read", path=str(cache / "result.csv")), "read a file in Gradio's cache")
    finally:
        (cache / "result.csv").unlink()
        cache.rmdir()


@pytest.mark.skipif(not _available("landlock_fs"), reason="no Landlock on this kernel")
def test_deny_confine_write_outside_job_dir(sb: Sandbox, marker_dir: Path) -> None:
    _assert_denied(_probe(sb, "probe_write", path=str(marker_dir / "marker")), "write outside its dir")
    assert not (marker_dir / "marker").exists()
    _assert_denied(_probe(sb, "probe_write", path=str(Path.home() / f".confine-probe-{os.getpid()}")),
                   "write in the parent's home")


@pytest.mark.skipif(not _available("landlock_net"), reason="no Landlock TCP rules (ABI < 4) on this kernel")
def test_deny_confine_connect_loopback_port(sb: Sandbox) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        _assert_denied(_probe(sb, "probe_connect", port=port), "connect to a listening loopback port")
    _assert_denied(_probe(sb, "probe_bind"), "bind a TCP port")


@pytest.mark.skipif(not _available("landlock_scopes"), reason="no Landlock scopes (ABI < 6) on this kernel")
def test_deny_confine_signal_parent(sb: Sandbox) -> None:
    _assert_denied(_probe(sb, "probe_signal", pid=os.getpid()), "signal the parent")


@pytest.mark.skipif(not (_available("seccomp") or _available("landlock_fs")), reason="no seccomp or Landlock")
def test_deny_confine_ptrace_sibling(sb: Sandbox) -> None:
    victim = _RunningJob(sb)
    assert victim.pid is not None
    _assert_denied(_probe(sb, "probe_ptrace", pid=victim.pid), "ptrace another job")
    victim.stop()


@pytest.mark.skipif(not _available("seccomp"), reason="no libseccomp")
def test_deny_confine_netlink_socket(sb: Sandbox) -> None:
    _assert_denied(_probe(sb, "probe_netlink"), "open an AF_NETLINK socket")


ESCAPES_DENIED_ALWAYS = ("mptcp_connect", "tcp_fast_open", "listen_without_bind", "unix_socket",
                         "clone_new_user_namespace", "io_uring_setup", "memfd_create", "dev_shm_list")
"""Routes around the Landlock TCP rules, the socket filter and the memory limit that an outside
test found (helper attack, 2026-12-02); each must be refused whether or not the job downloads."""


@pytest.mark.skipif(not (_available("seccomp") and _available("landlock_net")), reason="no seccomp or Landlock TCP rules")
@pytest.mark.parametrize("downloads", [False, True], ids=["no-download", "download"])
def test_deny_confine_escape_routes(sb: Sandbox, downloads: bool) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        outcome = sb.run("sandbox.faults:target", {"kind": "probe_escapes", "port": port},
                         connect_ports=[443] if downloads else [])
    assert outcome.ok, f"{outcome.code} {outcome.message} {outcome.log_tail[-800:]}"
    results = outcome.value
    for name in ESCAPES_DENIED_ALWAYS:
        result = results[name]
        assert result["allowed"] is False and result["errno"] in (errno.EPERM, errno.EACCES, errno.ENOSYS), (
            f"a job could {name.replace('_', ' ')}: {result}")
    udp = results["udp_send"]
    if downloads:  # a download resolves names: UDP stays (Landlock has no UDP rules)
        assert udp["allowed"] is True, udp
    else:  # a job that downloads nothing gets no inet socket at all
        assert udp["allowed"] is False and udp["errno"] == errno.EPERM, f"a job without a download sent UDP: {udp}"
    assert results["socketpair"]["allowed"] is True  # a connected pair (threads' wake-ups) still works
