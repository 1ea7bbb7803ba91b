"""Parent-side bounds in-process: the JSON pre-scan, bounded failures, uploads, Gradio internals, health."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.config import RequestLimits
from service.jsonscan import scan
from service.results import bound_failure, dumps
from service.uploads import UploadRefused, read_upload, refused_paths, uploaded_file

# -- the pre-scan -------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
    | st.sampled_from(['\\', '"', '\\"', '\\\\', '{[', '",', '\\\\"']),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4) | st.sampled_from(['"', '\\']), inner, max_size=4),
    max_leaves=30,
)


def _real(value: Any, level: int = 1) -> tuple[int, int, int]:
    """(values, depth, longest string in UTF-8 bytes, keys included) of a decoded value."""
    if isinstance(value, dict):
        parts = [_real(v, level + 1) for v in value.values()]
        keys = max((len(json.dumps(k, ensure_ascii=False).encode()) - 2 for k in value), default=0)
        return (1 + sum(p[0] for p in parts), max([level] + [p[1] for p in parts]), max([keys] + [p[2] for p in parts]))
    if isinstance(value, list):
        parts = [_real(v, level + 1) for v in value]
        return (1 + sum(p[0] for p in parts), max([level] + [p[1] for p in parts]), max([0] + [p[2] for p in parts]))
    longest = len(json.dumps(value, ensure_ascii=False).encode()) - 2 if isinstance(value, str) else 0
    return (1, level - 1, longest)


@pytest.mark.slow  # 300 generated documents
@settings(max_examples=300, deadline=None)
@given(_json)
def test_the_scan_bounds_values_depth_and_strings_of_any_json(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False).encode()
    values, depth, longest = _real(value)
    shape = scan(text, max_depth=0)  # max_depth 0: the depth is always measured exactly
    assert shape.terminated
    assert shape.values >= values
    assert shape.depth == depth
    assert shape.longest_string == longest  # escaped length: never less than the decoded one


@pytest.mark.parametrize(
    ("text", "values", "depth"),
    [
        (b'{"a": [1, 2, {"b": "x,{[\\\\\\"]"}]}', 6, 3),
        (b"[" * 50 + b"]" * 50, 51, 50),
        (b'{1:[' + b"0," * 1000 + b"]}", 1003, 2),
        (b'["\\\\", "\\"", "]]]]"]', 4, 1),
    ],
    ids=["escapes-inside-strings", "deep", "literal-eval-bomb", "quotes-and-brackets-in-strings"],
)
def test_the_scan_reads_structure_outside_strings_only(text: bytes, values: int, depth: int) -> None:
    shape = scan(text, max_depth=0)
    assert (shape.values, shape.depth) == (values, depth)


def test_an_open_string_is_seen_as_unterminated() -> None:
    assert not scan(b'{"a": "open', max_depth=4).terminated


# -- bounded failures ---------------------------------------------------------------------------

CAPS = RequestLimits(max_problems=5, max_echo_chars=40, max_error_kb=8)


@pytest.mark.parametrize(
    "details",
    [
        {"problems": [{"message": f"unknown op {'z' * 500}", "nodeId": "n" * 7000} for _ in range(2500)]},
        {"nested": [[[[[[[[[[["deep"]]]]]]]]]]], "keys": {f"k{i}" * 100: i for i in range(5000)}},
        {"logTail": "x" * 100_000, "value": "v" * 100_000},
    ],
    ids=["many-long-problems", "deep-and-wide", "long-strings"],
)
def test_every_failure_is_bounded(details: dict[str, Any]) -> None:
    envelope = {"status": "failed", "error": "e" * 200_000, "errorCode": "invalid_workflow", "errorDetails": details}
    out = bound_failure(envelope, CAPS)
    assert len(dumps(out)) <= CAPS.max_error_kb * 1024
    assert out["errorCode"] == "invalid_workflow"
    assert out["error"].startswith("eee")


def test_a_long_problem_list_is_cut_and_counted() -> None:
    envelope = {"status": "failed", "error": "bad", "errorCode": "invalid_workflow",
                "errorDetails": {"problems": [f"p{i}" for i in range(30)], "nodeId": "n" * 300}}
    out = bound_failure(envelope, CAPS)
    assert out["errorDetails"]["problems"] == ["p0", "p1", "p2", "p3", "p4", "… and 25 more"]
    assert out["errorDetails"]["nodeId"] == "n" * 39 + "…"


def test_success_is_left_alone() -> None:
    envelope = {"status": "completed", "results": {"warnings": ["w" * 10_000] * 100}}
    assert bound_failure(envelope, CAPS) is envelope


# -- uploads -------------------------------------------------------------------------------------


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    root = tmp_path / "uploads"
    (root / "abc").mkdir(parents=True)
    (root / "abc" / "data.csv").write_text("a,b\n1,2\n")
    return root.resolve()


def _fifo(root: Path) -> Path:
    path = root / "abc" / "pipe.csv"
    os.mkfifo(path)
    return path


def _socket(root: Path) -> Path:
    path = root / "abc" / "sock.csv"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    return path


def _link(root: Path, target: str) -> Path:
    path = root / "abc" / "link.csv"
    path.symlink_to(target)
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda root: "/etc/hostname",
        lambda root: "/proc/self/environ",
        lambda root: "/dev/zero",
        lambda root: str(root / "abc" / ".." / ".." / "outside.csv"),
        lambda root: "abc/data.csv",
        lambda root: "http://127.0.0.1:1/x.csv",
        lambda root: str(root / "abc" / "missing.csv"),
        lambda root: str(root / "abc"),
        lambda root: str(_fifo(root)),
        lambda root: str(_socket(root)),
        lambda root: str(_link(root, "/etc/hostname")),
        lambda root: str(_link(root, "/dev/zero")),
        lambda root: str(root) + "\x00/abc/data.csv",
        lambda root: 42,
        lambda root: "/a" * 300_000,
        lambda root: str(root) + "/abc" * 2000,
    ],
    ids=["host-file", "proc-environ", "dev-zero", "dot-dot", "relative", "url", "missing", "directory", "fifo",
         "socket", "link-out", "link-to-device", "nul-byte", "not-a-string", "over-path-max",
         "deep-inside"],
)
def test_only_regular_files_inside_the_upload_folder_are_uploads(upload_dir: Path, make: Any) -> None:
    path = make(upload_dir)
    with pytest.raises(UploadRefused):
        uploaded_file(path, upload_dir)
    assert refused_paths({"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}]}, upload_dir,
                         max_items=100, echo_chars=40)


def test_an_upload_is_read_up_to_its_cap(upload_dir: Path) -> None:
    path = str(upload_dir / "abc" / "data.csv")
    assert uploaded_file(path, upload_dir) == upload_dir / "abc" / "data.csv"
    assert read_upload(path, upload_dir, 3) == b"a,b"
    assert refused_paths({"data": [{"path": path}, None, "text"]}, upload_dir, max_items=100, echo_chars=40) == []


def test_a_refusal_echoes_a_cut_path(upload_dir: Path) -> None:
    problems = refused_paths([{"path": "/" + "p" * 5000}], upload_dir, max_items=10, echo_chars=40)
    assert len(problems) == 1 and len(problems[0]) < 200


# -- Gradio internals ----------------------------------------------------------------------------


@pytest.mark.slow  # imports Gradio (~5 s)
def test_the_installed_gradio_has_every_internal_the_worker_uses() -> None:
    import gradio as gr

    from service import gradio_compat

    with gr.Blocks() as blocks:
        gr.Textbox()
    blocks.queue()
    gradio_compat.check_compatible(blocks)  # raises GradioIncompatible, naming what moved


@pytest.mark.slow  # imports Gradio (~5 s)
def test_session_state_keeps_no_large_value() -> None:
    import gradio as gr
    from gradio.state_holder import StateHolder

    from service import gradio_compat

    with gr.Blocks() as blocks:
        box = gr.Textbox()
    holder = StateHolder()
    holder.set_blocks(blocks)
    gradio_compat.bound_session_values(blocks, 1024)
    state = holder["session-1"]
    state._update_value_in_config(box._id, "x" * 5000)
    assert state.config_values[box._id]["props"]["value"] is None
    state._update_value_in_config(box._id, "small")
    assert state.config_values[box._id]["props"]["value"] == "small"
    assert "session-1" in holder


# -- health -------------------------------------------------------------------------------------


def _worker_with_outcome(monkeypatch: pytest.MonkeyPatch, token: str | None) -> Any:
    from service.config import Settings
    from service.worker import Worker

    if token:
        monkeypatch.setenv("WORKER_HEALTH_TOKEN", token)
    else:
        monkeypatch.delenv("WORKER_HEALTH_TOKEN", raising=False)
    worker = Worker(Settings(), self_check=False)
    record = {"requestId": "r1", "code": "dataset_error", "seconds": 0.1, "queueWaitSeconds": 0.0, "at": "now",
              "workflow": {"nodes": 2, "types": ["dataset", "secret_type_name"], "datasets": ["private-id-123"],
                           "algorithms": ["svm"]},
              "error": "target column 'SecretColumnName' not found; columns: Salary, SSN"}
    worker.recent.appendleft(record)
    worker.counts["dataset_error"] = 1
    worker.counts["made_up_code_by_engine"] = 1
    return worker


def test_public_health_shows_no_request_data(monkeypatch: pytest.MonkeyPatch) -> None:
    worker = _worker_with_outcome(monkeypatch, token="op-token-123")
    text = json.dumps(worker.health(operator=worker.is_operator(None)))
    for private in ("private-id-123", "SecretColumnName", "Salary", "secret_type_name", "made_up_code", "r1", "svm"):
        assert private not in text
    assert '"types": ["dataset", "other"]' in text


@pytest.mark.parametrize(
    ("header", "token", "operator"),
    [
        ("Bearer op-token-123", "op-token-123", True),
        ("bearer op-token-123", "op-token-123", True),
        ("Bearer op-token-12", "op-token-123", False),
        ("op-token-123", "op-token-123", False),
        ("Bearer ", "op-token-123", False),
        ("Bearer anything", None, False),
        (None, "op-token-123", False),
    ],
)
def test_the_operator_view_needs_the_configured_token(
    monkeypatch: pytest.MonkeyPatch, header: str | None, token: str | None, operator: bool
) -> None:
    worker = _worker_with_outcome(monkeypatch, token=token)
    assert worker.is_operator(header) is operator
    report = worker.health(operator=worker.is_operator(header))
    assert ("private-id-123" in json.dumps(report)) is operator
