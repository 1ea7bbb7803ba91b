"""Dirs a dead owner left are swept at start; everything else is left alone (sandbox.stale)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson
import pytest

from sandbox.stale import MARKER, make_owned_dir, owner_record, sweep_stale

from .conftest import make_sandbox

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "owned-"

_MAKE = "import sys; from sandbox.stale import make_owned_dir; print(make_owned_dir(sys.argv[1], sys.argv[2]), flush=True)"


def _owned_by_child(parent: Path, *, hold: bool = False) -> tuple[Path, subprocess.Popen[str]]:
    """A dir marked by a child process; with ``hold`` the child stays alive until its stdin closes."""
    code = _MAKE + ("; sys.stdin.read()" if hold else "")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, PREFIX, str(parent)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    path = Path(proc.stdout.readline().strip())
    assert (path / MARKER).is_file()
    return path, proc


def _marked(parent: Path, name: str, **change: object) -> Path:
    """A dir marked as ours, with ``change`` applied to the record."""
    path = parent / name
    path.mkdir()
    (path / MARKER).write_bytes(orjson.dumps({**owner_record(), **change}))
    return path


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    """The temp dir the owned dirs are made in."""
    return tmp_path


def test_a_dir_whose_owner_has_exited_is_removed(parent: Path) -> None:
    dead, proc = _owned_by_child(parent)
    assert proc.wait(timeout=60) == 0
    (dead / "job-1").mkdir()
    (dead / "job-1" / "payload.json").write_text("{}")
    assert sweep_stale(parent, PREFIX) == [dead]
    assert not dead.exists()


def test_a_dir_whose_owner_is_a_zombie_is_removed(parent: Path) -> None:
    dead, proc = _owned_by_child(parent)
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped yet
    try:
        assert sweep_stale(parent, PREFIX) == [dead]
    finally:
        proc.wait(timeout=60)


def test_a_dir_whose_owner_is_alive_is_kept_until_it_exits(parent: Path) -> None:
    alive, proc = _owned_by_child(parent, hold=True)
    try:
        assert sweep_stale(parent, PREFIX) == []
        assert (alive / MARKER).is_file()
    finally:
        proc.communicate("", timeout=60)
    assert sweep_stale(parent, PREFIX) == [alive]


def test_our_own_dir_is_kept(parent: Path) -> None:
    ours = make_owned_dir(PREFIX, parent)
    assert sweep_stale(parent, PREFIX) == []
    assert (ours / MARKER).is_file()


def test_a_reused_pid_or_another_boot_means_the_owner_is_gone(parent: Path) -> None:
    me = owner_record()
    reused = _marked(parent, PREFIX + "reused", start_time=me["start_time"] + 1)
    rebooted = _marked(parent, PREFIX + "rebooted", boot_id="00000000-0000-0000-0000-000000000000")
    assert sorted(sweep_stale(parent, PREFIX)) == sorted([reused, rebooted])


def test_unmarked_unreadable_foreign_and_symlinked_dirs_are_left_alone(
    parent: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    dead, proc = _owned_by_child(elsewhere)  # a dead owner's dir outside `parent`
    proc.wait(timeout=60)
    (dead / "keep.txt").write_text("x")

    unmarked = parent / (PREFIX + "unmarked")
    unmarked.mkdir()
    garbage = parent / (PREFIX + "garbage")
    garbage.mkdir()
    (garbage / MARKER).write_text("pid=1")
    linked_marker = parent / (PREFIX + "linked-marker")  # a marker that is a symlink is not read
    linked_marker.mkdir()
    (linked_marker / MARKER).symlink_to(dead / MARKER)
    other_ns = _marked(parent, PREFIX + "other-ns", pid=2**22 - 1, pid_ns="pid:[1]")  # cannot be looked up
    link = parent / (PREFIX + "link")  # a symlink to a dead owner's dir: never followed
    link.symlink_to(dead, target_is_directory=True)
    other_prefix = elsewhere / "other-prefix"
    other_prefix.mkdir()

    assert sweep_stale(parent, PREFIX) == []
    for kept in (unmarked, garbage, linked_marker, other_ns, link):
        assert kept.is_symlink() or kept.is_dir(), kept
    assert (dead / "keep.txt").read_text() == "x"


def test_the_sandbox_sweeps_at_start_and_marks_its_root(
    parent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox.supervisor import ROOT_PREFIX

    monkeypatch.setattr(tempfile, "tempdir", str(parent))
    dead, proc = _owned_by_child(parent)
    proc.wait(timeout=60)
    stale = dead.rename(parent / (ROOT_PREFIX + "dead"))
    unmarked = parent / (ROOT_PREFIX + "unmarked")
    unmarked.mkdir()
    with make_sandbox() as sb:
        assert not stale.exists()
        assert unmarked.is_dir()
        assert sb._tmp_root is not None and sb._tmp_root.parent == parent
        assert orjson.loads((sb._tmp_root / MARKER).read_bytes())["pid"] == os.getpid()
        assert sb.run("sandbox.faults:target", {"kind": "sleep", "seconds": 0}).ok
    assert not sb._tmp_root.exists()


def test_the_ui_result_files_sweep_at_creation_and_serve_no_marker(
    parent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.render import UI_PREFIX, ResultFiles

    monkeypatch.setattr(tempfile, "tempdir", str(parent))
    dead, proc = _owned_by_child(parent)
    proc.wait(timeout=60)
    stale = dead.rename(parent / (UI_PREFIX + "dead"))
    files = ResultFiles()
    try:
        assert not stale.exists()
        assert files.home.parent == parent and (files.home / MARKER).is_file()
        assert files.home in files.root.parents
        assert not any(p.name == MARKER for p in files.root.rglob("*"))  # the served tree holds no marker
        assert files.new_dir().parent == files.root
    finally:
        files.close()
    assert not files.home.exists()
