"""User data by URL through load_dataset: every format, detection order, refusals, caps and time."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from executor.datasets import DatasetRequest, LoadedDataset, load_dataset
from executor.errors import DatasetError
from executor.limits import EngineLimits
from sandbox.context import JobContext
from tests.executor.test_remote_support import LocalServer, fake_dns_fixture, limits, server_fixture  # noqa: F401

FRAME = pd.DataFrame({"a": [1, 2, 3, 4], "b": ["x", "y", "x", "z"], "target": [0, 1, 0, 1]})


def _parquet() -> bytes:
    buffer = io.BytesIO()
    FRAME.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _load(url: str, lim: EngineLimits | None = None) -> LoadedDataset:
    req = DatasetRequest(dataset_id="u-1", is_sample=False, url=url, node_id="dataset-3")
    return load_dataset(req, limits=lim or limits(), ctx=JobContext.local())


CSV = FRAME.to_csv(index=False).encode()
RECORDS = json.dumps(FRAME.to_dict("records")).encode()
BODIES = {
    "csv": CSV,
    "tsv": FRAME.to_csv(index=False, sep="\t").encode(),
    "parquet": _parquet(),
    "records": RECORDS,
    "wrapped": json.dumps({"data": FRAME.to_dict("records")}).encode(),
    "columns": json.dumps(FRAME.to_dict("list")).encode(),
    "jsonl": "\n".join(json.dumps(r) for r in FRAME.to_dict("records")).encode(),
}

# path served, body, headers: the format comes from the extension, then Content-Type, then the bytes
FORMATS = [
    ("/data.csv", "csv", {}),
    ("/data.tsv", "tsv", {}),
    ("/data.parquet", "parquet", {}),
    (
        "/data.parquet?X-Amz-Signature=abc&X-Amz-Expires=300",
        "parquet",
        {"Content-Type": "binary/octet-stream"},
    ),
    ("/data.json", "records", {}),
    ("/data.json", "wrapped", {}),
    ("/data.json", "columns", {}),
    ("/data.jsonl", "jsonl", {}),
    ("/blob", "csv", {"Content-Type": "text/csv; charset=utf-8"}),
    ("/blob", "parquet", {"Content-Type": "application/vnd.apache.parquet"}),
    ("/blob", "records", {"Content-Type": "application/json"}),
    ("/blob", "parquet", {"Content-Type": "application/octet-stream"}),
    ("/blob", "records", {}),
    ("/blob", "csv", {}),
]


@pytest.mark.parametrize("path, body, headers", FORMATS)
def test_each_format_loads_the_same_table(
    path: str, body: str, headers: dict[str, str], server: LocalServer
) -> None:
    server.serve(path.split("?", 1)[0], BODIES[body], headers=headers)
    got = _load(server.url(path))
    assert got.source == "url" and got.name == path.split("?")[0].rsplit("/", 1)[-1]
    pd.testing.assert_frame_equal(got.frame.reset_index(drop=True), FRAME, check_dtype=False)


@pytest.mark.parametrize(
    "path, body, match",
    [
        ("/data.xlsx", b"PK\x03\x04", r"\.xlsx are not supported; send CSV, Parquet or JSON"),
        ("/model.pkl", b"\x80\x04K\x01.", r"\.pkl are not supported"),
        ("/data.joblib", b"\x80\x04K\x01.", r"\.joblib are not supported"),
        ("/data.parquet", b"PAR1 not really", "Parquet cannot be read"),
        ("/data.json", b'{"a": 1}', "JSON must be a list of records"),
        ("/data.json", b"[1, 2, 3]", "non-empty list of records"),
        ("/data.json", b"{not json", "JSON cannot be parsed"),
        ("/data.csv", b"   \n", "the file is empty"),
    ],
)
def test_unreadable_files_are_dataset_errors(path: str, body: bytes, match: str, server: LocalServer) -> None:
    with pytest.raises(DatasetError, match=match) as info:
        _load(server.serve(path, body))
    assert info.value.field == "dataset_url" and info.value.node_id == "dataset-3"


@pytest.mark.parametrize(
    "url, match",
    [
        ("file:///etc/passwd", "refused: scheme 'file'"),
        ("ftp://127.0.0.1/data.csv", "refused: scheme 'ftp'"),
        ("http://localhost:1/data.csv", r"refused: host 'localhost' resolves to 127\.0\.0\.1 \(loopback\)"),
        ("http://metadata.test/latest", r"169\.254\.169\.254 \(link-local\)"),
        ("http://private10.test/x.csv", r"10\.1\.2\.3 \(private\)"),
        ("http://[::1]:1/x.csv", "loopback"),
        ("http://nowhere.invalid/x.csv", "could not be downloaded: host 'nowhere.invalid' does not resolve"),
    ],
)
def test_refused_and_unreachable_urls_name_the_reason(url: str, match: str, fake_dns: list[str]) -> None:
    with pytest.raises(DatasetError, match=match) as info:
        _load(url, limits(allowed=()))
    assert info.value.field == "dataset_url"


def test_the_query_string_of_a_presigned_url_never_appears_in_the_error(server: LocalServer) -> None:
    url = server.serve("/gone.csv", b"", status=403) + "?X-Amz-Signature=topsecret"
    with pytest.raises(DatasetError, match="HTTP 403") as info:
        _load(url)
    assert "topsecret" not in json.dumps(info.value.to_result())


def test_download_cap_names_the_limit_then_can_be_raised(server: LocalServer) -> None:
    body = b"a,b\n" + b"1,2\n" * 300_000  # 1.2 MB
    url = server.serve("/big.csv", body)
    with pytest.raises(DatasetError, match=r"over the limit .*\[download\] max_download_mb = 1\)"):
        _load(url, limits(max_download_mb=1))
    assert _load(url, limits(max_download_mb=2, max_rows=0)).frame.shape == (300_000, 2)


def test_download_timeout_names_the_limit(server: LocalServer) -> None:
    url = server.serve("/slow.csv", CSV, trickle_seconds=0.05)
    with pytest.raises(DatasetError, match=r"timed out .*\[download\] timeout_seconds = 0.3\)"):
        _load(url, limits(timeout=0.3))


@pytest.mark.parametrize("body", ["csv", "parquet", "records"])
def test_row_and_column_caps_apply_to_every_format(body: str, server: LocalServer) -> None:
    suffix = {"csv": ".csv", "parquet": ".parquet", "records": ".json"}[body]
    url = server.serve("/d" + suffix, BODIES[body])
    with pytest.raises(DatasetError, match="over the limit of 3 .*max_rows"):
        _load(url, limits(max_rows=3))
    with pytest.raises(DatasetError, match="over the limit of 2 .*max_columns"):
        _load(url, limits(max_columns=2))
    assert _load(url, limits(max_rows=0, max_columns=0)).frame.shape == (4, 3)


def test_redirect_to_an_internal_address_is_refused(server: LocalServer, fake_dns: list[str]) -> None:
    server.serve("/data.csv", CSV)
    url = server.serve("/r", status=302, headers={"Location": "http://metadata.test/latest/meta-data/"})
    with pytest.raises(DatasetError, match="link-local"):
        _load(url)
    assert [p for p, _ in server.hits] == ["/r"]
