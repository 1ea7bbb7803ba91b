"""executor.datasets: offline samples, ids, inline data, precedence and the [data] caps."""

from __future__ import annotations

import pandas as pd
import pytest

import executor.datasets as datasets
from executor.datasets import DatasetRequest, LoadedDataset, load_dataset, sample_ids
from executor.datasets.catalog import DOWNLOADS, SAMPLES
from executor.errors import DatasetError
from executor.limits import DataLimits, EngineLimits
from sandbox.context import JobContext
from tests.executor.test_remote_support import limits

CONTRACT_IDS = [
    "air_passengers", "boston_housing", "breast_cancer", "california_housing", "credit_fraud", "diabetes",
    "digits", "imdb_reviews", "iris", "sms_spam", "synthetic_imbalanced", "titanic",
    "transactions_categorical", "wine",
]  # fmt: skip

# id, shape, default target, problem types, text columns, date columns (contract §7)
OFFLINE = [
    ("iris", (150, 5), "target", ["classification"], [], []),
    ("breast_cancer", (569, 31), "target", ["classification"], [], []),
    ("diabetes", (442, 11), "target", ["regression"], [], []),
    ("wine", (178, 14), "target", ["classification"], [], []),
    ("digits", (1797, 65), "target", ["classification", "image"], [], []),
    ("boston_housing", (506, 14), "MEDV", ["regression"], [], []),
    ("air_passengers", (144, 3), "Passengers", ["regression", "time_series"], [], ["Month"]),
    ("synthetic_imbalanced", (10000, 21), "target", ["classification"], [], []),
    ("transactions_categorical", (10000, 10), "is_fraud", ["classification"], [], []),
]


def _load(req: DatasetRequest, lim: EngineLimits | None = None) -> LoadedDataset:
    return load_dataset(req, limits=lim or EngineLimits(), ctx=JobContext.local())


def test_public_surface_is_sorted_and_complete() -> None:
    assert datasets.__all__ == sorted(datasets.__all__)
    assert {"DatasetRequest", "LoadedDataset", "load_dataset", "sample_ids"} <= set(datasets.__all__)


def test_sample_ids_are_exactly_the_contract_catalog() -> None:
    assert sample_ids() == CONTRACT_IDS
    assert set(DOWNLOADS) == {k for k, spec in SAMPLES.items() if spec.origin == "download"}


@pytest.mark.parametrize("key, shape, target, problems, text, dates", OFFLINE)
@pytest.mark.parametrize("prefix", ["", "sample-"])
def test_offline_samples_load_with_the_contract_shape_and_hints(
    key: str,
    shape: tuple[int, int],
    target: str,
    problems: list[str],
    text: list[str],
    dates: list[str],
    prefix: str,
) -> None:
    got = _load(DatasetRequest(dataset_id=prefix + key, is_sample=True, node_id="dataset-1"))
    assert got.frame.shape == shape
    assert got.default_target == target and target in got.frame.columns
    assert got.problem_types == problems and got.source == f"sample:{key}"
    assert got.text_columns == text and got.date_columns == dates and got.warnings == []
    assert list(got.frame.columns) == [str(c) for c in got.frame.columns]


@pytest.mark.parametrize(
    "key, column, expected",
    [
        ("iris", "target", [0, 1, 2]),
        ("wine", "target", [0, 1, 2]),
        ("breast_cancer", "target", [0, 1]),
        ("digits", "target", list(range(10))),
        ("synthetic_imbalanced", "target", [0, 1]),
        ("transactions_categorical", "is_fraud", [0, 1]),
    ],
)
def test_class_targets_are_numeric_codes(key: str, column: str, expected: list[int]) -> None:
    frame = _load(DatasetRequest(dataset_id=key)).frame
    assert sorted(frame[column].unique().tolist()) == expected
    assert pd.api.types.is_integer_dtype(frame[column])


def test_digits_columns_are_pixel_row_col() -> None:
    columns = list(_load(DatasetRequest(dataset_id="digits")).frame.columns)
    assert columns[0] == "pixel_0_0" and columns[63] == "pixel_7_7" and columns[64] == "target"


def test_air_passengers_is_the_box_jenkins_series() -> None:
    frame = _load(DatasetRequest(dataset_id="air_passengers")).frame
    assert frame["Month"].iloc[[0, -1]].tolist() == ["1949-01", "1960-12"]
    assert frame["Passengers"].sum() == 40363 and frame["Passengers"].max() == 622
    assert frame["Year"].nunique() == 12


def test_boston_has_every_original_column() -> None:
    frame = _load(DatasetRequest(dataset_id="boston_housing")).frame
    assert list(frame.columns)[-3:] == ["B", "LSTAT", "MEDV"]
    assert frame["CHAS"].isin([0, 1]).all() and round(float(frame["MEDV"].mean()), 3) == 22.533


def test_synthetic_samples_are_deterministic_and_shaped_as_described() -> None:
    first = _load(DatasetRequest(dataset_id="synthetic_imbalanced")).frame
    again = _load(DatasetRequest(dataset_id="synthetic_imbalanced")).frame
    pd.testing.assert_frame_equal(first, again)
    assert list(first.columns) == [f"feature_{i}" for i in range(20)] + ["target"]
    assert 0.04 <= first["target"].mean() <= 0.07
    tx = _load(DatasetRequest(dataset_id="transactions_categorical")).frame
    pd.testing.assert_frame_equal(tx, _load(DatasetRequest(dataset_id="transactions_categorical")).frame)
    assert list(tx.columns) == [
        "transaction_id", "merchant_id", "category", "city", "state", "amount", "hour", "day_of_week",
        "is_weekend", "is_fraud",
    ]  # fmt: skip
    assert (
        tx["transaction_id"].is_unique and tx["merchant_id"].nunique() > 1000 and tx["city"].nunique() > 300
    )
    assert tx["category"].nunique() == 50 and 0.005 < tx["is_fraud"].mean() < 0.1
    assert (tx["is_weekend"] == (tx["day_of_week"] >= 5)).all()


@pytest.mark.parametrize(
    "req, match",
    [
        (
            DatasetRequest(dataset_id="mnist"),
            r"Unknown sample dataset 'mnist' \(available: air_passengers, .*wine\)",
        ),
        (DatasetRequest(dataset_id="../../etc/passwd"), "Unknown sample dataset '../../etc/passwd'"),
        (DatasetRequest(dataset_id="sample-../iris"), "Unknown sample dataset 'sample-../iris'"),
        (DatasetRequest(dataset_id="/etc/passwd"), "Unknown sample dataset"),
        (
            DatasetRequest(dataset_id="3f2b8c1e-9a4d-4e2f-8b6a-1c2d3e4f5a6b"),
            "User dataset '3f2b8c1e-.*' cannot be loaded: .*`dataset_url`.*inline `data`",
        ),
        (
            DatasetRequest(dataset_id="my-upload", is_sample=False),
            "User dataset 'my-upload' cannot be loaded",
        ),
        (DatasetRequest(), "No dataset selected"),
        (DatasetRequest(data=""), "Inline CSV data is empty"),
        (DatasetRequest(data=[]), "non-empty list of records"),
        (DatasetRequest(data=[1, 2]), "non-empty list of records"),
        (DatasetRequest(data='a,b\n1,"2\n'), "Inline CSV cannot be parsed"),
        (DatasetRequest(data={"a": 1}), "CSV text or a list of records"),  # type: ignore[arg-type]
    ],
)
def test_bad_requests_are_dataset_errors_naming_node_and_field(req: DatasetRequest, match: str) -> None:
    req = DatasetRequest(**{**req.__dict__, "node_id": "dataset-7"})
    with pytest.raises(DatasetError, match=match) as info:
        _load(req)
    assert info.value.node_id == "dataset-7" and info.value.field in ("dataset_id", "data")
    assert info.value.to_result()["errorCode"] == "dataset_error"


@pytest.mark.parametrize(
    "data",
    ["a,b,target\n1,x,0\n2,y,1\n3,z,0\n", [{"a": 1, "b": "x", "target": 0}, {"a": 2, "b": "y", "target": 1}]],
)
def test_inline_data_wins_over_url_and_id(data: str | list[dict[str, object]]) -> None:
    got = _load(DatasetRequest(dataset_id="iris", url="ftp://never.example/x", data=data, name="Mine"))
    assert got.source == "inline" and got.name == "Mine" and list(got.frame.columns) == ["a", "b", "target"]


def test_url_wins_over_id() -> None:
    with pytest.raises(DatasetError, match="scheme 'ftp' is not allowed") as info:
        _load(DatasetRequest(dataset_id="iris", url="ftp://never.example/x.csv", node_id="d"))
    assert info.value.field == "dataset_url"


def _rows_csv(rows: int, cols: int) -> str:
    header = ",".join(f"c{i}" for i in range(cols))
    return header + "\n" + "\n".join(",".join(str(r + i) for i in range(cols)) for r in range(rows)) + "\n"


# cap, value over it, data (inline), match
CAPS = [
    ("max_rows", 10, _rows_csv(11, 3), "11 rows, over the limit of 10 .*max_rows"),
    ("max_columns", 4, _rows_csv(3, 5), "5 columns, over the limit of 4 .*max_columns"),
    ("max_dataset_mb", 1, _rows_csv(30000, 8), r"over the limit of 1 .*max_dataset_mb"),
]


@pytest.mark.parametrize("cap, value, data, match", CAPS)
def test_data_caps_refuse_then_can_be_raised_and_disabled(
    cap: str, value: int, data: str, match: str
) -> None:
    with pytest.raises(DatasetError, match=match):
        _load(DatasetRequest(data=data, node_id="d"), EngineLimits(data=DataLimits(**{cap: value})))
    big = _load(DatasetRequest(data=data), EngineLimits(data=DataLimits(**{cap: value * 100})))
    off = _load(DatasetRequest(data=data), EngineLimits(data=DataLimits(**{cap: 0})))
    assert big.frame.shape == off.frame.shape


@pytest.mark.parametrize("cap, value, data, match", CAPS)
def test_a_file_passed_by_the_parent_is_under_the_same_caps_as_inline_text(
    tmp_path, cap: str, value: int, data: str, match: str
) -> None:
    path = tmp_path / "upload-0.csv"
    path.write_text(data)
    with pytest.raises(DatasetError, match=match) as info:
        _load(DatasetRequest(file=path, node_id="d"), EngineLimits(data=DataLimits(**{cap: value})))
    assert info.value.node_id == "d"
    inline = _load(DatasetRequest(data=data))
    by_file = _load(DatasetRequest(file=path, data="ignored,x\n1,2\n"))  # the parent's file wins
    assert by_file.source == "file" and by_file.frame.equals(inline.frame)


@pytest.mark.parametrize(
    ("content", "outcome"),
    [
        (b"a,b\n1,x\n2,y\n", {"b": ["x", "y"]}),
        ("a,b\n1,café\n2,naïve\n".encode(), {"b": ["café", "naïve"]}),
        ("\ufeffa,b\n1,x\n".encode(), {"b": ["x"]}),
        ("a,b\n1,café\n2,naïve\n".encode("cp1252"), {"b": ["café", "naïve"], "warning": "Windows-1252"}),
        ("a,b\n1,café\n".encode("utf-16"), {"b": ["café"]}),
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"a,b\n1,2\n3,4,5\n", "cannot be parsed"),
    ],
    ids=["utf8", "utf8-accents", "utf8-bom", "cp1252", "utf16", "empty", "blank", "ragged"],
)
def test_a_passed_file_is_decoded_as_the_page_previews_it(tmp_path, content: bytes, outcome) -> None:
    path = tmp_path / "upload-0.csv"
    path.write_bytes(content)
    if isinstance(outcome, str):
        with pytest.raises(DatasetError, match=outcome) as info:
            _load(DatasetRequest(file=path, node_id="d"))
        assert info.value.field == "data"
        return
    loaded = _load(DatasetRequest(file=path))
    assert list(loaded.frame.columns) == ["a", "b"] and loaded.frame["b"].tolist() == outcome["b"]
    assert any(outcome["warning"] in w for w in loaded.warnings) if "warning" in outcome else not loaded.warnings


def test_caps_apply_to_samples_and_records() -> None:
    with pytest.raises(DatasetError, match="150 rows, over the limit of 100"):
        _load(DatasetRequest(dataset_id="iris"), limits(max_rows=100))
    with pytest.raises(DatasetError, match="over the limit of 2 .*max_columns"):
        _load(DatasetRequest(dataset_id="iris"), limits(max_columns=2))
    records = [{"a": i} for i in range(5)]
    with pytest.raises(DatasetError, match="5 rows, over the limit of 4"):
        _load(DatasetRequest(data=records), limits(max_rows=4))
