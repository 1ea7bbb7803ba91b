"""Free text → TF-IDF fitted on training rows (vocabulary capped); date-like strings → numeric parts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from executor import EngineLimits
from executor.limits import DataLimits
from executor.preprocess.text import looks_like_dates, looks_like_text
from tests.executor import enginekit as kit

SPAM = ["win a free prize now click here", "free cash offer claim your reward today",
        "urgent you have won a free holiday call now"]
HAM = ["are we still meeting for lunch tomorrow", "can you send me the notes from class",
       "i will be home late tonight sorry"]


def _messages(n: int = 120) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        spam = i % 2 == 0
        words = (SPAM if spam else HAM)[i % 3].split()
        rng.shuffle(words)
        rows.append({"message": " ".join(words) + f" w{i}", "label": "spam" if spam else "ham"})
    return rows


def _months(n: int = 144) -> list[dict]:
    return [{"Month": f"{1949 + i // 12}-{i % 12 + 1:02d}", "Passengers": 100 + 2 * i + 20 * ((i % 12) in (6, 7))}
            for i in range(n)]


@pytest.mark.parametrize("values, text, dates", [
    (["hello there how are you", "see you later my friend"], True, False),
    (["1949-01", "1949-02", "1950-11"], False, True),
    (["03/12/2020", "04/01/2021"], False, True),
    (["male", "female", "male"], False, False),
    (["A12", "B7", "C3"], False, False),
])
def test_detection_of_text_and_dates(values: list[str], text: bool, dates: bool) -> None:
    s = pd.Series(values)
    assert (looks_like_text(s), looks_like_dates(s)) == (text, dates)


def test_free_text_is_vectorised_and_classified() -> None:
    out = kit.run(kit.inline_workflow(_messages(), "label", "nlp", algorithm="logistic_regression",
                                      metrics=["accuracy"]))
    res = out["results"]
    assert out["status"] == "completed", out.get("error")
    assert res["problemType"] == "classification"
    assert any("TF-IDF" in w for w in res["warnings"])
    assert res["metrics"][0]["value"] > 0.9


def test_the_vocabulary_is_capped_by_the_column_limit() -> None:
    limits = EngineLimits(data=DataLimits(max_columns=40))
    res = kit.run(kit.inline_workflow(_messages(), "label", "classification"), limits=limits)["results"]
    assert res["featuresCount"] <= 40 // 4
    assert any("at most 10 terms" in w for w in res["warnings"])


def test_the_vocabulary_is_learned_on_training_rows_only() -> None:
    rows = _messages(100)
    rows[-1]["message"] = "zebra " * 6
    wf = kit.inline_workflow(rows, "label", "classification", split={"test_size": 0.1, "shuffle": False})
    from executor.validate import validate_workflow
    from executor.workbench import Workbench
    from sandbox import JobContext

    plan = validate_workflow(wf)
    bench = Workbench(plan, EngineLimits(), JobContext.local(), [])
    bench.load("dataset-1", plan.configs["dataset-1"])
    names = bench.train("model-4").evaluation.feature_names
    assert not any("zebra" in n for n in names) and any(n.startswith("message__") for n in names)


def test_date_strings_become_numeric_parts() -> None:
    out = kit.run(kit.inline_workflow(_months(), "Passengers", "time_series", algorithm="linear_regression",
                                      metrics=["r2"]))
    res = out["results"]
    assert out["status"] == "completed", out.get("error")
    assert res["featuresCount"] == 4  # year, month, day, weekday
    assert any("date column(s) Month" in w for w in res["warnings"])
    assert res["metrics"][0]["value"] > 0.8
