"""Sandbox.run(files=...): plain names checked, sources copied into the job's dir, gone after the job.

The name and source checks answer before any process starts (these tests run in the fast loop on a
sandbox that is never started); the runs through a real sandbox use the shared ``sandbox`` fixture
(``slow``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import ErrorCode, GuardLimits, Sandbox, confine
from sandbox.files import FILE_NAME, FilesRefused, check_file_name
from tests.sandbox.conftest import GUARDS, SMALL, assert_cleaned_up

TARGET = "tests.sandbox.targets:read_files"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    return path


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../escape.csv", "not a plain file name"),
        ("dir/data.csv", "not a plain file name"),
        ("/etc/passwd", "not a plain file name"),
        ("..", "not a plain file name"),
        ("a..b", "not a plain file name"),
        (".hidden", "not a plain file name"),
        ("", "not a plain file name"),
        ("x" * 65, "not a plain file name"),
        ("da ta.csv", "not a plain file name"),
        ("data\x00.csv", "not a plain file name"),
        ("dätä.csv", "not a plain file name"),
        ("payload.json", "the payload's own name"),
        (7, "not a plain file name"),
    ],
    ids=["dotdot-slash", "slash", "absolute", "dotdot", "inner-dotdot", "leading-dot", "empty", "too-long", "space",
         "nul", "non-ascii", "payload", "not-a-string"],
)
def test_a_name_that_is_not_plain_is_refused_with_a_code_before_any_job(source: Path, name, why) -> None:
    sb = Sandbox(SMALL, GUARDS)  # never started: the refusal comes before a job could
    out = sb.run(TARGET, {}, files={name: str(source)})
    assert not out.ok and out.code == ErrorCode.INVALID_REQUEST and why in out.message
    assert out.code != "internal_error" and sb.jobs_started == 0


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda tmp: str(tmp / "missing.csv"), "cannot be read"),
        (lambda tmp: str(tmp), "not a regular file"),
        (lambda tmp: "/dev/zero", "not a regular file"),
        (lambda tmp: 42, "not a path"),
        (lambda tmp: "", "not a path"),
    ],
    ids=["missing", "directory", "device", "number", "empty"],
)
def test_a_source_that_is_not_a_regular_file_is_refused_with_a_code(tmp_path: Path, make, why) -> None:
    out = Sandbox(SMALL, GUARDS).run(TARGET, {}, files={"data.csv": make(tmp_path)})
    assert out.code == ErrorCode.INVALID_REQUEST and why in out.message


def test_files_must_be_a_mapping(source: Path) -> None:
    out = Sandbox(SMALL, GUARDS).run(TARGET, {}, files=[("data.csv", str(source))])  # type: ignore[arg-type]
    assert out.code == ErrorCode.INVALID_REQUEST and "mapping" in out.message


def test_plain_names_pass() -> None:
    for name in ("upload-0.csv", "data.csv", "A_b-9", "x" * 64):
        assert FILE_NAME.fullmatch(name) and check_file_name(name, reserved="payload.json") == name
    with pytest.raises(FilesRefused):
        check_file_name("payload.json", reserved="payload.json")


def test_a_job_reads_the_files_passed_to_it_and_they_go_with_its_dir(sandbox: Sandbox, source: Path) -> None:
    other = source.with_name("other.txt")
    other.write_text("second")
    out = sandbox.run(TARGET, {"names": ["upload-0.csv", "notes.txt"], "outside": str(source)},
                      files={"upload-0.csv": source, "notes.txt": str(other)})
    assert out.ok, out.message
    assert out.value["files"] == {"upload-0.csv": "a,b\n1,2\n", "notes.txt": "second"}
    assert {"upload-0.csv", "notes.txt", "payload.json"} <= set(out.value["listing"])
    if confine.status(GuardLimits())["landlock_fs"][0]:
        # The original is outside the job's dir: under landlock_fs the copy is all the job can read.
        assert out.value["outside"] == "PermissionError"
    assert_cleaned_up(sandbox, out)
    assert source.read_text() == "a,b\n1,2\n"  # the source is the caller's, untouched


def test_a_source_removed_after_the_check_is_refused_not_an_internal_error(sandbox: Sandbox, source: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox import files as files_mod

    real_check = files_mod.check_files

    def check_then_remove(files, *, reserved):
        checked = real_check(files, reserved=reserved)
        source.unlink()
        return checked

    monkeypatch.setattr("sandbox.supervisor.check_files", check_then_remove)
    started = sandbox.jobs_started
    out = sandbox.run(TARGET, {}, files={"upload-0.csv": str(source)})
    assert out.code == ErrorCode.INVALID_REQUEST and "gone" in out.message
    assert sandbox.jobs_started == started
