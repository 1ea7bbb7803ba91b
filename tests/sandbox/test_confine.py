"""Confinement layers (sandbox/confine.py): reporting, the [guards] switches, and a confined job's
ordinary work (its own dir, Python, system files). The denials are in tests/security/test_deny_confine.py."""

from __future__ import annotations

import os
import socket
import tempfile

import pytest

from sandbox import GuardLimits, JobLimits, Sandbox, confine
from sandbox.container import detect
from sandbox.layers import guard_layers
from sandbox.plan import LimitPlan

OFF = {layer: "off" for layer in confine.LAYERS}


def test_every_layer_is_reported_with_its_switch() -> None:
    layers = {entry["name"]: entry for entry in guard_layers(LimitPlan(JobLimits(), GuardLimits(**OFF)), detect(), threads=1)}
    for layer in confine.LAYERS:
        assert layers[layer]["active"] is False
        assert f'[guards] {layer} = "off"' in layers[layer]["detail"]


def test_a_layer_the_kernel_cannot_give_is_inactive_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(confine, "_kernel", lambda: {"abi": 3, "seccomp": False})
    status = confine.status(GuardLimits(landlock_net="auto"))
    assert status["landlock_fs"][0] is True
    assert status["landlock_net"] == (False, "inactive: the kernel's Landlock ABI is 3, 4 is needed")
    assert status["landlock_scopes"][0] is False
    assert status["seccomp"] == (False, "inactive: libseccomp.so.2 not found")


def test_require_refuses_to_start_without_the_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(confine, "_kernel", lambda: {"abi": 0, "seccomp": True})
    confine.require(GuardLimits(landlock_fs="auto"))  # auto: fine without it
    with pytest.raises(confine.ConfineError, match="landlock_fs"):
        confine.require(GuardLimits(landlock_fs="require"))
    with pytest.raises(confine.ConfineError):
        Sandbox(JobLimits(), GuardLimits(landlock_fs="require")).start()


def test_the_modes_are_validated() -> None:
    with pytest.raises(ValueError):
        GuardLimits(seccomp="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tree", "readable"),
    [("/", False), ("/tmp/sandbox-jobs-x", False), ("/tmp/sandbox-jobs-x/job-1", False), ("/tmp/", False),
     ("/usr", True), ("/tmp/sandbox-jobs-xy", True), ("/opt/venv/lib/python3.11", True)],
)
def test_a_tree_holding_the_job_dir_is_never_readable(tree: str, readable: bool) -> None:
    """Rules are beneath-rules: a Python tree that holds the job dirs (/, /tmp) would open every job."""
    assert confine._may_read_tree(tree, "/tmp/sandbox-jobs-x/job-1") is readable


@pytest.mark.skipif(not confine.status(GuardLimits())["landlock_fs"][0], reason="no Landlock")
def test_a_confined_job_still_works_in_its_dir() -> None:
    with Sandbox(JobLimits(threads=1), GuardLimits(), fault_injection=True) as sb:
        written = sb.run("sandbox.faults:target", {"kind": "write_file", "mb": 1})
        assert written.ok, written.to_dict()
        for path in ("/etc/hostname" if os.path.exists("/etc/hostname") else "/etc/passwd", os.__file__):
            read = sb.run("sandbox.faults:target", {"kind": "probe_read", "path": path})
            assert read.ok and read.value["allowed"] is True, read.to_dict()
        tmp = sb.run("sandbox.faults:target", {"kind": "probe_list", "path": tempfile.gettempdir()})
        assert tmp.ok and tmp.value["allowed"] is False
        assert [layer["name"] for layer in sb.layers() if layer["active"] and layer["name"] in confine.LAYERS]


@pytest.mark.skipif(not confine.status(GuardLimits(landlock_net="auto"))["landlock_net"][0], reason="no Landlock ABI 4")
def test_the_caller_names_the_ports_a_job_may_connect_to() -> None:
    with socket.socket() as listener, Sandbox(JobLimits(threads=1), GuardLimits(landlock_net="auto"),
                                               fault_injection=True) as sb:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        probe = {"kind": "probe_connect", "port": port}
        allowed = sb.run("sandbox.faults:target", probe, connect_ports=[port])
        assert allowed.ok and allowed.value["allowed"] is True, allowed.to_dict()
        for ports in ([], None):  # none at all; the [guards] default (80, 443)
            denied = sb.run("sandbox.faults:target", probe, connect_ports=ports)
            assert denied.ok and denied.value["allowed"] is False, denied.to_dict()
        bind = sb.run("sandbox.faults:target", {"kind": "probe_bind"}, connect_ports=[port])
        assert bind.ok and bind.value["allowed"] is False
