"""The page's pieces in-process: upload checks and preview, the catalog's names, result views, progress, health."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from service import catalog
from service.admission import Admission
from service.health_view import health_views, limit_descriptions
from service.http import StopButtons
from service.preview import UploadProblem, inspect_upload, preview_html, upload_limit
from service.progress import JobProgress, ordinal
from service.render import metrics_table, render, split_messages

LIMIT = upload_limit(100, 100)[0]


def messy_csv(rows: int = 60) -> str:
    lines = ["PassengerId,Survived,Pclass,Name,Sex,Age,Fare,Embarked,BoardDate"]
    for i in range(1, rows + 1):
        age = "" if i % 5 == 0 else str(20 + i % 50)
        lines.append(f'{i},{i % 2},{1 + i % 3},"Person {i}, Mr. John Smith",{"male" if i % 3 else "female"},{age},'
                     f'{i * 1.5:.2f},{"SCQ"[i % 3]},2024-0{1 + i % 9}-1{i % 9}')
    return "\n".join(lines) + "\n"


@pytest.fixture
def upload(tmp_path: Path):
    """Write a file into a stand-in upload folder and inspect it as the page does."""

    def inspect(content: str | bytes, name: str = "data.csv", **kwargs):
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return inspect_upload(str(path), max_bytes=kwargs.pop("max_bytes", LIMIT), max_rows=kwargs.pop("max_rows", 1000),
                              max_columns=50, root=tmp_path, **kwargs)

    return inspect


# -- uploads --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"   \n\n", "The file is empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG image, not a CSV"),
        (b"PK\x03\x04" + bytes(100), "ZIP archive"),
        (b"a,b\x00c\n1,2\n", "binary data"),
        ("name\nanna\nbob\n", "only one column ('name')"),
        ("a;b;c\n1;2;3\n", "separated by semicolons"),
        ("a\tb\n1\t2\n", "separated by tabs"),
        ("a,b\n", "a header but no rows"),
        ("a,b\n1,2\n3,4,5\n", "Line 3 has 3 values but the header names 2 columns"),
        (",".join(f"c{i}" for i in range(60)) + "\n" + ",".join("1" * 60) + "\n", "60 columns; at most 50"),
    ],
    ids=["empty", "blank", "png", "xlsx", "nul", "one-column", "semicolons", "tabs", "header-only", "ragged", "wide"],
)
def test_a_file_that_cannot_be_trained_on_is_refused_at_upload_with_a_plain_sentence(upload, content, message) -> None:
    with pytest.raises(UploadProblem, match=re.escape(message)) as info:
        upload(content)
    text = str(info.value)
    assert "Error tokenizing" not in text and "max_request_kb" not in text and "\ufffd" not in text


def test_a_file_over_the_pages_limit_is_refused_naming_the_real_limit(upload) -> None:
    with pytest.raises(UploadProblem, match=r"The file is 2\.0 MB; files up to 1 MB can be trained here "
                                            r"\(\[data\] max_dataset_mb\)"):
        upload("a,b\n" + "1,2\n" * (2 * (1 << 20) // 4), max_bytes=1 << 20)


@pytest.mark.parametrize(
    ("max_dataset_mb", "max_upload_mb", "expected"),
    [(100, 100, (100 << 20, "[data] max_dataset_mb")), (100, 50, (50 << 20, "[server] max_upload_mb")),
     (0, 80, (80 << 20, "[server] max_upload_mb")), (0, 0, (0, ""))],
)
def test_the_pages_upload_limit_is_max_dataset_mb_unless_the_upload_route_takes_less(
        max_dataset_mb, max_upload_mb, expected) -> None:
    assert upload_limit(max_dataset_mb, max_upload_mb) == expected


def test_a_file_larger_than_the_head_is_previewed_from_its_head_with_an_honest_row_estimate(upload) -> None:
    # 20,000 rows, ~400 KB; only the first 16 KB are decoded and parsed (the test's head).
    csv = "id,x,note,y\n" + "".join(f"{i},{i * 0.5:.1f},{'é' if i % 7 else 'a, quoted'},{i % 3}\n" for i in range(20000))
    csv = csv.replace("a, quoted", '"a, quoted"')
    preview, head = upload(csv, head_bytes=16 << 10, max_rows=250_000)
    assert not preview.exact and len(head.encode()) <= 16 << 10 and head.endswith("\n")
    assert preview.rows_read < 2000 and abs(preview.rows - 20000) <= 200  # the lines streamed, scaled by the head
    assert preview.rows_text.startswith("about ") and [c.name for c in preview.columns] == ["id", "x", "note", "y"]
    assert any("first" in n and "estimated" in n for n in preview.notes)
    html = preview_html(preview, target="y", left_out=[], problem="classification")
    assert f"about {preview.rows:,} rows × 4 columns" in html
    # A head whose rows all share one class says nothing about the rest: the job judges it.
    one_class = "x,y\n" + "".join(f"{i},1\n" for i in range(5000)) + "".join(f"{i},2\n" for i in range(5000))
    assert upload(one_class, head_bytes=4096, max_rows=0)[0].target_problem("y", "classification") is None
    # Over max_rows by the estimate: refused at upload time, saying it is an estimate.
    with pytest.raises(UploadProblem, match=r"about [\d,]+ rows, more than the 1,000 a job may load"):
        upload("a,b\n" + "1,2\n" * 5000, head_bytes=4096)


def test_a_multibyte_character_cut_by_the_head_is_not_an_encoding_error(upload) -> None:
    line = "ü" * 3 + ",1\n"  # 8 bytes a line: a 4 KB head ends inside a character
    preview, head = upload("name,val\n" + line * 2000, head_bytes=4095, max_rows=0)
    assert not preview.exact and not preview.notes[0].startswith("not UTF-8") and "\ufffd" not in head


def test_the_parent_holds_a_bounded_head_of_a_12_mb_upload(upload) -> None:
    import tracemalloc

    rows = 12 * (1 << 20) // 18  # 3x what a request could carry inline
    csv = b"a,b,c,t\n" + b"0.123,4.56,7.89,1\n" * rows
    tracemalloc.start()
    try:
        preview, head = upload(csv, max_rows=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not preview.exact and abs(preview.rows - rows) <= 10
    assert len(head) <= 1 << 20 and peak < 12 * (1 << 20), peak  # the head and its frame (~8.5 MB), not the file


def test_a_path_outside_the_upload_folder_is_never_opened(tmp_path: Path) -> None:
    with pytest.raises(UploadProblem, match="was not uploaded to this app"):
        inspect_upload("/etc/passwd", max_bytes=LIMIT, root=tmp_path)


def test_the_preview_gives_shape_types_first_rows_and_flags_the_row_identifier(upload) -> None:
    preview, text = upload(messy_csv())
    assert (preview.rows, len(preview.columns)) == (60, 9)
    kinds = {c.name: c.label for c in preview.columns}
    assert kinds["PassengerId"] == "whole number" and kinds["Name"] == "text" and kinds["BoardDate"] == "date"
    assert kinds["Sex"] == "category · 2 values" and kinds["Survived"] == "yes/no" and kinds["Fare"] == "number"
    assert preview.column("Age").missing == 12
    assert preview.identifiers == ["PassengerId"]
    assert preview.suggested_target() == "Survived" and preview.suggested_problem("Survived") == "classification"
    assert preview.suggested_problem("Fare") == "regression"
    assert preview.head[0][:3] == ["1", "1", "2"] and len(preview.head) == 5
    html = preview_html(preview, target="Survived", left_out=["PassengerId"], problem="classification")
    assert "60 rows × 9 columns" in html and "left out" in html and "looks like a row identifier" in html
    assert text.startswith("PassengerId,")


def test_a_one_class_target_is_named_before_training(upload) -> None:
    preview, _ = upload("x,y\n" + "".join(f"{i},1\n" for i in range(30)))
    problem = preview.target_problem("y", "classification")
    assert problem and "same value on every row" in problem
    assert preview.target_problem("y", "regression") is None or "same value" not in preview.target_problem("y", "regression")


def test_a_windows_1252_file_is_read_with_a_note(upload) -> None:
    preview, text = upload("name,val\ncafé,1\nnaïve,2\n".encode("cp1252"))
    assert "café" in text and any("Windows-1252" in n for n in preview.notes)


# -- catalog ----------------------------------------------------------------------------------------


def test_metric_and_plot_names_are_the_platforms_and_downloads_are_marked() -> None:
    from executor.datasets.catalog import SAMPLES
    from executor.metrics import METRICS
    from executor.plots import PLOTS

    for key, name in catalog.METRIC_NAMES.items():
        assert METRICS[key].name == name
    for problem, keys in catalog.PLOTS.items():
        for key in keys:
            assert catalog.plot_name(key, problem) == PLOTS[key][problem][0]
    for sample_id, sample in catalog.SAMPLES.items():
        assert sample["origin"] == SAMPLES[sample_id].origin
    labels = dict((v, k) for k, v in catalog.sample_choices())
    assert labels["titanic"].endswith("downloaded on first use") and labels["iris"] == "Iris"
    assert all("_" not in label for label, _ in catalog.metric_choices("classification") + catalog.plot_choices("regression"))


def test_quick_train_options_become_the_workflows_keys() -> None:
    wf = catalog.quick_workflow(dataset_id=None, csv_text="a,b,t\n1,2,0\n", target="t", problem_type="classification",
                                algorithm="random_forest", metrics=["accuracy"], plots=[], drop_columns=["a", "t"],
                                confidence_intervals=True, cv_folds=5, dataset_name="mine.csv")
    nodes = {n["type"]: n["config"] for n in wf["nodes"]}
    assert nodes["preprocessing"]["operations"] == [{"type": "drop_columns", "params": {"columns": ["a"]}}]
    assert nodes["evaluate"]["showConfidenceIntervals"] is True
    assert nodes["model"]["useCrossValidation"] is True and nodes["model"]["cvFolds"] == 5
    assert nodes["dataset"]["dataset_name"] == "mine.csv" and nodes["dataset"]["data"].startswith("a,b,t")
    ids = [n["id"] for n in wf["nodes"]]
    assert [(e["source"], e["target"]) for e in wf["edges"]] == list(zip(ids, ids[1:], strict=False))
    plain = catalog.quick_workflow(dataset_id="iris", csv_text=None, target="target", problem_type="classification",
                                   algorithm="random_forest", metrics=["accuracy"], plots=[])
    assert [n["type"] for n in plain["nodes"]] == ["dataset", "split", "model", "evaluate"]
    assert "showConfidenceIntervals" not in plain["nodes"][-1]["config"]


# -- results --------------------------------------------------------------------------------------


def _completed(**results) -> str:
    return json.dumps({"status": "completed", "results": results})


def test_cross_validation_shows_mean_plus_minus_std_and_the_ci_column_only_when_asked() -> None:
    cv = [{"key": "accuracy", "name": "Accuracy", "value": 0.9533, "std": 0.034, "folds": 5}]
    table = metrics_table({"metrics": cv})
    assert table == {"headers": ["Metric", "Value"], "data": [["Accuracy", "0.9533 ± 0.034"]]}
    per_fold = [{**cv[0], "foldValues": [0.9, 1.0, 0.93, 0.97, 0.97], "confidenceInterval": [0.9, 1.0]}]
    table = metrics_table({"metrics": per_fold})
    assert table["headers"] == ["Metric", "Value", "Per fold", "95% CI"]
    assert table["data"][0][2] == "0.9, 1, 0.93, 0.97, 0.97" and table["data"][0][3] == "[0.9, 1]"
    assert "5-fold cross-validation" in render(_completed(metrics=cv, trainingMode="cross_validation"), None).summary


def test_notes_and_warnings_are_told_apart_and_node_ids_go_to_the_details() -> None:
    warnings = [
        "[preprocessing-2] drop_columns: dropped 1 column(s): PassengerId",
        "missing values in numeric column(s) Age are filled with the training median (default imputation)",
        "[model-3] stratify needs shuffle; the split is not stratified",
        "plot 'shap' (SHAP Summary) was skipped: no explainer",
    ]
    shown_warnings, notes = split_messages({"warnings": warnings})
    assert len(notes) == 2 and len(shown_warnings) == 2
    view = render(_completed(warnings=warnings, nodes=[{"id": "model-3", "type": "model", "status": "completed",
                                                        "seconds": 0.1}]), None)
    assert "[model-3]" not in view.warnings and "model-3" not in view.warnings and "Warning:" not in view.warnings
    assert "Drop columns: dropped 1 column(s): PassengerId" in view.warnings
    assert "model-3" in view.details


def test_a_failure_speaks_plainly_and_keeps_ids_and_usage_in_the_details() -> None:
    text = json.dumps({"status": "failed", "errorCode": "dataset_error",
                       "error": "[dataset-1] data: Inline CSV cannot be parsed: bad line",
                       "errorDetails": {"nodeId": "dataset-1", "field": "data",
                                        "usage": {"wall_seconds": 0.466, "peak_memory_mb": 42.285, "max_rss_mb": 198.1}}})
    view = render(text, None)
    assert "Failed: the data could not be used" in view.summary and "dataset_error" in view.summary
    assert "The CSV data cannot be parsed" in view.summary
    for internal in ("[dataset-1]", "Inline CSV", "peak memory mb", "max rss mb"):
        assert internal not in view.summary and internal not in view.details
    assert "dataset-1" in view.details and "peak memory 42.28 MB" in view.details


def test_the_model_usage_is_shown_when_the_engine_sends_it(tmp_path: Path) -> None:
    from service.render import ResultFiles

    usage = {"columns": [{"name": "sepal length (cm)", "dtype": "float64"}],
             "snippet": 'import joblib\nmodel = joblib.load("model.joblib")'}
    files = ResultFiles()
    try:
        view = render(_completed(algorithm="random_forest", model_base64="eJwDAAAAAAE=", modelUsage=usage), files)
        assert view.model_file and view.model_file.endswith("model_random_forest.joblib")
        assert 'joblib.load("model_random_forest.joblib")' in view.usage and "sepal length (cm)" in view.usage
    finally:
        files.close()


# -- progress, line, stop -------------------------------------------------------------------------


def test_progress_says_the_place_in_line_then_the_step_detail_and_time_left() -> None:
    p = JobProgress(wall_clock_seconds=200, deadline_seconds=240, arrival=0.0)
    p.on_place(2, running=2)
    assert "2nd in line" in p.html(now=5) and "2 jobs running" in p.html(now=5)
    p.on_event({"type": "progress", "node": "model-3", "nodeType": "model", "index": 2, "total": 5})
    p.started = 10.0
    p.on_event({"type": "progress", "nodeType": "model", "index": 2, "total": 5, "detail": "fold 2 of 5", "fraction": 0.4})
    html = p.html(now=40)
    assert "Training the model" in html and "fold 2 of 5" in html and "step 3 of 5" in html
    assert "width:48%" in html  # (2 + 0.4) / 5
    assert "0:40 elapsed" in html and "2:50 left before the 200 s limit" in html and "model-3" not in html
    assert "near-limit" in p.html(now=180)
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 22)] == ["1st", "2nd", "3rd", "4th", "11th", "22nd"]


def test_admission_tells_a_waiting_request_its_place() -> None:
    async def scenario() -> list[object]:
        adm = Admission(1, 3)
        assert await adm.acquire(1)
        first = asyncio.create_task(adm.acquire(5))
        second = asyncio.create_task(adm.acquire(5))
        await asyncio.sleep(0.01)
        places = [adm.place(first), adm.place(second), adm.place(asyncio.current_task())]
        adm.release()
        await first
        places.append(adm.place(second))
        second.cancel()
        return places

    assert asyncio.run(scenario()) == [1, 2, None, 1]


def test_stop_sets_only_the_running_job_of_that_session_and_panel() -> None:
    stops = StopButtons()
    with stops.running("s1:quick") as mine, stops.running("s2:quick") as theirs:
        assert stops.stop("s1:quick") and mine.is_set() and not theirs.is_set()
        assert not stops.stop("s1:json")
    assert not stops.stop("s1:quick")


# -- health ---------------------------------------------------------------------------------------


def test_the_health_tab_is_readable_without_the_code() -> None:
    report = {
        "status": "degraded", "version": "0.1.0", "gradio": "6", "python": "3.11", "limitsFile": "limits.toml",
        "limits": {"job": {"wall_clock_seconds": 200}, "text": {"max_echo_chars": 200}},
        "template": {"alive": True}, "guards": [{"name": "rlimit_nproc", "active": False, "reason": "inactive: root " * 20}],
        "container": {"cpus": 2}, "calibrated": {},
        "selfCheck": {"ok": False, "failing": ["memory"], "probes": [
            {"name": "memory", "expected": "memory_exceeded", "got": None, "ok": False, "detail": "no answer"}]},
        "jobs": {"running": 1, "waiting": 0, "maxConcurrent": 2, "maxWaiting": 8, "started": 53, "byCode": {"completed": 3}},
        "recent": [{"at": "2026-12-02T00:00:00", "code": "completed", "seconds": 1.2, "queueWaitSeconds": 0, "nodes": 5,
                    "types": ["dataset", "model"]}],
    }
    status, guards, probes, recent, limits, container = health_views(report)
    assert "status-chip warn" in status and "Degraded" in status
    assert "Jobs started since start-up</dt><dd>53" in status and "1 of 2" in status
    assert ("inactive: root " * 20).strip() in guards  # full text, never cut
    assert "pill bad'>failed" in probes and "pill good'>completed" in recent
    assert "[job] · One job" in limits and "wall_clock_seconds" in limits and "Seconds of wall-clock time" in limits
    assert "max_echo_chars" not in limits  # the engine's copy of [request] is not repeated
    assert limit_descriptions()[("request", "max_request_kb")].startswith("KB of workflow JSON")
