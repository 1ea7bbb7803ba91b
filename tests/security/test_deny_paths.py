"""Dataset ids and URLs cannot reach local files (``../``, absolute paths, ``file://``).

Guard: ``paths`` (only known sample ids load; a URL must be http(s)). Proof by side effect: an audit
hook records every file the process opens while the engine runs, and the secret file must never be
among them; the answer must be a coded refusal that does not echo the file's content.
``--sabotage=paths`` replaces ``executor.datasets.load_dataset`` with a naive loader that reads any
id or URL naming a file, so the secret file gets opened.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz.envelope import check_envelope
from tests.security.probes import Audit
from tests.security.sabotage import apply_in_process

TOKEN = "secretcolumn_7e1d"


@pytest.fixture
def secret_csv(tmp_path: Path) -> Path:
    path = tmp_path / "private" / "secret.csv"
    path.parent.mkdir()
    rows = "\n".join(f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(60))
    path.write_text(f"a,{TOKEN},target\n{rows}\n")
    return path


def _ids(path: Path) -> dict[str, dict[str, Any]]:
    traversal = "../" * 12 + str(path).lstrip("/")
    return {
        "absolute": {"dataset_id": str(path)},
        "traversal": {"dataset_id": traversal},
        "sample_prefix_traversal": {"dataset_id": "sample-" + traversal},
        "file_scheme_id": {"dataset_id": f"file://{path}"},
        "file_scheme_url": {"dataset_id": "user-upload", "is_sample": False, "dataset_url": f"file://{path}"},
        "file_scheme_url_camel": {
            "dataset_id": "user-upload",
            "is_sample": False,
            "datasetUrl": f"file://{path}",
        },
        "bare_path_url": {"dataset_id": "user-upload", "is_sample": False, "dataset_url": str(path)},
        "etc_passwd": {"dataset_id": "/etc/passwd"},
    }


CASES = sorted(_ids(Path("/x")))


def _wf(ds: dict[str, Any]) -> dict[str, Any]:
    cfg = {"is_sample": True, "target_column": "target", "problem_type": "classification", **ds}
    return {
        "nodes": [
            {"id": "dataset-1", "type": "dataset", "config": cfg},
            {
                "id": "model-2",
                "type": "model",
                "config": {"algorithm": "decision_tree", "hyperparameters": {}},
            },
        ],
        "edges": [{"id": "e1", "source": "dataset-1", "target": "model-2"}],
    }


def run_engine(workflow: Any, sabotage: str | None, tmp_path: Path) -> dict[str, Any]:
    from executor.entry import run
    from sandbox import JobContext
    from service.config import Settings

    apply_in_process(sabotage)
    (tmp_path / "job").mkdir(exist_ok=True)
    ctx = JobContext.local(tmpdir=tmp_path / "job")
    payload = {
        "workflow": workflow,
        "limits": Settings().engine_limits(),
        "fault_injection": False,
        "request_id": "deny",
    }
    return run(payload, ctx)


@pytest.mark.parametrize("case", CASES)
def test_deny_paths_dataset_id_or_url_cannot_read_a_local_file(
    case: str, secret_csv: Path, tmp_path: Path, sabotage: str | None
) -> None:
    ds = _ids(secret_csv)[case]
    target = "/etc/passwd" if case == "etc_passwd" else str(secret_csv)
    with Audit() as audit:
        answer = run_engine(_wf(ds), sabotage, tmp_path)
    opened = [p for p in audit.opened if p.endswith(Path(target).name) and Path(p).resolve() == Path(target)]
    assert opened == [], f"the engine opened {target} for dataset {ds}"
    check_envelope(answer)
    text = json.dumps(answer)
    assert TOKEN not in text and "root:x:0:0" not in text, (
        f"the file's content leaked into the answer: {text[:400]}"
    )
    assert answer["status"] == "failed" and answer["errorCode"] in ("dataset_error", "invalid_workflow"), (
        answer
    )
